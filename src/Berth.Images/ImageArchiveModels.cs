using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Content;

namespace Berth.Images;

/// <summary>
/// One entry of Docker's <c>manifest.json</c> in a <c>docker save</c> archive: the config and layer files of an
/// image (paths inside the archive) and the names it was saved under.
/// </summary>
internal sealed record ArchiveManifestItem
{
    [JsonPropertyName("Config")] public string Config { get; init; } = "";

    // Docker writes null, not [], for an image saved without names.
    [JsonPropertyName("RepoTags")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public IReadOnlyList<string>? RepoTags { get; init; }

    [JsonPropertyName("Layers")] public IReadOnlyList<string> Layers { get; init; } = [];

    /// <summary>Foreign (non-distributable) layers: diff ID → the descriptor with the URLs to fetch it from.</summary>
    [JsonPropertyName("LayerSources")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, OciDescriptor>? LayerSources { get; init; }
}

/// <summary>The serializer for the archive's JSON files: compact, with '+' left as it is, as Go's encoder writes media types.</summary>
internal static class ArchiveJson
{
    public static readonly ImagesJsonContext Writer = new(new JsonSerializerOptions(ImagesJsonContext.Default.Options)
    {
        WriteIndented = false,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>Names and well-known paths of the archive formats (Docker's and the OCI image layout).</summary>
internal static class ArchiveLayout
{
    public const string ManifestJson = "manifest.json";
    public const string Repositories = "repositories";
    public const string IndexJson = "index.json";
    public const string OciLayoutFile = "oci-layout";
    public const string BlobsDir = "blobs";

    /// <summary>The full name the containerd store (and Docker 25+'s save) annotates an index entry with.</summary>
    public const string ImageNameAnnotation = "io.containerd.image.name";

    /// <summary>OCI image-layout's annotation for the reference (Docker writes the tag; skopeo the name given).</summary>
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    public static ReadOnlySpan<byte> OciLayoutContent => "{\"imageLayoutVersion\":\"1.0.0\"}"u8;

    public static string BlobPath(Core.Digest d) => $"{BlobsDir}/{d.Algorithm}/{d.Hex}";
}
