using Berth.Core.Interop;

namespace Berth.Shim;

/// <summary>
/// The shim's only waitpid caller: a subreaper inherits the container's init (and stray runc children), so one
/// thread reaps everything and hands each status to whoever waits for that pid. Waiters block on a monitor rather
/// than awaiting tasks: the shim then needs no thread pool at all while a container runs.
/// </summary>
internal sealed unsafe class Reaper
{
    // Guards _exited; waiters sleep on it (Monitor.Wait) until the loop records their pid.
    private readonly object _gate = new();

    // Statuses not yet claimed by Wait: a child may exit before anyone asks for it.
    private readonly Dictionary<int, int> _exited = [];

    // Set when a child is spawned, so the loop can sleep while there are no children (waitpid → ECHILD).
    private readonly AutoResetEvent _childAdded = new(false);

    public Reaper()
    {
        var t = new Thread(Loop, 64 * 1024) { IsBackground = true, Name = "reaper" };
        t.Start();
    }

    public void ChildAdded() => _childAdded.Set();

    /// <summary>The raw wait status of <paramref name="pid"/> (a child of ours), whether it exits before or after this call.</summary>
    public int Wait(int pid)
    {
        lock (_gate)
        {
            int status;
            // Ends when the loop reaps pid: it is our child, so it exits sooner or later and is always reaped.
            while (!_exited.Remove(pid, out status)) Monitor.Wait(_gate);
            return status;
        }
    }

    /// <summary>Docker's convention: the exit code, or 128 + signal number when killed by a signal.</summary>
    public static int ExitCode(int status) => (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);

    private void Loop()
    {
        // Runs for the life of the process (background thread); each iteration blocks in waitpid or on _childAdded.
        while (true)
        {
            int status;
            int pid = Sys.WaitPid(-1, &status, 0);
            if (pid > 0)
            {
                lock (_gate)
                {
                    _exited[pid] = status;
                    Monitor.PulseAll(_gate);
                }
                continue;
            }
            int errno = Sys.Errno;
            if (errno == Sys.EINTR) continue;
            _childAdded.WaitOne(TimeSpan.FromSeconds(1));
        }
    }
}
