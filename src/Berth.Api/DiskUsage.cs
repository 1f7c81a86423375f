using System.Text.Json.Serialization;

namespace Berth.Api;

/// <summary>One build-cache record of <c>GET /system/df</c> (none until the builder keeps a cache).</summary>
public sealed record BuildCacheRecord
{
    public string ID { get; init; } = "";
    public IReadOnlyList<string>? Parents { get; init; }
    public string Type { get; init; } = "";
    public string Description { get; init; } = "";
    public bool InUse { get; init; }
    public bool Shared { get; init; }
    public long Size { get; init; }
    public string? CreatedAt { get; init; }
    public string? LastUsedAt { get; init; }
    public long UsageCount { get; init; }
}

/// <summary>
/// <c>GET /system/df</c> in the shape API 1.51 and older answer: each list is null when its <c>type</c> was not asked for.
/// </summary>
public sealed record SystemDataUsageResponse
{
    public long LayersSize { get; init; }
    public IReadOnlyList<ImageSummary>? Images { get; init; }
    public IReadOnlyList<ContainerSummary>? Containers { get; init; }
    public IReadOnlyList<Volume>? Volumes { get; init; }
    public IReadOnlyList<BuildCacheRecord>? BuildCache { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long BuilderSize { get; init; }
}

/// <summary><c>POST /build/prune</c>'s answer.</summary>
public sealed record BuildCachePruneReport
{
    public IReadOnlyList<string> CachesDeleted { get; init; } = [];
    public long SpaceReclaimed { get; init; }
}
