using System.Text;
using Berth.Core;
using Berth.Runtime.Runc;

namespace Berth.Shim;

/// <summary>Pause, resume, resource updates and runc's own view of the container.</summary>
internal sealed partial class ShimServer
{
    // runc reads the resources document from a pipe we fill before it starts: it must fit the pipe's buffer.
    private const int MaxUpdateDocument = 16 * 1024;

    private byte[] DoPause()
    {
        lock (_lock)
        {
            if (_state != ContainerState.Running)
                throw BerthException.Conflict($"cannot pause container {_o.Id} in state {StateName(_state)}");
        }
        _runc.PauseAsync(_o.Id).GetAwaiter().GetResult();
        lock (_lock)
        {
            if (_state == ContainerState.Running) _state = ContainerState.Paused;
        }
        return [];
    }

    private byte[] DoResume()
    {
        lock (_lock)
        {
            if (_state != ContainerState.Paused)
                throw BerthException.Conflict($"cannot resume container {_o.Id} in state {StateName(_state)}");
        }
        _runc.ResumeAsync(_o.Id).GetAwaiter().GetResult();
        lock (_lock)
        {
            if (_state == ContainerState.Paused) _state = ContainerState.Running;
        }
        return [];
    }

    private byte[] DoUpdate(byte[] resources)
    {
        if (resources.Length == 0 || resources.Length > MaxUpdateDocument)
            throw BerthException.Invalid($"update: resources document of {resources.Length} bytes");
        lock (_lock)
        {
            if (_state == ContainerState.Stopped)
                throw BerthException.Conflict($"cannot update container {_o.Id} in state {StateName(_state)}");
        }
        var r = RunRuncWithInput(_o.Runc, ["--root", _o.RuncRoot, "update", "-r", "-", _o.Id], resources);
        if (r.ExitCode != 0)
        {
            var msg = RuncDriver.CleanError(r.Stderr);
            throw new BerthException(ErrorKind.Unknown, $"runc update: {(msg.Length > 0 ? msg : $"exit status {r.ExitCode}")}");
        }
        // A new pids limit leaves no room for prepared exec gates (they count against it).
        if (PidsLimited()) DismissReadyGates();
        return [];
    }

    /// <summary>
    /// Asks runc for the container's status and brings the shim's own state in line with a pause or resume that
    /// happened behind its back (runc used directly); "stopped" once runc no longer knows the container.
    /// </summary>
    private byte[] DoRuncStatus()
    {
        lock (_lock)
        {
            if (_state == ContainerState.Stopped) return "stopped"u8.ToArray();
        }
        string status;
        try
        {
            status = _runc.StateAsync(_o.Id).GetAwaiter().GetResult().Status;
        }
        catch (BerthException e) when (e.Kind == ErrorKind.NotFound)
        {
            status = "stopped";
        }
        lock (_lock)
        {
            if (status == "paused" && _state == ContainerState.Running) _state = ContainerState.Paused;
            else if (status == "running" && _state == ContainerState.Paused) _state = ContainerState.Running;
        }
        return Encoding.UTF8.GetBytes(status);
    }
}
