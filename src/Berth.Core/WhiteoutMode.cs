namespace Berth.Core;

/// <summary>
/// How a layer's whiteouts (<c>.wh.name</c>, <c>.wh..wh..opq</c>) are written when it is applied.
/// The snapshotter decides (it knows whether the target is an overlay upperdir); the layer applier obeys.
/// </summary>
public enum WhiteoutMode
{
    /// <summary>Remove the named path (or empty the directory) in a full copy of the filesystem (vfs).</summary>
    Delete,

    /// <summary>Write overlayfs whiteouts: a 0/0 character device per deleted name, <c>trusted.overlay.opaque=y</c> per opaque directory.</summary>
    Overlay,
}
