namespace Berth.Storage.Volumes;

/// <summary>What <c>meta.json</c> of a local volume holds.</summary>
internal sealed record VolumeMeta
{
    public required DateTimeOffset CreatedAt { get; init; }
    public Dictionary<string, string> Labels { get; init; } = [];
    public Dictionary<string, string> Options { get; init; } = [];
    public bool Anonymous { get; init; }
}
