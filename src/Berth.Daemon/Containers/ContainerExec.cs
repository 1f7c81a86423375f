using System.Collections.Concurrent;
using Berth.Api;
using Berth.Core;
using Berth.Runtime.Shim;

namespace Berth.Daemon.Containers;

/// <summary>One exec instance: created by POST /containers/{id}/exec, run once by POST /exec/{id}/start.</summary>
internal sealed class ExecInstance(string id, string containerId, ExecCreateRequest config, DetachKeys keys)
{
    // Guards the run state below.
    private readonly object _sync = new();
    private bool _started;
    private bool _running;
    private int? _exitCode;
    private int _pid;
    private ShimAttachment? _session;

    public string Id { get; } = id;
    public string ContainerId { get; } = containerId;
    public ExecCreateRequest Config { get; } = config;
    public DetachKeys Keys { get; } = keys;
    public DateTimeOffset? EndedAt { get; private set; }

    public bool Running { get { lock (_sync) return _running; } }
    public ShimAttachment? Session { get { lock (_sync) return _session; } }

    /// <summary>Claims the instance for one start; Docker's conflicts when it ran or runs already.</summary>
    public void Claim()
    {
        lock (_sync)
        {
            if (_running) throw BerthException.Conflict($"Error: Exec command {Id} is already running");
            if (_started) throw BerthException.Conflict($"Error: Exec command {Id} has already run");
            _started = true;
        }
    }

    public void Began(ShimAttachment session)
    {
        lock (_sync)
        {
            _session = session;
            _pid = session.Pid;
            _running = true;
        }
    }

    public void Ended(int exitCode)
    {
        lock (_sync)
        {
            _running = false;
            _session = null;
            _exitCode = exitCode;
            EndedAt = DateTimeOffset.UtcNow;
        }
    }

    public ExecInspectResponse View()
    {
        lock (_sync)
        {
            var cmd = Config.Cmd ?? [];
            return new ExecInspectResponse
            {
                ID = Id,
                ContainerID = ContainerId,
                Running = _running,
                ExitCode = _exitCode,
                Pid = _pid,
                CanRemove = false,
                DetachKeys = Config.DetachKeys ?? "",
                OpenStdin = Config.AttachStdin,
                OpenStdout = Config.AttachStdout,
                OpenStderr = Config.AttachStderr,
                ProcessConfig = new ExecProcessConfig
                {
                    Privileged = Config.Privileged,
                    User = Config.User ?? "",
                    Tty = Config.Tty,
                    Entrypoint = cmd.Count > 0 ? cmd[0] : "",
                    Arguments = cmd.Skip(1).ToList(),
                },
            };
        }
    }
}

internal sealed partial class ContainerService
{
    // Exec instances by ID. Finished ones are forgotten a while after they end (dockerd drops them too), and with their container.
    private readonly ConcurrentDictionary<string, ExecInstance> _execs = new(StringComparer.Ordinal);
    private static readonly TimeSpan ExecRetention = TimeSpan.FromMinutes(5);

    /// <summary>Sets the terminal size of a running container created with a TTY.</summary>
    public Task ResizeAsync(string idOrName, int height, int width, CancellationToken ct)
    {
        CheckConsoleSize(height, width);
        var c = Get(idOrName);
        if (!c.Record.IsRunning || c.Shim is not { } shim) throw BerthException.Conflict($"container {c.Id} is not running");
        return shim.ResizeAsync(height, width, ct);
    }

    public string CreateExec(string idOrName, ExecCreateRequest req)
    {
        var c = Get(idOrName);
        if (req.Cmd is null || req.Cmd.Count == 0 || string.IsNullOrEmpty(req.Cmd[0])) throw BerthException.Invalid("No exec command specified");
        if (req.ConsoleSize is { Count: > 0 } size && (size.Count != 2 || size.Any(v => v < 0)))
            throw BerthException.Invalid("invalid console size: expected [height, width], both non-negative");
        var keys = ParseDetachKeys(req.DetachKeys);
        if (!c.Record.IsRunning) throw BerthException.Conflict($"container {c.Id} is not running");
        CheckNotPaused(c);
        ForgetOldExecs();
        var exec = new ExecInstance(Ids.NewId(), c.Id, req, keys);
        _execs[exec.Id] = exec;
        Events.ExecCreated(c.Record, exec.Id, req.Cmd);
        return exec.Id;
    }

    public ExecInstance GetExec(string id) =>
        _execs.TryGetValue(id, out var e) ? e : throw BerthException.NotFound($"No such exec instance: {id}");

    /// <summary>IDs of the container's exec instances still known (inspect's ExecIDs); null when none, as dockerd shows it.</summary>
    public IReadOnlyList<string>? ExecIds(string containerId)
    {
        var ids = _execs.Values.Where(e => e.ContainerId == containerId && e.Running).Select(e => e.Id).ToList();
        return ids.Count > 0 ? ids : null;
    }

