using Berth.Core;
using Berth.Core.Interop;
using Berth.Network.Interop;

namespace Berth.Network.Linux;

/// <summary>
/// Runs a short piece of work inside another network namespace. setns/unshare change only the calling thread, so
/// the work runs on a thread of its own that returns to the daemon's namespace before it signals anyone: no pooled
/// or runtime thread may ever inherit a container's namespace (threads the runtime starts from a thread copy its
/// namespaces). Keep the work to a few syscalls: create a socket, bind-mount a file.
/// </summary>
internal static class NamespaceThread
{
    /// <summary>Runs <paramref name="work"/> in the namespace bind-mounted at <paramref name="netnsPath"/>.</summary>
    public static Task<T> RunAsync<T>(string netnsPath, Func<T> work) => Start(netnsPath, work);

    /// <summary>Runs <paramref name="work"/> in a brand-new network namespace, which dies with the thread unless the work pins it.</summary>
    public static Task<T> RunInNewAsync<T>(Func<T> work) => Start(null, work);

    private static Task<T> Start<T>(string? netnsPath, Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            T result = default!;
            Exception? error = null;
            try { result = Enter(netnsPath, work); }
            catch (Exception e) { error = e; }
            if (error is null) done.SetResult(result);
            else done.SetException(error);
        }, maxStackSize: 256 * 1024)
        { IsBackground = true, Name = "berth-netns" };
        thread.UnsafeStart();
        return done.Task;
    }

    private static T Enter<T>(string? netnsPath, Func<T> work)
    {
        int home = NetSys.Open("/proc/thread-self/ns/net", NetSys.O_RDONLY | NetSys.O_CLOEXEC);
        Sys.CheckIo(home, "open /proc/thread-self/ns/net");
        try
        {
            if (netnsPath is null)
            {
                Sys.CheckIo(NetSys.Unshare(NetSys.CLONE_NEWNET), "unshare(CLONE_NEWNET)");
            }
            else
            {
                int target = NetSys.Open(netnsPath, NetSys.O_RDONLY | NetSys.O_CLOEXEC);
                if (target < 0 && Sys.Errno == Sys.ENOENT)
                    throw BerthException.NotFound($"network namespace {netnsPath} not found");
                Sys.CheckIo(target, $"open network namespace {netnsPath}");
                try { Sys.CheckIo(NetSys.Setns(target, NetSys.CLONE_NEWNET), $"enter network namespace {netnsPath}"); }
                finally { NetSys.Close(target); }
            }

            T result;
            try
            {
                result = work();
            }
            finally
            {
                if (NetSys.Setns(home, NetSys.CLONE_NEWNET) != 0)
                {
                    // A thread stuck in a container's namespace would open the daemon's sockets there; never let it run on.
                    Environment.FailFast($"berth: cannot return a thread to the daemon's network namespace: {Sys.ErrorText(Sys.Errno)}");
                }
            }
            return result;
        }
        finally
        {
            NetSys.Close(home);
        }
    }
}
