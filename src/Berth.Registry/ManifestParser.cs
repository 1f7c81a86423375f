using System.Text.Json;
using Berth.Content;
using Berth.Core;

namespace Berth.Registry;

/// <summary>A blob or child manifest a manifest points at.</summary>
internal readonly record struct ManifestReference(Digest Digest, bool IsManifest);

/// <summary>What the registry needs to know of a pushed manifest: its type, digest, references, subject and artifact type.</summary>
internal sealed record ParsedManifest(
    string MediaType,
    Digest Digest,
    long Size,
    IReadOnlyList<ManifestReference> References,
    Digest? Subject,
    string? ArtifactType,
    string? AnnotationsJson);

/// <summary>Validates pushed manifests: Docker schema2 manifest and manifest list, OCI image manifest and index.</summary>
internal static class ManifestParser
{
    public const int MaxManifestBytes = 4 * 1024 * 1024;

    public static bool IsSupported(string mediaType) => MediaTypes.IsManifest(mediaType) || MediaTypes.IsIndex(mediaType);

    /// <summary>The media type part of a Content-Type header (no parameters), or null.</summary>
    public static string? BareMediaType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType)) return null;
        var semi = contentType.IndexOf(';');
        return (semi >= 0 ? contentType[..semi] : contentType).Trim();
    }

    public static ParsedManifest Parse(byte[] body, string? contentType)
    {
        if (body.Length > MaxManifestBytes)
            throw new RegistryException(413, ErrorCodes.SizeInvalid, $"manifest is larger than {MaxManifestBytes} bytes");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw RegistryException.ManifestInvalid($"not JSON: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw RegistryException.ManifestInvalid("not a JSON object");
            if (!root.TryGetProperty("schemaVersion", out var sv) || sv.ValueKind != JsonValueKind.Number || !sv.TryGetInt32(out var v) || v != 2)
                throw RegistryException.ManifestInvalid("schemaVersion must be 2");
            string? declared = null;
            if (root.TryGetProperty("mediaType", out var mt))
            {
                if (mt.ValueKind != JsonValueKind.String) throw RegistryException.ManifestInvalid("mediaType is not a string");
                declared = mt.GetString();
            }
            var header = BareMediaType(contentType);
            var mediaType = declared ?? header;
            if (mediaType is null || !IsSupported(mediaType))
                throw RegistryException.ManifestInvalid($"unsupported manifest media type \"{mediaType}\"");
            if (declared is not null && header is not null && IsSupported(header) && header != declared)
                throw RegistryException.ManifestInvalid($"Content-Type {header} does not match the manifest's mediaType {declared}");

            var refs = new List<ManifestReference>();
            string? artifactType = OptionalString(root, "artifactType");
            if (MediaTypes.IsManifest(mediaType))
            {
                if (root.TryGetProperty("manifests", out _)) throw RegistryException.ManifestInvalid("an image manifest has no \"manifests\"");
                if (!root.TryGetProperty("config", out var config)) throw RegistryException.ManifestInvalid("config is missing");
                var cfg = ReadDescriptor(config, "config");
                refs.Add(new ManifestReference(cfg.Digest, false));
                if (!root.TryGetProperty("layers", out var layers) || layers.ValueKind != JsonValueKind.Array)
                    throw RegistryException.ManifestInvalid("layers must be an array");
                foreach (var l in layers.EnumerateArray())
                {
                    var d = ReadDescriptor(l, "layer");
                    // Foreign layers (with urls) are fetched from elsewhere and need not be in the registry.
                    if (!(l.TryGetProperty("urls", out var urls) && urls.ValueKind == JsonValueKind.Array && urls.GetArrayLength() > 0))
                        refs.Add(new ManifestReference(d.Digest, false));
                }
                artifactType ??= cfg.MediaType == MediaTypes.OciEmpty ? null : cfg.MediaType;
            }
            else
            {
                if (root.TryGetProperty("layers", out _) || root.TryGetProperty("config", out _))
                    throw RegistryException.ManifestInvalid("an index has no \"config\" or \"layers\"");
                if (!root.TryGetProperty("manifests", out var ms) || ms.ValueKind != JsonValueKind.Array)
                    throw RegistryException.ManifestInvalid("manifests must be an array");
                foreach (var e in ms.EnumerateArray())
                    refs.Add(new ManifestReference(ReadDescriptor(e, "manifest").Digest, true));
            }
            Digest? subject = null;
            if (root.TryGetProperty("subject", out var s) && s.ValueKind != JsonValueKind.Null)
                subject = ReadDescriptor(s, "subject").Digest;
            string? annotations = null;
            if (root.TryGetProperty("annotations", out var ann) && ann.ValueKind != JsonValueKind.Null)
            {
                if (ann.ValueKind != JsonValueKind.Object) throw RegistryException.ManifestInvalid("annotations must be an object");
                foreach (var p in ann.EnumerateObject())
                    if (p.Value.ValueKind != JsonValueKind.String) throw RegistryException.ManifestInvalid($"annotation {p.Name} is not a string");
                annotations = ann.GetRawText();
            }
            return new ParsedManifest(mediaType, Digest.FromBytes(body), body.Length, refs.DistinctBy(r => r.Digest).ToList(), subject, artifactType, annotations);
        }
    }

    private static string? OptionalString(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var p) || p.ValueKind == JsonValueKind.Null) return null;
        if (p.ValueKind != JsonValueKind.String) throw RegistryException.ManifestInvalid($"{name} is not a string");
        return p.GetString();
    }

    private static (string MediaType, Digest Digest) ReadDescriptor(JsonElement e, string what)
    {
        if (e.ValueKind != JsonValueKind.Object) throw RegistryException.ManifestInvalid($"{what} is not a descriptor object");
        var mediaType = OptionalString(e, "mediaType") ?? throw RegistryException.ManifestInvalid($"{what} has no mediaType");
        var ds = OptionalString(e, "digest");
        if (!Digest.TryParse(ds, out var digest)) throw RegistryException.ManifestInvalid($"{what} has an invalid digest \"{ds}\"");
        if (!e.TryGetProperty("size", out var size) || size.ValueKind != JsonValueKind.Number || !size.TryGetInt64(out var n) || n < 0)
            throw RegistryException.ManifestInvalid($"{what} {ds} has no valid size");
        return (mediaType, digest);
    }
}
