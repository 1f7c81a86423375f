using Berth.Core;
using Berth.Runtime.Shim;

namespace Berth.Daemon.Containers;

/// <summary>Pause and unpause (runc's freezer, through the container's shim), and what stop/kill/remove/restore do about it.</summary>
internal sealed partial class ContainerService
{
    public async Task PauseAsync(string idOrName, CancellationToken ct)
    {
        var c = Get(idOrName);
        await c.Operation.WaitAsync(ct);
        try
        {
            var r = c.Record;
            if (r.Status == ContainerStatus.Paused) throw BerthException.Conflict($"Container {r.Id} is already paused");
            if (r.Status == ContainerStatus.Restarting)
                throw BerthException.Conflict($"Container {r.Id} is restarting, wait until the container is running");
            if (r.Status != ContainerStatus.Running || c.Shim is not { } shim) throw BerthException.Conflict($"Container {r.Id} is not running");
            try
            {
                // Once under way it completes: a client that leaves must not leave the container frozen and recorded running.
                await shim.PauseAsync(CancellationToken.None);
            }
            catch (BerthException e) when (e.Kind is ErrorKind.Conflict or ErrorKind.Unavailable)
            {
                // The container exited between our check and the shim's (its exit handling waits for Operation).
                throw BerthException.Conflict($"Container {r.Id} is not running");
            }
            catch (BerthException e)
            {
                throw new BerthException(ErrorKind.Unknown, $"Cannot pause container {r.Id}: {e.Message}");
            }
            // dockerd closes a paused container's health monitor, which marks it unhealthy at once.
            Save(c, x => MarkUnhealthy(x with { Status = ContainerStatus.Paused }));
            Events.Paused(c.Record);
        }
        finally
        {
            c.Operation.Release();
        }
    }

    public async Task UnpauseAsync(string idOrName, CancellationToken ct)
    {
        var c = Get(idOrName);
        await c.Operation.WaitAsync(ct);
        try
        {
            var r = c.Record;
            if (r.Status != ContainerStatus.Paused || c.Shim is not { } shim) throw BerthException.Conflict($"Container {r.Id} is not paused");
            try
            {
                await shim.ResumeAsync(CancellationToken.None);
            }
            catch (BerthException e) when (e.Kind is ErrorKind.Conflict or ErrorKind.Unavailable)
            {
                throw BerthException.Conflict($"Container {r.Id} is not paused");
            }
            catch (BerthException e)
            {
                throw new BerthException(ErrorKind.Unknown, $"Cannot unpause container {r.Id}: {e.Message}");
            }
            Save(c, x => x with { Status = ContainerStatus.Running });
            Events.Unpaused(c.Record);
        }
        finally
        {
            c.Operation.Release();
        }
    }

    /// <summary>
    /// Like dockerd after a stop signal or SIGKILL to a paused container: thaw it, so the signal is delivered now
    /// (frozen processes act on it only once they run again).
    /// </summary>
    private async Task ThawAfterSignalAsync(Container c, ShimClient shim)
    {
        if (c.Record.Status != ContainerStatus.Paused) return;
        try
        {
            await shim.ResumeAsync(CancellationToken.None);
        }
        catch (BerthException e)
        {
            // runc thaws a paused container itself after SIGKILL, and a dead one has nothing to thaw.
            string status;
            try { status = await shim.RuncStatusAsync(CancellationToken.None); }
            catch (BerthException) { status = "stopped"; }
            if (status == "paused")
            {
                _log.LogWarning("cannot unpause {Id} after signalling it: {Error}", c.Id[..12], e.Message);
                return;
            }
        }
        c.Update(x => x.Status == ContainerStatus.Paused ? x with { Status = ContainerStatus.Running } : x);
    }

    /// <summary>dockerd thaws a paused container for SIGKILL and for its stop signal (any signal when none is configured).</summary>
    private static bool ThawsOnKill(ContainerRecord r, int sig)
    {
        return sig == 9 || string.IsNullOrEmpty(r.Config.StopSignal) || Signals.ParseStop(r.Config.StopSignal) == sig;
    }

    /// <summary>
    /// At daemon start, a re-adopted container is paused or running as runc says (the record may predate a change
    /// made while the daemon was down, or the daemon may have died between the freeze and its record).
    /// </summary>
    private async Task RestorePausedStateAsync(Container c, ShimClient shim, CancellationToken ct)
    {
        string status;
        try { status = await shim.RuncStatusAsync(ct); }
        catch (BerthException e)
        {
            _log.LogWarning("cannot ask runc for the state of {Id}: {Error}", c.Id[..12], e.Message);
            return;
        }
        var want = status == "paused" ? ContainerStatus.Paused : ContainerStatus.Running;
        if (status is "paused" or "running" && c.Record.Status != want) Save(c, x => x with { Status = want });
    }
}
