using Berth.Core;

namespace Berth.Storage.Snapshots;

/// <summary>
/// overlayfs: each snapshot is <c>root/snapshots/&lt;id&gt;/fs</c> (+ <c>work</c>). An active snapshot on a parent
/// is an overlay of its parents' fs dirs (lower, nearest first) and its own fs (upper); a snapshot without a
/// parent is a bind mount of its own fs dir.
/// </summary>
internal sealed class OverlaySnapshotter : SnapshotterBase
{
    private const int MaxLowerDirChars = 3800;

    public OverlaySnapshotter(string root, TimeProvider? time = null) : base(root, time)
    {
    }

    public override string Driver => "overlay2";

    public override Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken ct) =>
        Create(key, parent, SnapshotKind.Active);

    public override Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken ct) =>
        Create(key, parent, SnapshotKind.View);

    private Task<IReadOnlyList<Mount>> Create(string key, string? parent, SnapshotKind kind)
    {
        var id = Meta.Reserve(key, parent);
        var dir = Meta.Dir(id);
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "fs"));
            Directory.CreateDirectory(Path.Combine(dir, "work"));
            Meta.Add(key, id, parent, kind, Time);
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
        var fs = Path.Combine(Meta.Dir(e.Id), "fs");
        var lowers = Meta.Chain(e.Parent).Select(id => Path.Combine(Meta.Dir(id), "fs")).ToList();
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
                Options = [$"lowerdir={string.Join(':', lowers)}", $"upperdir={fs}", $"workdir={Path.Combine(Meta.Dir(e.Id), "work")}", "index=off"],
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
}
