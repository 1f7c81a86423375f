using System.Security.Cryptography;

namespace Berth.Builder;

/// <summary>
/// Unpacked build contexts kept for the next build that sends the same bytes: a rebuild (the common case while a
/// Dockerfile is worked on) finds its context ready instead of unpacking it again. A context is keyed by the SHA-256
/// of its tar and the Dockerfile's name, unpacked (with <c>.dockerignore</c> applied) into a temporary directory and
/// renamed to its key only when complete; builds never write into a context (RUN bind mounts are read-only or work
/// on a copy), so one directory serves any number of builds at once. The most recently used few are kept, within a
/// byte budget; the others go once no build holds them.
/// </summary>
public sealed class ContextCache : IBuildCacheStore
{
    public const string Type = "source.local";

    private readonly string _root;
    private readonly int _keep;
    private readonly long _maxBytes;
    private readonly TimeProvider _time;

    // Guards _entries, _retired and the entries' fields.
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly List<Entry> _retired = [];
    private long _clock;

    private sealed class Entry
    {
        public required string Dir;
        public required string Dockerfile;
        public required long Bytes;
        public readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Checksums = new(StringComparer.Ordinal);
        public int Users;
        public long LastUse;
        public required DateTimeOffset Created;
        public required DateTimeOffset LastUsedAt;
        public long Uses;
    }

    /// <param name="root">A directory of the daemon's own; what a previous run left there is removed.</param>
    /// <param name="keep">How many unused contexts are kept.</param>
    /// <param name="maxBytes">The most the kept contexts may take (each by the larger of its tar and what it unpacks to); a larger context is never kept.</param>
    public ContextCache(string root, int keep = 3, long maxBytes = 1L << 30, TimeProvider? time = null)
    {
        (_root, _keep, _maxBytes, _time) = (root, keep, maxBytes, time ?? TimeProvider.System);
        if (Directory.Exists(root))
        {
            try { Directory.Delete(root, recursive: true); }
            catch (IOException) { /* a busy leftover: its name is never reused */ }
        }
        Directory.CreateDirectory(root);
    }

    /// <summary>The key of a context: its tar's digest with the Dockerfile's name (which the unpacked form depends on).</summary>
    public static string KeyOf(byte[] tarSha256, string dockerfile)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(tarSha256);
        h.AppendData(System.Text.Encoding.UTF8.GetBytes("\0" + dockerfile));
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    /// <summary>The context of <paramref name="key"/> and its Dockerfile's text, held until disposed; null when there is none.</summary>
    public (BuildContext Context, string Dockerfile)? TryOpen(string key)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var e)) return null;
            return (Hold(e), e.Dockerfile);
        }
    }

    /// <summary>A fresh directory to unpack a context into (then <see cref="Add"/>, or delete it).</summary>
    public string NewDir() => Path.Combine(_root, "new-" + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// Takes over <paramref name="unpacked"/> (from <see cref="NewDir"/>, complete, ignore rules applied) as the
    /// context of <paramref name="key"/>, held until disposed. When another build added the same key meanwhile,
    /// that one is used and this copy is removed. A context too big to keep stays as it is, deleted when disposed.
    /// </summary>
    public BuildContext Add(string key, BuildContext unpacked, string dockerfile, long bytes)
    {
        if (bytes > _maxBytes) return unpacked;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var e))
            {
                unpacked.Dispose();
                return Hold(e);
            }
            var dir = Path.Combine(_root, key + "-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.Move(unpacked.Dir, dir);
            var now = _time.GetUtcNow();
            e = new Entry { Dir = dir, Dockerfile = dockerfile, Bytes = bytes, Created = now, LastUsedAt = now };
            _entries[key] = e;
            return Hold(e);
        }
    }

    // Called under _lock.
    private BuildContext Hold(Entry e)
    {
        e.Users++;
        e.Uses++;
        e.LastUse = ++_clock;
        return BuildContext.Borrow(e.Dir, () => Release(e), e.Checksums);
    }

    /// <summary>The kept contexts, as <c>docker system df</c> lists them.</summary>
    public List<BuildCacheItem> List()
    {
        lock (_lock)
            return [.. _entries.Select(kv => new BuildCacheItem(kv.Key, Type, "local source for context", kv.Value.Users > 0,
                kv.Value.Bytes, kv.Value.Created, kv.Value.LastUsedAt, kv.Value.Uses))];
    }

    /// <summary>Drops kept context <paramref name="id"/> unless a build holds it.</summary>
    public bool TryRemove(string id)
    {
        string? doomed;
        lock (_lock)
        {
            if (!_entries.TryGetValue(id, out var e) || e.Users > 0) return false;
            _entries.Remove(id);
            doomed = MoveAway(e);
        }
        Delete(doomed);
        return true;
    }

    private void Release(Entry released)
    {
        List<string?> remove = [];
        lock (_lock)
        {
            released.Users--;
            released.LastUsedAt = _time.GetUtcNow(); // used until now: an "unused for" prune counts from the build's end
            // The newest few within the byte budget stay; the others retire, and go once no build holds them.
            long bytes = 0;
            int kept = 0;
            foreach (var (k, e) in _entries.OrderByDescending(kv => kv.Value.LastUse).ToList())
            {
                if (kept < _keep && bytes + e.Bytes <= _maxBytes) { kept++; bytes += e.Bytes; continue; }
                _entries.Remove(k);
                _retired.Add(e);
            }
            foreach (var e in _retired.Where(e => e.Users == 0).ToList())
            {
                _retired.Remove(e);
                remove.Add(MoveAway(e));
            }
        }
        foreach (var d in remove) Delete(d);
    }

    /// <summary>Renames a context's directory out of the way (under the lock); null when it cannot be (the next start removes it).</summary>
    private static string? MoveAway(Entry e)
    {
        var doomed = e.Dir + ".old";
        try
        {
            Directory.Move(e.Dir, doomed);
            return doomed;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void Delete(string? dir)
    {
        if (dir is null) return;
        try { Directory.Delete(dir, recursive: true); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { /* removed with the root at the next start */ }
    }
}