    /// <summary>
    /// Runs the exec's process in its container and returns the live session; the caller streams it and then hands the
    /// session's end to <see cref="ExecEndedAsync"/>. Throws when the process cannot be started.
    /// </summary>
    public async Task<ShimAttachment> StartExecAsync(ExecInstance exec, ExecStartRequest start, CancellationToken ct)
    {
        var shim = CheckExecStartable(exec);
        var r = Get(exec.ContainerId).Record;
        exec.Claim();
        var cfg = exec.Config;
        var size = start.ConsoleSize is { Count: 2 } s ? s : cfg.ConsoleSize;
        try
        {
            var user = UserResolver.Resolve(_paths.Rootfs(r.Id), string.IsNullOrEmpty(cfg.User) ? r.Config.User : cfg.User, r.HostConfig.GroupAdd);
            var session = await shim.ExecAsync(new ExecRequest
            {
                ExecId = exec.Id,
                Args = cfg.Cmd!,
                Env = cfg.Env ?? [],
                Cwd = string.IsNullOrEmpty(cfg.WorkingDir) ? null : cfg.WorkingDir,
                Uid = user.Uid,
                Gid = user.Gid,
                AdditionalGids = user.AdditionalGids,
                Privileged = cfg.Privileged,
                Tty = cfg.Tty,
                ConsoleHeight = size is { Count: 2 } ? size[0] : 0,
                ConsoleWidth = size is { Count: 2 } ? size[1] : 0,
                Stdin = cfg.AttachStdin,
                Stdout = cfg.AttachStdout,
                Stderr = cfg.AttachStderr,
            }, ct);
            exec.Began(session);
            Events.ExecStarted(r, exec.Id, cfg.Cmd!);
            return session;
        }
        catch (BerthException e)
        {
            // dockerd records 126 for a process that could not be started; the CLI exits with it.
            exec.Ended(126);
            throw new BerthException(e.Kind == ErrorKind.Unknown ? ErrorKind.InvalidArgument : e.Kind, $"OCI runtime exec failed: {e.Message}: unknown", e);
        }
    }

    /// <summary>The conflicts dockerd reports before it answers a start: the exec ran already, or its container stopped.</summary>
    public ShimClient CheckExecStartable(ExecInstance exec)
    {
        var c = Get(exec.ContainerId);
        if (!c.Record.IsRunning || c.Shim is not { } shim) throw BerthException.Conflict($"container {c.Id} is not running");
        CheckNotPaused(c);
        if (exec.Running) throw BerthException.Conflict($"Error: Exec command {exec.Id} is already running");
        return shim;
    }

    /// <summary>Records the exit once the session's output has ended (its process exited, or the shim went away).</summary>
    public async Task ExecEndedAsync(ExecInstance exec, ShimAttachment session, Task rest)
    {
        try { await rest; } catch (Exception e) when (e is IOException or ObjectDisposedException or BerthException) { }
        int code = session.Exit?.ExitCode ?? 137;
        exec.Ended(code);
        await session.DisposeAsync();
        if (TryGet(exec.ContainerId) is { } c) Events.ExecDied(c.Record, exec.Id, code);
    }

    public Task ResizeExecAsync(string execId, int height, int width, CancellationToken ct)
    {
        CheckConsoleSize(height, width);
        var exec = GetExec(execId);
        if (exec.Session is not { } session) throw BerthException.Conflict($"Exec {execId} is not running");
        return session.ResizeAsync(height, width, ct);
    }

    /// <summary>The container's exec instances go with it.</summary>
    private void ForgetExecs(string containerId)
    {
        foreach (var e in _execs.Values)
            if (e.ContainerId == containerId) _execs.TryRemove(e.Id, out _);
    }

    private void ForgetOldExecs()
    {
        var cutoff = DateTimeOffset.UtcNow - ExecRetention;
        foreach (var e in _execs.Values)
            if (e.EndedAt is { } t && t < cutoff) _execs.TryRemove(e.Id, out _);
    }

    // runc exec into a frozen cgroup would hang until the container is thawed: dockerd refuses it.
    private static void CheckNotPaused(Container c)
    {
        if (c.Record.Status == ContainerStatus.Paused)
            throw BerthException.Conflict($"Container {c.Id} is paused, unpause the container before exec");
    }

    /// <summary>Docker's detach-keys option; a malformed one is the client's error (400).</summary>
    public static DetachKeys ParseDetachKeys(string? spec)
    {
        try { return DetachKeys.Parse(spec); }
        catch (FormatException e) { throw BerthException.Invalid(e.Message); }
    }

    private static void CheckConsoleSize(int height, int width)
    {
        if (height < 0 || width < 0) throw BerthException.Invalid($"invalid terminal size {height}x{width}: sizes cannot be negative");
        if (height > ushort.MaxValue || width > ushort.MaxValue) throw BerthException.Invalid($"invalid terminal size {height}x{width}: too large");
    }
}
