using Berth.Core;

namespace Berth.Storage.Snapshots;

/// <summary>
/// The fallback where overlayfs is unavailable: every active snapshot is a full copy of its parent's tree,
/// mounted with a bind mount. Slow and large, but works on any filesystem.
/// </summary>
internal sealed class VfsSnapshotter : SnapshotterBase
{
    public VfsSnapshotter(string root, TimeProvider? time = null) : base(root, time)
    {
    }

    public override string Driver => "vfs";

    public override async Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken ct)
    {
        var id = Meta.Reserve(key, parent);
        var dir = Meta.Dir(id);
        try
        {
            var fs = Path.Combine(dir, "fs");
            Directory.CreateDirectory(fs);
            if (parent is not null)
            {
                var from = Path.Combine(Meta.Dir(Meta.GetRequired(parent).Id), "fs");
                // The copy is the slow part; keep it off the caller's thread.
                await Task.Run(() =>
                {
                    FsOps.CopyTree(from, fs, ct);
                    FsOps.CopyMetadata(from, fs);
                }, ct).ConfigureAwait(false);
            }
            Meta.Add(key, id, parent, SnapshotKind.Active, Time);
        }
        catch
        {
            FsOps.RemoveTree(dir);
            throw;
        }
        return Mounts(key);
    }

    public override Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken ct)
    {
        var id = Meta.Reserve(key, parent);
        var dir = Meta.Dir(id);
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "fs"));
            Meta.Add(key, id, parent, SnapshotKind.View, Time);
        }
        catch
        {
            FsOps.RemoveTree(dir);
            throw;
        }
        return Task.FromResult(Mounts(key));
    }

    public override IReadOnlyList<Mount> Mounts(string key)
    {
        var e = Meta.GetRequired(key);
        var own = Path.Combine(Meta.Dir(e.Id), "fs");
        return e.Kind switch
        {
            SnapshotKind.Active => [Bind(own, readOnly: false)],
            // A committed parent never changes, so a view can look at it directly instead of copying it.
            SnapshotKind.View when e.Parent is not null => [Bind(Path.Combine(Meta.Dir(Meta.GetRequired(e.Parent).Id), "fs"), readOnly: true)],
            _ => [Bind(own, readOnly: true)],
        };
    }
}
