namespace Berth.Api;

public sealed record VolumeUsageData
{
    public long Size { get; init; } = -1;
    public long RefCount { get; init; } = -1;
}

public sealed record Volume
{
    public string Name { get; init; } = "";
    public string Driver { get; init; } = "local";
    public string Mountpoint { get; init; } = "";
    public string? CreatedAt { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public string Scope { get; init; } = "local";
    public Dictionary<string, string>? Options { get; init; }
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public VolumeUsageData? UsageData { get; init; }
}

public sealed record VolumeCreateRequest
{
    public string? Name { get; init; }
    public string? Driver { get; init; }
    public Dictionary<string, string>? DriverOpts { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
}

public sealed record VolumeListResponse
{
    public IReadOnlyList<Volume> Volumes { get; init; } = [];
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
