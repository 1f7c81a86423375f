using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Core;

namespace Berth.Images.Transfer;

/// <summary>
/// What the daemon knows about where a layer lives in compressed form: diff ID → the blobs (digest, media type) that
/// unpack to it, and the repositories known to hold each. A push uses it to skip compressing a layer again, to skip
/// uploading what the registry has, and to mount from a sibling repository; a pull records what it fetched.
/// Kept in one small JSON file, written atomically; losing it only costs work, never correctness.
/// </summary>
public sealed class LayerSources
{
    private const int MaxRepositoriesPerBlob = 16;
    private readonly string _path;

    // Guards _entries and writes of the file.
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<LayerSource>> _entries;

    public LayerSources(string path)
    {
        _path = path;
        _entries = Load(path);
    }

    private static Dictionary<string, List<LayerSource>> Load(string path)
    {
        try
        {
            if (File.Exists(path))
                return JsonSerializer.Deserialize(File.ReadAllBytes(path), LayerSourcesJsonContext.Default.DictionaryStringListLayerSource)
                    ?? new(StringComparer.Ordinal);
        }
        catch (JsonException) { /* a damaged cache is dropped, not fatal */ }
        return new(StringComparer.Ordinal);
    }

    /// <summary>The known compressed forms of a layer.</summary>
    public IReadOnlyList<LayerSource> Get(Digest diffId)
    {
        lock (_lock)
            return _entries.TryGetValue(diffId.ToString(), out var list) ? list.ToList() : [];
    }

    /// <summary>Records that <paramref name="blob"/> (media type <paramref name="mediaType"/>) unpacks to <paramref name="diffId"/>, and, with <paramref name="repository"/>, that it lives there.</summary>
    public void Add(Digest diffId, Descriptor blob, string? repository)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(diffId.ToString(), out var list)) _entries[diffId.ToString()] = list = [];
            var i = list.FindIndex(s => s.Digest == blob.Digest.ToString());
            var current = i >= 0 ? list[i] : new LayerSource { Digest = blob.Digest.ToString(), MediaType = blob.MediaType, Size = blob.Size };
            if (repository is not null && !current.Repositories.Contains(repository))
                current = current with { Repositories = [repository, .. current.Repositories.Take(MaxRepositoriesPerBlob - 1)] };
            else if (i >= 0) return;
            if (i >= 0) list[i] = current; else list.Add(current);
            AtomicFile.WriteAllBytes(_path, JsonSerializer.SerializeToUtf8Bytes(_entries, LayerSourcesJsonContext.Default.DictionaryStringListLayerSource), durable: false);
        }
    }
}

/// <summary>One compressed form of a layer: its blob and the repositories (<c>registry/path</c>) known to hold it.</summary>
public sealed record LayerSource
{
    public required string Digest { get; init; }
    public required string MediaType { get; init; }
    public long Size { get; init; }
    public IReadOnlyList<string> Repositories { get; init; } = [];

    public Descriptor ToDescriptor() => new(MediaType, Core.Digest.Parse(Digest), Size);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Dictionary<string, List<LayerSource>>))]
internal sealed partial class LayerSourcesJsonContext : JsonSerializerContext;
