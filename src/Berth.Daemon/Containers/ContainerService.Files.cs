using Berth.Images;
using Berth.Storage;

namespace Berth.Daemon.Containers;

internal sealed partial class ContainerService
{
    /// <summary>The snapshotter holding containers' writable layers (for diff and commit).</summary>
    public ISnapshotter Snapshotter => _snapshotter;

    public ImageStore Images => _images;

    /// <summary>
    /// Holds <paramref name="idOrName"/> still for a file operation (cp, export, diff, commit): its operation lock is
    /// taken, so it cannot start, exit or be removed meanwhile, and its root filesystem is mounted: a running
    /// container's own mount (the one its processes see), or, when stopped, a mount made for the lease and undone
    /// when it ends. The mount is at the container's rootfs path, which daemon start unmounts for stopped containers,
    /// so a crash mid-operation leaves nothing behind.
    /// </summary>
    public async Task<RootfsLease> LeaseRootfsAsync(string idOrName, bool mount, CancellationToken ct)
    {
        var c = Get(idOrName);
        await c.Operation.WaitAsync(ct);
        bool mounted = false;
        try
        {
            var r = c.Record;
            if (r.Status is ContainerStatus.Removing or ContainerStatus.Dead || c.Removed.Task.IsCompleted)
                throw Core.BerthException.Conflict($"container {r.Id[..12]} is being removed");
            var rootfs = _paths.Rootfs(r.Id);
            if (mount && !r.IsRunning)
            {
                Directory.CreateDirectory(rootfs);
                // A stale mount of a crashed operation would otherwise sit below this one.
                MountOps.Unmount(rootfs);
                MountOps.MountAll(_snapshotter.Mounts(r.SnapshotKey), rootfs);
                mounted = true;
            }
            var extra = new List<(string, string)>
            {
                ("/etc/hostname", _paths.HostnameFile(r.Id)),
                ("/etc/hosts", _paths.HostsFile(r.Id)),
                ("/etc/resolv.conf", _paths.ResolvConfFile(r.Id)),
            };
            var binds = r.Mounts.Where(m => m.Type is "bind" or "volume" && !string.IsNullOrEmpty(m.Source))
                .Select(m => (m.Destination, m.Source))
                .Concat(extra.Where(e => File.Exists(e.Item2)))
                .ToList();
            return new RootfsLease(c, r, rootfs, binds, mounted);
        }
        catch
        {
            if (mounted) MountOps.Unmount(_paths.Rootfs(c.Id));
            c.Operation.Release();
            throw;
        }
    }
}

/// <summary>A container held still with its root filesystem mounted; see <see cref="ContainerService.LeaseRootfsAsync"/>.</summary>
internal sealed class RootfsLease(Container container, ContainerRecord record, string rootfs,
    IReadOnlyList<(string Destination, string Source)> binds, bool mounted) : IDisposable
{
    private bool _disposed;

    public Container Container => container;
    public ContainerRecord Record => record;

    /// <summary>The host directory of the container's merged root filesystem.</summary>
    public string Rootfs => rootfs;

    /// <summary>Volumes, binds and the daemon-managed /etc files: container path → host source.</summary>
    public IReadOnlyList<(string Destination, string Source)> Binds => binds;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (mounted) MountOps.Unmount(rootfs);
        }
        finally
        {
            container.Operation.Release();
        }
    }
}
