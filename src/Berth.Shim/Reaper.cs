using Berth.Core.Interop;

namespace Berth.Shim;

/// <summary>
/// The shim's only waitpid caller: a subreaper inherits the container's init (and stray runc children), so one
/// thread reaps everything and hands each status to whoever waits for that pid.
/// </summary>
internal sealed unsafe class Reaper
{
    // Guards _waiters and _unclaimed.
    private readonly Lock _lock = new();
    private readonly Dictionary<int, TaskCompletionSource<int>> _waiters = [];
    private readonly Dictionary<int, int> _unclaimed = [];

    // Set when a child is spawned, so the loop can sleep while there are no children (waitpid → ECHILD).
    private readonly AutoResetEvent _childAdded = new(false);

    public Reaper()
    {
        var t = new Thread(Loop, 128 * 1024) { IsBackground = true, Name = "reaper" };
        t.Start();
    }

    public void ChildAdded() => _childAdded.Set();

    /// <summary>The raw wait status of <paramref name="pid"/>, whether it exits before or after this call.</summary>
    public Task<int> WaitAsync(int pid)
    {
        lock (_lock)
        {
            if (_unclaimed.Remove(pid, out var status)) return Task.FromResult(status);
            if (!_waiters.TryGetValue(pid, out var tcs))
                _waiters[pid] = tcs = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            return tcs.Task;
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
                TaskCompletionSource<int>? tcs;
                lock (_lock)
                {
                    if (!_waiters.Remove(pid, out tcs)) _unclaimed[pid] = status;
                }
                tcs?.TrySetResult(status);
                continue;
            }
            int errno = Sys.Errno;
            if (errno == Sys.EINTR) continue;
            _childAdded.WaitOne(TimeSpan.FromSeconds(1));
        }
    }
}
