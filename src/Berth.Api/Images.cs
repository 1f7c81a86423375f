namespace Berth.Api;

public sealed record ImageSummary
{
    public string Id { get; init; } = "";
    public string ParentId { get; init; } = "";
    public IReadOnlyList<string> RepoTags { get; init; } = [];
    public IReadOnlyList<string> RepoDigests { get; init; } = [];
    public long Created { get; init; }
    public long Size { get; init; }
    public long SharedSize { get; init; } = -1;
    public Dictionary<string, string> Labels { get; init; } = new();
    public long Containers { get; init; } = -1;
}

public sealed record RootFs
{
    public string Type { get; init; } = "layers";
    public IReadOnlyList<string> Layers { get; init; } = [];
}

public sealed record ImageMetadata
{
    public string? LastTagTime { get; init; }
}

public sealed record ImageInspectResponse
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> RepoTags { get; init; } = [];
    public IReadOnlyList<string> RepoDigests { get; init; } = [];
    public string Parent { get; init; } = "";
    public string Comment { get; init; } = "";
    public string Created { get; init; } = "";
    public string DockerVersion { get; init; } = "";
    public string Author { get; init; } = "";
    public ContainerConfig Config { get; init; } = new();
    public string Architecture { get; init; } = "";
    public string? Variant { get; init; }
    public string Os { get; init; } = "linux";
    public long Size { get; init; }
    public DriverData GraphDriver { get; init; } = new();
    public RootFs RootFS { get; init; } = new();
    public ImageMetadata Metadata { get; init; } = new();
}

public sealed record ImageHistoryItem
{
    public string Id { get; init; } = "";
    public long Created { get; init; }
    public string CreatedBy { get; init; } = "";
    public IReadOnlyList<string>? Tags { get; init; }
    public long Size { get; init; }
    public string Comment { get; init; } = "";
}

public sealed record ImageDeleteResponseItem
{
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Untagged { get; init; }
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Deleted { get; init; }
}
