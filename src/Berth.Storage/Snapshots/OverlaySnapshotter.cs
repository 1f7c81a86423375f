using Berth.Core;

namespace Berth.Storage.Snapshots;

/// <summary>
/// overlayfs: each snapshot is <c>root/snapshots/&lt;id&gt;/fs</c> (+ <c>work</c>). An active snapshot on a parent
/// is an overlay of its parents' fs dirs (lower, nearest first) and its own fs (upper); a snapshot without a
/// parent is a bind mount of its own fs dir.
/// </summary>
internal sealed class OverlaySnapshotter : ISnapshotter
{
    private const int MaxLowerDirChars = 3800;

    private readonly SnapshotMetadata _meta;
    private readonly TimeProvider _time;

    public OverlaySnapshotter(string root, TimeProvider? time = null)
    {
        _meta = new SnapshotMetadata(root);
        _time = time ?? TimeProvider.System;
    }

    public string Driver => "overlay2";

    public Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken ct) =>
        Create(key, parent, SnapshotKind.Active);

    public Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken ct) =>
        Create(key, parent, SnapshotKind.View);

    private Task<IReadOnlyList<Mount>> Create(string key, string? parent, SnapshotKind kind)
    {
        var id = _meta.Reserve(key, parent);
        var dir = _meta.Dir(id);
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "fs"));
            Directory.CreateDirectory(Path.Combine(dir, "work"));
            _meta.Add(key, id, parent, kind, _time);
        }
        catch
        {
            FsOps.RemoveTree(dir);
            throw;
        }
        return Task.FromResult(Mounts(key));
    }

    public IReadOnlyList<Mount> Mounts(string key)
    {
        var e = _meta.GetRequired(key);
        var fs = Path.Combine(_meta.Dir(e.Id), "fs");
        var lowers = _meta.Chain(e.Parent).Select(id => Path.Combine(_meta.Dir(id), "fs")).ToList();
        // mount(2) takes at most one page of options; beyond it the kernel would truncate the layer list.
        if (lowers.Sum(l => l.Length + 1) > MaxLowerDirChars)
            throw new BerthException(ErrorKind.NotImplemented, $"snapshot {key}: {lowers.Count} layers are too many for one overlay mount");
        if (e.Kind == SnapshotKind.Active)
        {
            if (lowers.Count == 0) return [Bind(fs, readOnly: false)];
            return [new Mount
            {
                Type = "overlay",
                Source = "overlay",
                Options = [$"lowerdir={string.Join(':', lowers)}", $"upperdir={fs}", $"workdir={Path.Combine(_meta.Dir(e.Id), "work")}", "index=off"],
            }];
        }
        // Views and committed snapshots are read-only looks at the stack.
        if (e.Kind == SnapshotKind.Committed) lowers.Insert(0, fs);
        return lowers.Count switch
        {
            0 => [Bind(fs, readOnly: true)],
            1 => [Bind(lowers[0], readOnly: true)],
            // overlayfs with lower dirs only is read-only by construction.
            _ => [new Mount { Type = "overlay", Source = "overlay", Options = [$"lowerdir={string.Join(':', lowers)}", "index=off"] }],
        };
    }

    private static Mount Bind(string dir, bool readOnly) =>
        new() { Type = "bind", Source = dir, Options = ["rbind", readOnly ? "ro" : "rw"] };

    public Task CommitAsync(string name, string key, CancellationToken ct)
    {
        _meta.Commit(name, key, _time);
        return Task.CompletedTask;
    }

    public Task RemoveAsync(string key, CancellationToken ct)
    {
        var id = _meta.Remove(key);
        FsOps.RemoveTree(_meta.Dir(id));
        return Task.CompletedTask;
    }

    public SnapshotInfo? Stat(string key) =>
        _meta.Get(key) is { } e ? new SnapshotInfo(key, e.Parent, e.Kind, e.Created) : null;

    public IReadOnlyList<SnapshotInfo> List() => _meta.List();

    public long Usage(string key) => FsOps.DiskUsage(Path.Combine(_meta.Dir(_meta.GetRequired(key).Id), "fs"));
}
