using Berth.Core;

namespace Berth.Storage.Snapshots;

/// <summary>
/// The fallback where overlayfs is unavailable: every active snapshot is a full copy of its parent's tree,
/// mounted with a bind mount. Slow and large, but works on any filesystem.
/// </summary>
internal sealed class VfsSnapshotter : ISnapshotter
{
    private readonly SnapshotMetadata _meta;
    private readonly TimeProvider _time;

    public VfsSnapshotter(string root, TimeProvider? time = null)
    {
        _meta = new SnapshotMetadata(root);
        _time = time ?? TimeProvider.System;
    }

    public string Driver => "vfs";

    public async Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken ct)
    {
        var id = _meta.Reserve(key, parent);
        var dir = _meta.Dir(id);
        try
        {
            var fs = Path.Combine(dir, "fs");
            Directory.CreateDirectory(fs);
            if (parent is not null)
            {
                var from = Path.Combine(_meta.Dir(_meta.GetRequired(parent).Id), "fs");
                // The copy is the slow part; keep it off the caller's thread.
                await Task.Run(() =>
                {
                    FsOps.CopyTree(from, fs, ct);
                    FsOps.CopyMetadata(from, fs);
                }, ct).ConfigureAwait(false);
            }
            _meta.Add(key, id, parent, SnapshotKind.Active, _time);
        }
        catch
        {
            FsOps.RemoveTree(dir);
            throw;
        }
        return Mounts(key);
    }

    public Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken ct)
    {
        var id = _meta.Reserve(key, parent);
        var dir = _meta.Dir(id);
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "fs"));
            _meta.Add(key, id, parent, SnapshotKind.View, _time);
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
        var own = Path.Combine(_meta.Dir(e.Id), "fs");
        return e.Kind switch
        {
            SnapshotKind.Active => [Bind(own, readOnly: false)],
            // A committed parent never changes, so a view can look at it directly instead of copying it.
            SnapshotKind.View when e.Parent is not null => [Bind(Path.Combine(_meta.Dir(_meta.GetRequired(e.Parent).Id), "fs"), readOnly: true)],
            _ => [Bind(own, readOnly: true)],
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
