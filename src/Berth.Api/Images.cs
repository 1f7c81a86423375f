using System.Text.Json.Serialization;

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

/// <summary>
/// An image's run-time config as image inspect writes it (the spec's ImageConfig, the OCI config's fields): User,
/// Env, Cmd, Entrypoint, Volumes, WorkingDir, Labels and OnBuild always, as dockerd writes them up to API 1.51, the
/// rest when set; before API 1.50 also the container-only fields dockerd wrote then, empty.
/// </summary>
public sealed record ImageConfig
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Hostname { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Domainname { get; init; }
    public string User { get; init; } = "";
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? AttachStdin { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? AttachStdout { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? AttachStderr { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, EmptyObject>? ExposedPorts { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? Tty { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? OpenStdin { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? StdinOnce { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public HealthConfig? Healthcheck { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public bool? ArgsEscaped { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Image { get; init; }
    public Dictionary<string, EmptyObject>? Volumes { get; init; }
    public string WorkingDir { get; init; } = "";
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string>? OnBuild { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? StopSignal { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<string>? Shell { get; init; }
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
    public ImageConfig Config { get; init; } = new();
    public string Architecture { get; init; } = "";
    public string? Variant { get; init; }
    public string Os { get; init; } = "linux";
    public long Size { get; init; }
    /// <summary>Before API 1.44: the same as Size.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? VirtualSize { get; init; }
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
