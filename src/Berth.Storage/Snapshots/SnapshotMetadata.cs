using System.Text.Json;
using Berth.Core;

namespace Berth.Storage.Snapshots;

internal sealed record SnapshotEntry
{
    public required long Id { get; init; }
    public required SnapshotKind Kind { get; init; }
    public string? Parent { get; init; }
    public required DateTimeOffset Created { get; init; }
}

internal sealed record SnapshotMetadataFile
{
    public long NextId { get; init; } = 1;
    public Dictionary<string, SnapshotEntry> Snapshots { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The snapshot table of one snapshotter: <c>root/metadata.json</c> (written atomically) plus
/// <c>root/snapshots/&lt;id&gt;/</c> directories. Numeric ids keep overlay's lowerdir option short.
/// </summary>
internal sealed class SnapshotMetadata
{
    private readonly string _file;

    // Guards _state and every write of metadata.json.
    private readonly Lock _lock = new();
    private SnapshotMetadataFile _state;

    public SnapshotMetadata(string root)
    {
        Root = Path.GetFullPath(root);
        SnapshotsDir = Path.Combine(Root, "snapshots");
        Directory.CreateDirectory(SnapshotsDir);
        _file = Path.Combine(Root, "metadata.json");
        _state = File.Exists(_file)
            ? JsonSerializer.Deserialize(File.ReadAllBytes(_file), StorageJsonContext.Default.SnapshotMetadataFile) ?? new()
            : new();
        RemoveOrphans();
    }

    public string Root { get; }
    public string SnapshotsDir { get; }

    public string Dir(long id) => Path.Combine(SnapshotsDir, id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public SnapshotEntry? Get(string key)
    {
        lock (_lock) return _state.Snapshots.GetValueOrDefault(key);
    }

    public SnapshotEntry GetRequired(string key) =>
        Get(key) ?? throw BerthException.NotFound($"snapshot {key}: not found");

    public IReadOnlyList<SnapshotInfo> List()
    {
        lock (_lock)
            return _state.Snapshots.Select(kv => new SnapshotInfo(kv.Key, kv.Value.Parent, kv.Value.Kind, kv.Value.Created)).ToList();
    }

    /// <summary>The directories of <paramref name="parent"/> and its ancestors, nearest first.</summary>
    public List<long> Chain(string? parent)
    {
        var ids = new List<long>();
        lock (_lock)
        {
            for (var p = parent; p is not null && ids.Count < 10_000;)
            {
                var e = _state.Snapshots.GetValueOrDefault(p) ?? throw BerthException.NotFound($"parent snapshot {p}: not found");
                ids.Add(e.Id);
                p = e.Parent;
            }
        }
        return ids;
    }

    /// <summary>Reserves an id for a new snapshot after checking the key is free and the parent committed.</summary>
    public long Reserve(string key, string? parent)
    {
        ValidateKey(key);
        lock (_lock)
        {
            CheckNew(key, parent);
            var id = _state.NextId;
            Save(_state with { NextId = id + 1 });
            return id;
        }
    }

    /// <summary>Records a snapshot whose directory is ready.</summary>
    public void Add(string key, long id, string? parent, SnapshotKind kind, TimeProvider time)
    {
        lock (_lock)
        {
            CheckNew(key, parent);
            var snaps = new Dictionary<string, SnapshotEntry>(_state.Snapshots, StringComparer.Ordinal)
            {
                [key] = new SnapshotEntry { Id = id, Kind = kind, Parent = parent, Created = time.GetUtcNow() },
            };
            Save(_state with { Snapshots = snaps });
        }
    }

    public void Commit(string name, string key, TimeProvider time)
    {
        ValidateKey(name);
        lock (_lock)
        {
            var e = _state.Snapshots.GetValueOrDefault(key) ?? throw BerthException.NotFound($"snapshot {key}: not found");
            if (e.Kind != SnapshotKind.Active)
                throw BerthException.Invalid($"cannot commit snapshot {key}: it is {e.Kind.ToString().ToLowerInvariant()}, not active");
            if (_state.Snapshots.ContainsKey(name))
                throw BerthException.Conflict($"snapshot {name}: already exists");
            var snaps = new Dictionary<string, SnapshotEntry>(_state.Snapshots, StringComparer.Ordinal);
            snaps.Remove(key);
            snaps[name] = e with { Kind = SnapshotKind.Committed, Created = time.GetUtcNow() };
            Save(_state with { Snapshots = snaps });
        }
    }

    /// <summary>Forgets a snapshot and returns its directory id; the caller deletes the directory.</summary>
    public long Remove(string key)
    {
        lock (_lock)
        {
            var e = _state.Snapshots.GetValueOrDefault(key) ?? throw BerthException.NotFound($"snapshot {key}: not found");
            var child = _state.Snapshots.FirstOrDefault(kv => kv.Value.Parent == key).Key;
            if (child is not null)
                throw BerthException.Conflict($"cannot remove snapshot {key}: snapshot {child} depends on it");
            var snaps = new Dictionary<string, SnapshotEntry>(_state.Snapshots, StringComparer.Ordinal);
            snaps.Remove(key);
            Save(_state with { Snapshots = snaps });
            return e.Id;
        }
    }

    private void CheckNew(string key, string? parent)
    {
        if (_state.Snapshots.ContainsKey(key))
            throw BerthException.Conflict($"snapshot {key}: already exists");
        if (parent is null) return;
        var p = _state.Snapshots.GetValueOrDefault(parent) ?? throw BerthException.NotFound($"parent snapshot {parent}: not found");
        if (p.Kind != SnapshotKind.Committed)
            throw BerthException.Invalid($"parent snapshot {parent} is not committed");
    }

    private static void ValidateKey(string key)
    {
        if (string.IsNullOrEmpty(key)) throw BerthException.Invalid("snapshot key must not be empty");
    }

    private void Save(SnapshotMetadataFile next)
    {
        AtomicFile.WriteAllBytes(_file, JsonSerializer.SerializeToUtf8Bytes(next, StorageJsonContext.Default.SnapshotMetadataFile));
        _state = next;
    }

    /// <summary>
    /// Directories with no metadata entry are the remains of a crash between creating a directory and
    /// recording it (or between forgetting and deleting it); nothing references them.
    /// </summary>
    private void RemoveOrphans()
    {
        var known = _state.Snapshots.Values.Select(e => Dir(e.Id)).ToHashSet(StringComparer.Ordinal);
        foreach (var d in Directory.EnumerateDirectories(SnapshotsDir))
        {
            if (known.Contains(d)) continue;
            if (!long.TryParse(Path.GetFileName(d), out var id) || id < _state.NextId)
                FsOps.RemoveTree(d);
        }
    }
}
