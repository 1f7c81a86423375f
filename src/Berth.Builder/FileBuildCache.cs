using System.Text;
using Berth.Core;

namespace Berth.Builder;

/// <summary>
/// The step cache on disk: one "key image-id" line per step, rewritten atomically, so it survives daemon restarts.
/// An entry whose image is gone is harmless: the executor checks the image exists before using it.
/// </summary>
public sealed class FileBuildCache : IBuildCache
{
    private readonly string _path;

    // Guards _entries and every write of the file.
    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _entries = new(StringComparer.Ordinal);

    public FileBuildCache(string path)
    {
        _path = path;
        if (!File.Exists(path)) return;
        foreach (var line in File.ReadAllLines(path))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2) _entries[parts[0]] = parts[1];
        }
    }

    public string? Get(string key)
    {
        lock (_lock) return _entries.GetValueOrDefault(key);
    }

    public void Put(string key, string imageId)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var old) && old == imageId) return;
            _entries[key] = imageId;
            var sb = new StringBuilder();
            foreach (var (k, v) in _entries) sb.Append(k).Append(' ').Append(v).Append('\n');
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            AtomicFile.WriteAllBytes(_path, Encoding.UTF8.GetBytes(sb.ToString()));
        }
    }
}
