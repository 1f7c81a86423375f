using Berth.Core;
using Berth.Core.Interop;
using Berth.Network.Interop;
using Berth.Network.Linux;

namespace Berth.Network.Sandbox;

/// <summary>
/// Network namespaces ("sandboxes") kept alive by a bind mount at <c>&lt;dir&gt;/&lt;containerId&gt;</c>, so runc can join
/// one by path. They are not registered under /run/netns: nothing outside Berth needs to see them.
/// </summary>
internal sealed class NetnsManager
{
    private readonly string _dir;

    public NetnsManager(string dir) => _dir = dir;

    public string Directory => _dir;

    public string PathFor(string containerId)
    {
        if (string.IsNullOrEmpty(containerId) || containerId.Contains('/') || containerId is "." or "..")
            throw BerthException.Invalid($"invalid container id \"{containerId}\" for a network namespace");
        return Path.Combine(_dir, containerId);
    }

    public Task<string> CreateAsync(string containerId)
    {
        var path = PathFor(containerId);
        System.IO.Directory.CreateDirectory(_dir);
        try
        {
            // The bind mount needs an existing file to land on; CreateNew also catches a second create for the same id.
            using (new FileStream(path, FileMode.CreateNew, FileAccess.Write)) { }
        }
        catch (IOException) when (File.Exists(path))
        {
            throw BerthException.Conflict($"network namespace for container {containerId} already exists at {path}");
        }

        return CreateCoreAsync(containerId, path);
    }

    // Netlink sockets opened inside a new sandbox while its thread was there anyway, by sandbox path, for the first
    // endpoint's configuration (TakeSocket): one namespace thread per container start instead of two. A socket holds
    // its namespace, so RemovePath closes one that nobody took.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, RtNetlink> Sockets = new(StringComparer.Ordinal);

    /// <summary>The netlink socket opened in the sandbox at <paramref name="path"/> when it was made, if still unclaimed; the caller owns it.</summary>
    public static RtNetlink? TakeSocket(string path) => Sockets.TryRemove(path, out var s) ? s : null;

    private static async Task<string> CreateCoreAsync(string containerId, string path)
    {
        try
        {
            var socket = await NamespaceThread.RunInNewAsync<RtNetlink?>(() =>
            {
                LoopbackUp();
                Sys.CheckIo(Sys.Mount("/proc/thread-self/ns/net", path, null, Sys.MS_BIND, null),
                    $"bind-mount network namespace of container {containerId} on {path}");
                // Only a shortcut: without it the endpoint opens its own socket on a thread of its own.
                try { return RtNetlink.Open(); }
                catch (BerthException) { return null; }
            }).ConfigureAwait(false);
            if (Sockets.TryRemove(path, out var stale)) stale.Dispose();
            if (socket is not null) Sockets[path] = socket;
            return path;
        }
        catch
        {
            TryDeleteFile(path);
            throw;
        }
    }

    private static unsafe void LoopbackUp()
    {
        int fd = NetSys.Socket(NetSys.AF_INET, NetSys.SOCK_DGRAM | NetSys.SOCK_CLOEXEC, 0);
        Sys.CheckIo(fd, "socket(AF_INET) in new network namespace");
        try
        {
            var req = default(NetSys.IfReqFlags);
            req.Name[0] = (byte)'l';
            req.Name[1] = (byte)'o';
            Sys.CheckIo(NetSys.Ioctl(fd, NetSys.SIOCGIFFLAGS, &req), "SIOCGIFFLAGS lo");
            req.Flags |= NetSys.IFF_UP;
            Sys.CheckIo(NetSys.Ioctl(fd, NetSys.SIOCSIFFLAGS, &req), "SIOCSIFFLAGS lo up");
        }
        finally
        {
            NetSys.Close(fd);
        }
    }

    /// <summary>Detaches the namespace's bind mount and deletes the file; a missing one is not an error.</summary>
    public void Remove(string containerId) => RemovePath(PathFor(containerId));

    public static void RemovePath(string path)
    {
        if (Sockets.TryRemove(path, out var socket)) socket.Dispose();
        // MNT_DETACH: a runc or nsenter still holding the file open must not make removal fail.
        if (Sys.Umount2(path, Sys.MNT_DETACH) != 0)
        {
            int errno = Sys.Errno;
            // EINVAL: not a mount point (a leftover empty file); ENOENT: already gone.
            if (errno != Sys.EINVAL && errno != Sys.ENOENT)
                throw new BerthException(ErrorKind.Unknown, $"unmount network namespace {path}: {Sys.ErrorText(errno)}");
        }
        TryDeleteFile(path);
    }

    /// <summary>Container ids that have a namespace file here.</summary>
    public IReadOnlyList<string> List()
    {
        if (!System.IO.Directory.Exists(_dir)) return [];
        return System.IO.Directory.EnumerateFiles(_dir).Select(p => Path.GetFileName(p)).Where(n => !n.StartsWith('.')).ToList();
    }

    private static void TryDeleteFile(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
    }
}
