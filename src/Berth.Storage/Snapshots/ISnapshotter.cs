using Berth.Core;

namespace Berth.Storage;

/// <summary>
/// Copy-on-write filesystems for images and containers, modelled on containerd's snapshotter contract.
/// </summary>
/// <remarks>
/// <para>
/// A snapshot is a directory tree with a kind. <b>Active</b> snapshots are writable and named by a <i>key</i>
/// the caller chooses; <b>Committed</b> snapshots are immutable and named by the caller at commit time (the
/// images layer uses the layer's chain ID, <c>sha256:…</c>, so identical layer stacks are shared by every image
/// that has them); <b>View</b> snapshots are read-only looks at a committed snapshot. Only committed snapshots
/// can be parents. A snapshot is never handed out as a path: callers get a list of <see cref="Mount"/>s and
/// mount them where they need the tree (<see cref="MountOps"/>), so a runtime never knows which driver made it.
/// </para>
/// <para><b>Unpacking a layer.</b> To unpack layer <c>n</c> of an image whose chain IDs are <c>c1…cn</c>:</para>
/// <code>
/// if (snapshotter.Stat(cn) is null) {
///     var key = $"extract-{random}-{cn}";
///     var mounts = await snapshotter.PrepareAsync(key, parent: c(n-1) /* null for the first layer */, ct);
///     var (dir, mode) = ApplyTarget.For(mounts);     // overlay: the upperdir; vfs: the copied tree
///     LayerApplier.Apply(layerTar, dir, mode, ct);   // whiteouts written the way the driver needs them
///     await snapshotter.CommitAsync(cn, key, ct);    // the active snapshot becomes committed snapshot cn
/// }
/// </code>
/// <para>
/// The temporary key is unique so two unpackers never collide; if the commit fails because another one
/// committed <c>cn</c> first, remove the key and use theirs. On any failure, <see cref="RemoveAsync"/> the key.
/// </para>
/// <para><b>Running a container.</b> Given the image's top chain ID <c>cn</c>:</para>
/// <code>
/// var mounts = await snapshotter.PrepareAsync(containerId, cn, ct);   // a writable layer on top
/// MountOps.MountAll(mounts, bundle/rootfs);                           // or hand mounts to the runtime
/// ... run ...
/// MountOps.Unmount(bundle/rootfs);
/// await snapshotter.RemoveAsync(containerId, ct);                     // or CommitAsync to make an image layer
/// </code>
/// <para>
/// A read-only look (image export, copying files out of an image) uses <see cref="ViewAsync"/> the same way.
/// </para>
/// <para>
/// Rules every implementation keeps: keys and names share one namespace; a parent must be committed; a
/// snapshot with children cannot be removed (Conflict); a committed snapshot never changes; metadata survives
/// a restart (and a kill -9: it is written atomically); <see cref="Mounts"/> for the same key always returns the
/// same list.
/// </para>
/// </remarks>
public interface ISnapshotter
{
    /// <summary>The storage driver name Docker reports: <c>overlay2</c> or <c>vfs</c>.</summary>
    string Driver { get; }

    /// <summary>Creates an active (writable) snapshot <paramref name="key"/> on top of committed <paramref name="parent"/>.</summary>
    Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken ct);

    /// <summary>Creates a read-only view <paramref name="key"/> of committed <paramref name="parent"/>.</summary>
    Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken ct);

    /// <summary>The mounts of an existing active or view snapshot.</summary>
    IReadOnlyList<Mount> Mounts(string key);

    /// <summary>Turns active snapshot <paramref name="key"/> into committed snapshot <paramref name="name"/>; the key is gone after.</summary>
    Task CommitAsync(string name, string key, CancellationToken ct);

    /// <summary>Removes a snapshot of any kind; Conflict when it has children, NotFound when absent.</summary>
    Task RemoveAsync(string key, CancellationToken ct);

    SnapshotInfo? Stat(string key);

    IReadOnlyList<SnapshotInfo> List();

    /// <summary>Bytes used by the snapshot's own layer (not its parents).</summary>
    long Usage(string key);
}

public enum SnapshotKind
{
    Active,
    View,
    Committed,
}

public sealed record SnapshotInfo(string Name, string? Parent, SnapshotKind Kind, DateTimeOffset Created);
