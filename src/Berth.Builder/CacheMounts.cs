using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Berth.Core;

namespace Berth.Builder;

/// <summary>
/// The directories of <c>RUN --mount=type=cache</c>: one per cache id under the root (its name the SHA-256 of the id),
/// each with a <c>.meta</c> file (id, description, created, last used, uses). Builds acquire a directory for the
/// step that mounts it; <see cref="TryRemove"/> removes only a directory no build holds, renaming it away under the
/// same lock first, so a build never gets a half-deleted cache.
/// </summary>
public sealed class CacheMounts : IBuildCacheStore
{
    public const string Type = "exec.cachemount";

    private readonly string _root;

    // Guards _users, _locks and every create, rename and meta write under the root.
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public CacheMounts(string root, TimeProvider? time = null)
    {
        _root = root;
        _time = time ?? TimeProvider.System;
        if (!Directory.Exists(root)) return;
        // A crash between a rename and the delete (or during a first creation) leaves these behind.
        foreach (var d in Directory.EnumerateDirectories(root).Where(d => Path.GetFileName(d).Contains('.')))
        {
            try { Directory.Delete(d, recursive: true); }
            catch (IOException) { /* tried again at the next start */ }
        }
    }

    /// <summary>A cache id's directory name: the hex SHA-256 of the id.</summary>
    public static string NameOf(string cacheId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cacheId)));

    /// <summary>Serializes the builds that mount <paramref name="cacheId"/> with <c>sharing=locked</c>; dispose to let the next one in.</summary>
    public async Task<IDisposable> LockAsync(string cacheId, CancellationToken ct)
    {
        var name = NameOf(cacheId);
        SemaphoreSlim gate;
        lock (_gate)
        {
            if (!_locks.TryGetValue(name, out gate!)) _locks[name] = gate = new SemaphoreSlim(1, 1);
        }
        await gate.WaitAsync(ct);
        return new Releaser(() => gate.Release());
    }

    /// <summary>
    /// Holds the cache <paramref name="cacheId"/> for a step (prune leaves it alone until the lease is disposed) and
    /// records the use. <see cref="Lease.Busy"/> says another build held it already; <see cref="Lease.Exists"/>
    /// whether its directory is there yet (<see cref="Lease.Create"/> makes it).
    /// </summary>
    public Lease Acquire(string cacheId, string description)
    {
        var name = NameOf(cacheId);
        bool busy;
        lock (_gate)
        {
            busy = _users.GetValueOrDefault(name) > 0;
            _users[name] = _users.GetValueOrDefault(name) + 1;
        }
        return new Lease(this, name, cacheId, description, busy);
    }

    /// <summary>A step's hold on a cache directory.</summary>
    public sealed class Lease(CacheMounts owner, string name, string cacheId, string description, bool busy) : IDisposable
    {
        private bool _disposed;

        public string Path { get; } = System.IO.Path.Combine(owner._root, name);

        public bool Busy => busy;

        public bool Exists => Directory.Exists(Path);

        /// <summary>
        /// Makes the directory from <paramref name="fill"/>, which fills a fresh directory (its mode and owner, a
        /// seed); a concurrent build that made it first wins, and this one's copy is dropped.
        /// </summary>
        public void Create(Action<string> fill)
        {
            Directory.CreateDirectory(owner._root);
            var tmp = Path + ".new-" + Guid.NewGuid().ToString("N");
            try
            {
                fill(tmp);
                lock (owner._gate)
                {
                    if (Directory.Exists(Path)) return;
                    Directory.Move(tmp, Path);
                    var now = owner._time.GetUtcNow();
                    owner.WriteMeta(name, new Meta(cacheId, description, now, now, 0));
                }
            }
            finally
            {
                if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            }
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            lock (owner._gate)
            {
                if (--owner._users[name] == 0) owner._users.Remove(name);
                if (!Directory.Exists(Path)) return;
                var m = owner.ReadMeta(name) ?? FallbackMeta(Path) with { CacheId = cacheId, Description = description };
                owner.WriteMeta(name, m with { LastUsed = owner._time.GetUtcNow(), Uses = m.Uses + 1 });
            }
        }
    }

    /// <summary>Every cache directory with its size (in no order: the callers order them).</summary>
    public List<BuildCacheItem> List()
    {
        if (!Directory.Exists(_root)) return [];
        var list = new List<BuildCacheItem>();
        foreach (var dir in Directory.EnumerateDirectories(_root))
        {
            var name = System.IO.Path.GetFileName(dir);
            if (name.Contains('.')) continue;
            Meta meta;
            bool inUse;
            lock (_gate)
            {
                inUse = _users.ContainsKey(name);
                meta = ReadMeta(name) ?? FallbackMeta(dir);
            }
            list.Add(new BuildCacheItem(name, Type, meta.Description, inUse, SizeOf(dir), meta.Created, meta.LastUsed, meta.Uses));
        }
        return list;
    }

    /// <summary>Removes cache directory <paramref name="id"/> unless a build holds it; false when it stays.</summary>
    public bool TryRemove(string id)
    {
        var dir = System.IO.Path.Combine(_root, id);
        var doomed = dir + ".pruning-" + Guid.NewGuid().ToString("N");
        try
        {
            lock (_gate)
            {
                if (id.Contains('.') || id.Contains('/') || _users.ContainsKey(id) || !Directory.Exists(dir)) return false;
                Directory.Move(dir, doomed);
                File.Delete(MetaPath(id));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // left for the next prune
        }
        try { Directory.Delete(doomed, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* gone from the cache; the start sweep removes the rest */ }
        return true;
    }

    /// <summary>As volumes are counted (hard links once, symlinks too); a build changing it meanwhile gives what was counted.</summary>
    private static long SizeOf(string dir)
    {
        try { return Berth.Core.IO.DiskUsage.Of(dir); }
        catch (IOException) { return 0; }
    }

    private sealed record Meta(string CacheId, string Description, DateTimeOffset Created, DateTimeOffset LastUsed, long Uses);

    private string MetaPath(string name) => System.IO.Path.Combine(_root, name + ".meta");

    private static Meta FallbackMeta(string dir)
    {
        var t = Directory.GetLastWriteTimeUtc(dir);
        return new Meta("", "cached mount", t, t, 0);
    }

    // Lines: cache id, description, created and last used (Unix ms), uses. Ids and descriptions are kept to one line.
    private Meta? ReadMeta(string name)
    {
        try
        {
            var lines = File.ReadAllLines(MetaPath(name));
            if (lines.Length < 5) return null;
            static DateTimeOffset Ms(string s) => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(s, CultureInfo.InvariantCulture));
            return new Meta(lines[0], lines[1], Ms(lines[2]), Ms(lines[3]), long.Parse(lines[4], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or FormatException or OverflowException)
        {
            return null;
        }
    }

    private void WriteMeta(string name, Meta m)
    {
        static string OneLine(string s) => s.ReplaceLineEndings(" ");
        var text = string.Join('\n', OneLine(m.CacheId), OneLine(m.Description),
            m.Created.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            m.LastUsed.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            m.Uses.ToString(CultureInfo.InvariantCulture)) + "\n";
        AtomicFile.WriteAllBytes(MetaPath(name), Encoding.UTF8.GetBytes(text));
    }

    private sealed class Releaser(Action release) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) release();
        }
    }
}
