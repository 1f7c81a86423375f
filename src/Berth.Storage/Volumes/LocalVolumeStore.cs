using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Core;
using Berth.Storage.Volumes;

namespace Berth.Storage;

/// <summary>A volume of the <c>local</c> driver, as the daemon reports it.</summary>
public sealed record VolumeRecord
{
    public required string Name { get; init; }
    public string Driver { get; init; } = "local";
    public required string Mountpoint { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
    public string Scope { get; init; } = "local";
    public bool Anonymous { get; init; }
}

/// <summary>
/// Docker's <c>local</c> volume driver: <c>root/&lt;name&gt;/_data</c> holds the content and
/// <c>root/&lt;name&gt;/meta.json</c> (written atomically) the record.
/// </summary>
public sealed partial class LocalVolumeStore
{
    private static readonly HashSet<string> KnownOptions = new(StringComparer.Ordinal) { "type", "device", "o", "size" };

    private readonly string _root;
    private readonly TimeProvider _time;

    // Guards _volumes and the create/remove of volume directories.
    private readonly Lock _lock = new();
    private readonly Dictionary<string, VolumeRecord> _volumes = new(StringComparer.Ordinal);

    public LocalVolumeStore(string root, TimeProvider? time = null)
    {
        _root = Path.GetFullPath(root);
        _time = time ?? TimeProvider.System;
        Directory.CreateDirectory(_root);
        foreach (var dir in Directory.EnumerateDirectories(_root))
        {
            var metaPath = Path.Combine(dir, "meta.json");
            if (!File.Exists(metaPath)) continue; // a create interrupted before its record: not a volume
            try
            {
                var meta = JsonSerializer.Deserialize(File.ReadAllBytes(metaPath), StorageJsonContext.Default.VolumeMeta);
                if (meta is not null) _volumes[Path.GetFileName(dir)] = ToRecord(Path.GetFileName(dir), meta);
            }
            catch (JsonException)
            {
                // AtomicFile never leaves half a record; a hand-edited broken one is skipped, not fatal.
            }
        }
    }

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")]
    private static partial Regex ValidName();

    /// <summary>Creates a volume, or returns the existing one with that name (as Docker does).</summary>
    public VolumeRecord Create(string? name, IReadOnlyDictionary<string, string>? labels, IReadOnlyDictionary<string, string>? options, bool anonymous)
    {
        name = string.IsNullOrEmpty(name) ? Ids.NewId() : name;
        if (!ValidName().IsMatch(name))
            throw BerthException.Invalid($"create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
        foreach (var key in options?.Keys ?? [])
            if (!KnownOptions.Contains(key))
                throw BerthException.Invalid($"invalid option: \"{key}\"");
        lock (_lock)
        {
            if (_volumes.TryGetValue(name, out var existing)) return existing;
            var dir = Path.Combine(_root, name);
            var data = Path.Combine(dir, "_data");
            Directory.CreateDirectory(data);
            var meta = new VolumeMeta
            {
                CreatedAt = _time.GetUtcNow(),
                Labels = labels?.ToDictionary() ?? [],
                Options = options?.ToDictionary() ?? [],
                Anonymous = anonymous,
            };
            AtomicFile.WriteAllBytes(Path.Combine(dir, "meta.json"), JsonSerializer.SerializeToUtf8Bytes(meta, StorageJsonContext.Default.VolumeMeta));
            var record = ToRecord(name, meta);
            _volumes[name] = record;
            return record;
        }
    }

    public VolumeRecord? Get(string name)
    {
        lock (_lock) return _volumes.GetValueOrDefault(name);
    }

    public IReadOnlyList<VolumeRecord> List()
    {
        lock (_lock) return _volumes.Values.OrderBy(v => v.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Removes a volume and its data; the caller has checked that no container uses it.</summary>
    public void Remove(string name)
    {
        string dir;
        lock (_lock)
        {
            if (!_volumes.Remove(name)) throw BerthException.NotFound($"get {name}: no such volume");
            dir = Path.Combine(_root, name);
            // The record goes first: a crash mid-delete leaves a directory without meta.json, which is not loaded.
            File.Delete(Path.Combine(dir, "meta.json"));
        }
        FsOps.RemoveTree(dir);
    }

    /// <summary>Bytes stored in the volume.</summary>
    public long Size(string name)
    {
        var v = Get(name) ?? throw BerthException.NotFound($"get {name}: no such volume");
        return Berth.Core.IO.DiskUsage.Of(v.Mountpoint);
    }

    /// <summary>
    /// Populates an empty volume with the content an image has at the mount point (Docker copies the image's
    /// directory into a fresh volume). Returns false, copying nothing, when the volume already has content.
    /// </summary>
    public bool CopyUp(string sourceDir, string volumeName)
    {
        var v = Get(volumeName) ?? throw BerthException.NotFound($"get {volumeName}: no such volume");
        if (!Directory.Exists(sourceDir) || Directory.EnumerateFileSystemEntries(v.Mountpoint).Any()) return false;
        FsOps.CopyTree(sourceDir, v.Mountpoint);
        FsOps.CopyMetadata(sourceDir, v.Mountpoint);
        return true;
    }

    private VolumeRecord ToRecord(string name, VolumeMeta meta) => new()
    {
        Name = name,
        Mountpoint = Path.Combine(_root, name, "_data"),
        CreatedAt = meta.CreatedAt,
        Labels = meta.Labels,
        Options = meta.Options,
        Anonymous = meta.Anonymous,
    };
}
