using System.Text.Json.Serialization;

namespace Berth.Images;

/// <summary><c>images/index.json</c>: every image the store holds and every name pointing at one.</summary>
internal sealed record ImageIndexFile
{
    /// <summary>Image ID → its manifest digest.</summary>
    public Dictionary<string, ImageIndexEntry> Images { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Fully qualified reference (<c>docker.io/library/busybox:latest</c>) → image ID.</summary>
    public Dictionary<string, string> Refs { get; init; } = new(StringComparer.Ordinal);
}

internal sealed record ImageIndexEntry
{
    public required string Manifest { get; init; }

    /// <summary>The image this one was made on (a build step's previous step, a commit's container image), as dockerd records it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Parent { get; init; }

    /// <summary>When a name was last given to the image here (tag, commit, import or build with a name), as dockerd's LastTagTime.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? LastTagTime { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ImageIndexFile))]
[JsonSerializable(typeof(Dictionary<string, long>))]
[JsonSerializable(typeof(List<ArchiveManifestItem>))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, string>>))]
internal sealed partial class ImagesJsonContext : JsonSerializerContext;
