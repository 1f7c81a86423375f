using System.Text.Json.Serialization;
using Berth.Core;

namespace Berth.Content;

/// <summary>
/// The image configuration blob (OCI image-spec config, Docker's image JSON). Its sha256 is the image ID.
/// Top-level keys are lowercase; the <c>config</c> object uses Docker's PascalCase keys.
/// </summary>
public sealed record ImageConfig
{
    [JsonPropertyName("created")] public DateTimeOffset? Created { get; init; }
    [JsonPropertyName("author")] public string? Author { get; init; }
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "amd64";
    [JsonPropertyName("os")] public string Os { get; init; } = "linux";
    [JsonPropertyName("os.version")] public string? OsVersion { get; init; }
    [JsonPropertyName("variant")] public string? Variant { get; init; }
    [JsonPropertyName("config")] public ContainerConfig? Config { get; init; }
    [JsonPropertyName("rootfs")] public RootFs RootFs { get; init; } = new();
    [JsonPropertyName("history")] public IReadOnlyList<HistoryEntry>? History { get; init; }

    public static ImageConfig Parse(ReadOnlySpan<byte> json) =>
        ContentJson.Deserialize(json, ContentJsonContext.Default.ImageConfig, "image config");

    public byte[] ToJsonBytes() => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(this, ContentJson.Writer.ImageConfig);
}

/// <summary>The run-time defaults an image carries (the <c>config</c> object of the image JSON).</summary>
public sealed record ContainerConfig
{
    public string? User { get; init; }
    public IReadOnlyDictionary<string, EmptyObject>? ExposedPorts { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public IReadOnlyDictionary<string, EmptyObject>? Volumes { get; init; }
    public string? WorkingDir { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public string? StopSignal { get; init; }
    public bool? ArgsEscaped { get; init; }
    public HealthConfig? Healthcheck { get; init; }
    public IReadOnlyList<string>? OnBuild { get; init; }
    public IReadOnlyList<string>? Shell { get; init; }
}

/// <summary>Docker's HEALTHCHECK settings; durations are nanoseconds as in Docker's JSON.</summary>
public sealed record HealthConfig
{
    public IReadOnlyList<string>? Test { get; init; }
    public long? Interval { get; init; }
    public long? Timeout { get; init; }
    public long? StartPeriod { get; init; }
    public long? StartInterval { get; init; }
    public int? Retries { get; init; }
}

/// <summary>Serializes as <c>{}</c>: the value type of Docker's set-like maps (ExposedPorts, Volumes).</summary>
public sealed record EmptyObject
{
    public static readonly EmptyObject Instance = new();
}

public sealed record RootFs
{
    [JsonPropertyName("type")] public string Type { get; init; } = "layers";
    [JsonPropertyName("diff_ids")] public IReadOnlyList<string> DiffIds { get; init; } = [];
}

public sealed record HistoryEntry
{
    [JsonPropertyName("created")] public DateTimeOffset? Created { get; init; }
    [JsonPropertyName("created_by")] public string? CreatedBy { get; init; }
    [JsonPropertyName("author")] public string? Author { get; init; }
    [JsonPropertyName("comment")] public string? Comment { get; init; }
    [JsonPropertyName("empty_layer")] public bool? EmptyLayer { get; init; }
}

/// <summary>A descriptor as it appears in manifests and indexes.</summary>
public sealed record OciDescriptor
{
    [JsonPropertyName("mediaType")] public required string MediaType { get; init; }
    [JsonPropertyName("digest")] public required string Digest { get; init; }
    [JsonPropertyName("size")] public long Size { get; init; }
    [JsonPropertyName("urls")] public IReadOnlyList<string>? Urls { get; init; }
    [JsonPropertyName("annotations")] public IReadOnlyDictionary<string, string>? Annotations { get; init; }
    [JsonPropertyName("platform")] public Platform? Platform { get; init; }
    [JsonPropertyName("artifactType")] public string? ArtifactType { get; init; }

    public static OciDescriptor From(Descriptor d) => new() { MediaType = d.MediaType, Digest = d.Digest.ToString(), Size = d.Size };

    public Descriptor ToDescriptor() => new(MediaType, Core.Digest.Parse(Digest), Size);
}

public sealed record Platform
{
    [JsonPropertyName("architecture")] public required string Architecture { get; init; }
    [JsonPropertyName("os")] public required string Os { get; init; }
    [JsonPropertyName("os.version")] public string? OsVersion { get; init; }
    [JsonPropertyName("os.features")] public IReadOnlyList<string>? OsFeatures { get; init; }
    [JsonPropertyName("variant")] public string? Variant { get; init; }
}

/// <summary>An image manifest (OCI image-spec, or Docker schema2 which has the same shape).</summary>
public sealed record ImageManifest
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; } = 2;
    [JsonPropertyName("mediaType")] public string? MediaType { get; init; } = MediaTypes.OciManifest;
    [JsonPropertyName("artifactType")] public string? ArtifactType { get; init; }
    [JsonPropertyName("config")] public required OciDescriptor Config { get; init; }
    [JsonPropertyName("layers")] public IReadOnlyList<OciDescriptor> Layers { get; init; } = [];
    [JsonPropertyName("subject")] public OciDescriptor? Subject { get; init; }
    [JsonPropertyName("annotations")] public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    public static ImageManifest Parse(ReadOnlySpan<byte> json) =>
        ContentJson.Deserialize(json, ContentJsonContext.Default.ImageManifest, "image manifest");

    public byte[] ToJsonBytes() => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(this, ContentJson.Writer.ImageManifest);
}

/// <summary>An image index (OCI) or manifest list (Docker): one manifest per platform.</summary>
public sealed record ImageIndex
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; init; } = 2;
    [JsonPropertyName("mediaType")] public string? MediaType { get; init; } = MediaTypes.OciIndex;
    [JsonPropertyName("artifactType")] public string? ArtifactType { get; init; }
    [JsonPropertyName("manifests")] public IReadOnlyList<OciDescriptor> Manifests { get; init; } = [];
    [JsonPropertyName("subject")] public OciDescriptor? Subject { get; init; }
    [JsonPropertyName("annotations")] public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    public static ImageIndex Parse(ReadOnlySpan<byte> json) =>
        ContentJson.Deserialize(json, ContentJsonContext.Default.ImageIndex, "image index");

    public byte[] ToJsonBytes() => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(this, ContentJson.Writer.ImageIndex);
}
