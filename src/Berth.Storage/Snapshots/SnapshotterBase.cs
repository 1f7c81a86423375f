using Berth.Core;

namespace Berth.Storage.Snapshots;

/// <summary>
/// What every snapshotter here shares: the metadata file, and the operations that only touch it and the
/// snapshot directories (commit, remove, stat, list, usage). Drivers differ in how they prepare and mount.
/// </summary>
internal abstract class SnapshotterBase : ISnapshotter
{
    protected SnapshotterBase(string root, TimeProvider? time)
    {
        Meta = new SnapshotMetadata(root);
        Time = time ?? TimeProvider.System;
    }

    protected SnapshotMetadata Meta { get; }
    protected TimeProvider Time { get; }

    public abstract string Driver { get; }
    public abstract Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken ct);
    public abstract Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken ct);
    public abstract IReadOnlyList<Mount> Mounts(string key);

    protected static Mount Bind(string dir, bool readOnly) =>
        new() { Type = "bind", Source = dir, Options = ["rbind", readOnly ? "ro" : "rw"] };

    public Task CommitAsync(string name, string key, CancellationToken ct)
    {
        Meta.Commit(name, key, Time);
        return Task.CompletedTask;
    }

    public Task RemoveAsync(string key, CancellationToken ct)
    {
        var id = Meta.Remove(key);
        FsOps.RemoveTree(Meta.Dir(id));
        return Task.CompletedTask;
    }

    public SnapshotInfo? Stat(string key) =>
        Meta.Get(key) is { } e ? new SnapshotInfo(key, e.Parent, e.Kind, e.Created) : null;

    public IReadOnlyList<SnapshotInfo> List() => Meta.List();

    public long Usage(string key) => Berth.Core.IO.DiskUsage.Of(Path.Combine(Meta.Dir(Meta.GetRequired(key).Id), "fs"));
}
