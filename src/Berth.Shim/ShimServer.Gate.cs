using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Berth.Core;
using Berth.Core.Interop;
using Berth.Runtime.Runc;
using Berth.Runtime.Shim;
using Berth.Runtime.Spec;
using Microsoft.Win32.SafeHandles;

namespace Berth.Shim;

/// <summary>
/// Warm exec gates. Most of an exec's time is runc's own (two Go start-ups, joining namespaces and cgroups, compiling
/// the seccomp filter), and none of it depends on the command. So after an exec the shim has runc start the next one
/// ahead of time with <c>berth-exec-gate</c> (gate/exec-gate.c) as its command: the gate then waits inside the
/// container, with the user, groups, capabilities, seccomp filter and working directory runc gave it, until the next
/// exec of the same kind sends the command, which the gate looks up and executes as runc would. Before it does, it
/// clones its successor (CLONE_PARENT, so the shim's child like every exec'd process), which inherits all of runc's
/// set-up and becomes the next gate: execs in a row then need no runc run at all. All confinement is runc's; the gate
/// only forks and performs the final execve.
/// <para>
/// One gate per container, only after a first exec, never for a terminal or a privileged exec. runc prepares gates at
/// a lower priority (nice 10), so they yield to the work needed now. A gate goes when an exec of another kind comes,
/// after <see cref="GateIdle"/> without execs, and with the container. A waiting gate is visible inside the container
/// (ps shows <c>/proc/self/fd/5 berth-exec-gate</c>) and counts against its pids limit. The gate program is handed
/// over as a sealed memfd, so nothing in the container can alter it, and the gate makes itself non-dumpable, so
/// container processes cannot reach into it either.
/// </para>
/// </summary>
internal sealed partial class ShimServer
{
    private const string GateProgram = "berth-exec-gate";
    private const uint GateMagic = 0x31474542, GateFlagStdin = 1, GateFlagSuccessor = 2;

    // An unused gate leaves after this long: a container nobody execs into does not keep an extra process.
    private static readonly TimeSpan GateIdle = TimeSpan.FromSeconds(20);

    // How long an exec waits for a gate being prepared before it runs runc itself.
    private static readonly TimeSpan GateWait = TimeSpan.FromSeconds(1);

    private sealed class Gate
    {
        public required string Key { get; init; }
        public required int Pid { get; init; }
        public required int Request { get; init; }
        public required int Status { get; init; }
        public required int StdinW { get; init; }
        public required int StdoutR { get; init; }
        public required int StderrR { get; init; }
    }

    private const int GateNice = 10;

    // Execs in a row may come faster than runc prepares gates: then two are kept ready (and two prepared at once).
    private const int GatePoolMax = 2;

    // Guards the gate pool below; execs waiting for a gate in preparation sleep on it (Monitor).
    private readonly object _gateSync = new();
    private readonly List<Gate> _gatesReady = [];
    private string? _gateKind;     // the kind of exec the ready gates and those in preparation are for
    private int _gateGeneration;   // bumped when the kind changes: preparations of an older one are discarded
    private int _gatesPreparing;   // preparations of the current kind in flight
    private int _gatePool = 1;     // how many gates to keep ready
    private bool _gateOff;
    private int _gateCalls;
    private readonly List<int> _gateRuncs = []; // runc processes preparing gates (our children, not yet reaped)

    // The gate program's sealed memfd, made at the first preparation; -1 until then. Guarded by _gateSync.
    private int _gateExe = -1;

    /// <summary>What a gate must have been prepared with to serve this exec; null when the exec never uses one.</summary>
    private static string? GateKey(ExecRequest req, SpecProcess process)
    {
        if (req.Tty || req.Privileged) return null;
        if (process.Env is { } env && env.Any(e => !e.Contains('=', StringComparison.Ordinal) || e.Contains('\0', StringComparison.Ordinal))) return null;
        if (process.Args.Any(a => a.Contains('\0', StringComparison.Ordinal))) return null;
        var u = process.User;
        return string.Create(CultureInfo.InvariantCulture,
            $"{u.Uid}:{u.Gid}:{string.Join(',', u.AdditionalGids ?? [])}:{process.Cwd}");
    }

    /// <summary>Runs the exec on a ready gate of its kind; null when there is none (the caller runs runc).</summary>
    private StartedExec? StartOnGate(ExecRequest req, SpecProcess process, string key)
    {
        Gate? gate = null;
        lock (_gateSync)
        {
            if (_gateKind != key) return null;
            if (_gatesReady.Count == 0 && _gatesPreparing > 0) _gatePool = GatePoolMax;
            var deadline = DateTime.UtcNow + GateWait;
            while (_gatesReady.Count == 0 && _gatesPreparing > 0 && _gateKind == key && !_gateOff && DateTime.UtcNow < deadline)
            {
                // Now someone needs it: back to the ordinary priority, again and again, as runc starts threads and
                // processes that inherit the lower one.
                foreach (var pid in _gateRuncs) BoostTree(pid, 0);
                Monitor.Wait(_gateSync, TimeSpan.FromMilliseconds(5));
            }
            if (_gatesReady.Count > 0 && _gateKind == key)
            {
                gate = _gatesReady[0];
                _gatesReady.RemoveAt(0);
                Monitor.PulseAll(_gateSync);
            }
        }
        if (gate is null) return null;

        // Prepared at a lower priority; what runs now is an ordinary process again, like runc's own exec.
        ShimSys.ScheduleNormally(gate.Pid);
        var request = GateRequest(req, process);
        if (request is null || !ShimSys.WriteFully(gate.Request, request))
        {
            // Too big for the gate, or the gate is gone (something in the container killed it): runc it is.
            DismissGate(gate);
            return null;
        }
        ShimSys.Close(gate.Request);
        var status = ShimSys.ReadToEnd(gate.Status, 64 * 1024) ?? [];
        ShimSys.Close(gate.Status);
        var (successor, ready, failure) = GateRecords(status);
        // The successor (the gate's clone, all runc's set-up included) is the next gate: no runc run for the next exec.
        if (successor > 0) AdoptSuccessor(key, successor, ready);
        if (failure is not null)
        {
            ShimSys.Close(gate.StdinW);
            ShimSys.Close(gate.StdoutR);
            ShimSys.Close(gate.StderrR);
            _reaper.Wait(gate.Pid);
            throw ExecFailed("exec failed: unable to start container process: " + failure);
        }
        // The status pipe closed on execve: the command runs, as the gate's pid.
        FileStream? stdin = null;
        if (req.Stdin) stdin = new FileStream(new SafeFileHandle(gate.StdinW, ownsHandle: true), FileAccess.Write, 0);
        else ShimSys.Close(gate.StdinW);
        var output = new FileStream(new SafeFileHandle(gate.StdoutR, ownsHandle: true), FileAccess.Read, 0);
        var errors = new FileStream(new SafeFileHandle(gate.StderrR, ownsHandle: true), FileAccess.Read, 0);
        return new StartedExec(gate.Pid, stdin, output, errors, -1);
    }

    /// <summary>Moves a process, its threads and its descendants back to the ordinary priority.</summary>
    private static void BoostTree(int pid, int depth)
    {
        if (depth > 4) return;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (!int.TryParse(Path.GetFileName(task), CultureInfo.InvariantCulture, out var tid)) continue;
                ShimSys.ScheduleNormally(tid);
                foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    if (int.TryParse(child, CultureInfo.InvariantCulture, out var c)) BoostTree(c, depth + 1);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone meanwhile.
        }
    }

    /// <summary>
    /// Takes a gate's successor on as a ready gate: finds its host pid among our children, opens our ends of its pipes
    /// through /proc (it keeps them at fds 10-14 until then) and tells it to go on. One that cannot be taken on goes.
    /// </summary>
    private void AdoptSuccessor(string key, int nsPid, bool ready)
    {
        int pid = ChildByNsPid(nsPid);
        if (pid <= 0) return; // not ours after all; it leaves by itself when no go-ahead comes
        var fds = new List<int>();
        try
        {
            if (!ready) throw new IOException("the successor did not set up its pipes");
            int[] modes = [ShimSys.O_WRONLY, ShimSys.O_RDONLY, ShimSys.O_RDONLY, ShimSys.O_WRONLY, ShimSys.O_RDONLY];
            for (int i = 0; i < modes.Length; i++)
            {
                int fd = ShimSys.Open($"/proc/{pid}/fd/{10 + i}", modes[i] | ShimSys.O_CLOEXEC, 0);
                if (fd < 0) throw new IOException($"cannot open fd {10 + i} of the exec gate {pid}");
                fds.Add(fd);
            }
            if (!ShimSys.WriteFully(fds[3], "G"u8)) throw new IOException("the exec gate went away");
        }
        catch (IOException)
        {
            foreach (var fd in fds) ShimSys.Close(fd);
            Sys.Kill(pid, 9);
            new Thread(() => _reaper.Wait(pid), ThreadStack) { IsBackground = true, Name = "gate-reap" }.Start();
            return;
        }
        var gate = new Gate { Key = key, Pid = pid, StdinW = fds[0], StdoutR = fds[1], StderrR = fds[2], Request = fds[3], Status = fds[4] };
        bool offered;
        lock (_gateSync)
        {
            // Execs at once each leave a successor: no more are kept than the pool holds.
            offered = !_gateOff && _gateKind == key && _gatesReady.Count < GatePoolMax;
            if (offered) _gatesReady.Add(gate);
            Monitor.PulseAll(_gateSync);
        }
        var t = offered ? new Thread(() => WatchGate(gate), ThreadStack) : new Thread(() => DismissGate(gate), ThreadStack);
        t.IsBackground = true;
        t.Name = "exec-gate";
        t.Start();
    }

    /// <summary>Our child whose pid in its own (innermost) pid namespace is <paramref name="nsPid"/>; 0 when none.</summary>
    private static int ChildByNsPid(int nsPid)
    {
        var want = nsPid.ToString(CultureInfo.InvariantCulture);
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{Environment.ProcessId}/task"))
            {
                foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    try
                    {
                        var line = File.ReadLines($"/proc/{child}/status").FirstOrDefault(l => l.StartsWith("NSpid:", StringComparison.Ordinal));
                        if (line?.Split('\t', StringSplitOptions.RemoveEmptyEntries)[^1] == want) return int.Parse(child, CultureInfo.InvariantCulture);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return 0;
    }

    /// <summary>The gate's request: header, then argv and the final environment as NUL-terminated strings.</summary>
    private static byte[]? GateRequest(ExecRequest req, SpecProcess process)
    {
        var env = process.Env ?? [];
        using var ms = new MemoryStream();
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, GateMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (req.Stdin ? GateFlagStdin : 0) | GateFlagSuccessor);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)process.Args.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)env.Count);
        ms.Write(header);
        foreach (var s in process.Args.Concat(env))
        {
            ms.Write(Encoding.UTF8.GetBytes(s));
            ms.WriteByte(0);
        }
        // The gate's buffer and pointer tables are bounded; bigger requests go through runc.
        return ms.Length < (1 << 20) - 1 && process.Args.Count + env.Count < 32_000 ? ms.ToArray() : null;
    }

    /// <summary>The gate's status records: its successor's pid (container pid namespace), whether the successor got
    /// its fds in place, and a failure in the words runc 1.1 uses for the same failure (null when the command runs).</summary>
    private static (int Successor, bool Ready, string? Failure) GateRecords(byte[] status)
    {
        int successor = 0, off = 0;
        bool ready = false;
        string? failure = null;
        while (off + 7 <= status.Length)
        {
            char what = (char)status[off];
            int value = BinaryPrimitives.ReadInt32LittleEndian(status.AsSpan(off + 1));
            int len = BinaryPrimitives.ReadUInt16LittleEndian(status.AsSpan(off + 5));
            if (off + 7 + len > status.Length) break;
            var name = Encoding.UTF8.GetString(status.AsSpan(off + 7, len));
            off += 7 + len;
            var text = ErrnoText(value);
            switch (what)
            {
                case 'S': successor = value; break;
                case 'R': ready = true; break;
                default:
                    failure = what switch
                    {
                        'N' => $"exec: \"{name}\": executable file not found in $PATH",
                        'T' => $"exec: \"{name}\": cannot run executable found relative to current directory",
                        'F' => $"exec: \"{name}\": stat {name}: {text}",
                        'P' or 'D' => $"exec: \"{name}\": permission denied",
                        'X' => $"exec {name}: {text}",
                        'O' => "cannot set up the process's stdin",
                        _ => name.Length > 0 ? name : "exec failed",
                    };
                    break;
            }
        }
        if (off != status.Length) failure ??= "exec failed: bad status from the exec gate";
        return (successor, ready, failure);
    }

    // Go's wording of an errno: the C library's, starting lower-case.
    private static string ErrnoText(int errno)
    {
        var t = Sys.ErrorText(errno);
        return t.Length > 0 ? char.ToLowerInvariant(t[0]) + t[1..] : $"errno {errno}";
    }

    /// <summary>Has gates of this kind prepared in the background, up to the pool size; gates of another kind go.</summary>
    private void PrepareGate(SpecProcess process, string key)
    {
        List<Gate> replaced = [];
        int start, generation;
        // A gate is a process in the container: under a pids limit it would take one of the container's own.
        if (!_o.ExecGates || PidsLimited()) return;
        lock (_gateSync)
        {
            if (_gateOff) return;
            if (_gateKind != key)
            {
                replaced.AddRange(_gatesReady);
                _gatesReady.Clear();
                _gateKind = key;
                _gateGeneration++;
                _gatesPreparing = 0;
                _gatePool = 1;
                Monitor.PulseAll(_gateSync);
            }
            start = Math.Max(0, _gatePool - _gatesReady.Count - _gatesPreparing);
            _gatesPreparing += start;
            generation = _gateGeneration;
        }
        if (replaced.Count > 0)
            new Thread(() => replaced.ForEach(DismissGate), ThreadStack) { IsBackground = true, Name = "gate-reap" }.Start();
        for (int i = 0; i < start; i++)
            new Thread(() => KeepGate(process, key, generation), ThreadStack) { IsBackground = true, Name = "exec-gate" }.Start();
    }

    /// <summary>True when the container's pids cgroup (v1, or v2 where mounted) has a limit, now (docker update may set one).</summary>
    private bool PidsLimited()
    {
        var cg = _cgroupsPath;
        if (string.IsNullOrEmpty(cg) || cg.Contains(':')) return false;
        cg = cg.TrimStart('/');
        foreach (var file in new[] { Path.Combine("/sys/fs/cgroup/pids", cg, "pids.max"), Path.Combine("/sys/fs/cgroup", cg, "pids.max"), Path.Combine("/sys/fs/cgroup/unified", cg, "pids.max") })
        {
            try
            {
                var v = File.ReadAllText(file).Trim();
                if (v != "max") return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return false;
    }

    // Runs on the gate's own thread: starts it, offers it until an exec takes it or it idles out.
    private void KeepGate(SpecProcess process, string key, int generation)
    {
        Gate? gate = null;
        // Work done ahead of need yields to the work needed now (the execs and clients running meanwhile): this thread,
        // and the runc it starts, run at a lower priority, until an exec waits for them (BoostTree).
        ShimSys.NiceThisThread(GateNice);
        try
        {
            gate = LaunchGate(process, key);
        }
        catch (Exception e) when (e is BerthException or IOException or FormatException or UnauthorizedAccessException)
        {
            // No gates for this container (no gate program, a container without /proc, ...): execs run runc.
            lock (_gateSync) _gateOff = true;
        }
        bool offered;
        lock (_gateSync)
        {
            bool current = generation == _gateGeneration;
            if (current) _gatesPreparing--;
            offered = gate is not null && current && !_gateOff;
            if (offered) _gatesReady.Add(gate!);
            Monitor.PulseAll(_gateSync);
        }
        if (gate is null) return;
        if (!offered)
        {
            DismissGate(gate);
            return;
        }
        WatchGate(gate);
    }

    // Offers a ready gate until an exec takes it; after GateIdle unused it goes.
    private void WatchGate(Gate gate)
    {
        bool idle;
        lock (_gateSync)
        {
            var until = DateTime.UtcNow + GateIdle;
            while (_gatesReady.Contains(gate) && DateTime.UtcNow < until) Monitor.Wait(_gateSync, until - DateTime.UtcNow);
            idle = _gatesReady.Remove(gate);
            if (idle && _gatesReady.Count == 0) _gatePool = 1;
        }
        if (idle) DismissGate(gate);
    }

    private Gate LaunchGate(SpecProcess process, string key)
    {
        int exe;
        lock (_gateSync)
        {
            if (_gateExe < 0)
            {
                var dir = Path.GetDirectoryName(Environment.ProcessPath) ?? AppContext.BaseDirectory;
                _gateExe = ShimSys.MemFile(GateProgram, File.ReadAllBytes(Path.Combine(dir, GateProgram)), seal: true);
            }
            exe = _gateExe;
        }
        // Without HOME runc puts the user's home directory into the gate's environment, where the gate finds it.
        var spec = process with
        {
            Args = ["/proc/self/fd/5", GateProgram],
            Env = (process.Env ?? []).Where(e => !e.StartsWith("HOME=", StringComparison.Ordinal)).ToList(),
            Terminal = false,
            ConsoleSize = null,
        };
        int n = Interlocked.Increment(ref _gateCalls);
        var pidFile = Path.Combine(_o.StateDir, $"gate-{n}.pid");
        var runcLog = Path.Combine(_o.StateDir, $"gate-{n}.log");
        int procFd = -1, inR = -1, inW = -1, outR = -1, outW = -1, errR = -1, errW = -1, reqR = -1, reqW = -1, stR = -1, stW = -1, devNull = -1;
        bool ok = false;
        try
        {
            procFd = ShimSys.MemFile("process.json", SpecBuilder.SerializeProcess(spec), seal: false);
            (inR, inW) = ShimSys.Pipe();
            (outR, outW) = ShimSys.Pipe();
            (errR, errW) = ShimSys.Pipe();
            (reqR, reqW) = ShimSys.Pipe();
            (stR, stW) = ShimSys.Pipe();
            devNull = ShimSys.Open("/dev/null", ShimSys.O_RDONLY | ShimSys.O_CLOEXEC, 0);
            Sys.CheckIo(devNull, "open /dev/null");
            // Child fds: 0-2 stdio, 3 request, 4 status, 5 the gate program, 6 /dev/null (these four kept by
            // --preserve-fds), 7 the spec.
            int runcPid = ShimSys.Spawn(_o.Runc,
                [_o.Runc, "--root", _o.RuncRoot, "--log", runcLog, "--log-format", "json", "exec", "--detach",
                    "--preserve-fds", "4", "--process", "/proc/self/fd/7", "--pid-file", pidFile, _o.Id],
                [inR, outW, errW, reqR, stW, exe, devNull, procFd]);
            _reaper.ChildAdded();
            lock (_gateSync) _gateRuncs.Add(runcPid);
            CloseAll(ref inR, ref outW, ref errW, ref reqR, ref stW, ref procFd);
            ShimSys.Close(devNull);
            devNull = -1;
            int status = _reaper.Wait(runcPid);
            lock (_gateSync) _gateRuncs.Remove(runcPid);
            int code = Reaper.ExitCode(status);
            if (code != 0)
                throw new BerthException(ErrorKind.Unknown, RuncDriver.LastJsonLogError(runcLog) ?? $"runc exec exited with status {code}");
            int pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
            ok = true;
            return new Gate { Key = key, Pid = pid, Request = reqW, Status = stR, StdinW = inW, StdoutR = outR, StderrR = errR };
        }
        finally
        {
            CloseAll(ref inR, ref outW, ref errW, ref reqR, ref stW, ref procFd);
            if (devNull >= 0) ShimSys.Close(devNull);
            if (!ok)
            {
                int dummy = -1;
                CloseAll(ref inW, ref outR, ref errR, ref reqW, ref stR, ref dummy);
            }
            foreach (var f in new[] { pidFile, runcLog })
                try { File.Delete(f); } catch (IOException) { }
        }
    }

    private static void CloseAll(ref int a, ref int b, ref int c, ref int d, ref int e, ref int f)
    {
        foreach (var fd in new[] { a, b, c, d, e, f })
            if (fd >= 0) ShimSys.Close(fd);
        a = b = c = d = e = f = -1;
    }

    /// <summary>Sends a gate away (end of file on its request pipe ends it) and reaps it; blocks until it is gone.</summary>
    private void DismissGate(Gate gate)
    {
        ShimSys.Close(gate.Request);
        ShimSys.Close(gate.Status);
        ShimSys.Close(gate.StdinW);
        ShimSys.Close(gate.StdoutR);
        ShimSys.Close(gate.StderrR);
        _reaper.Wait(gate.Pid);
    }

    /// <summary>The container exited: no more gates; waiting ones go too (their pid namespace took them already).</summary>
    private void StopGates() => DismissReadyGates(off: true);

    /// <summary>Sends the ready gates away (and with <paramref name="off"/>, prepares no more: the container is going).</summary>
    private void DismissReadyGates(bool off = false)
    {
        List<Gate> gates;
        lock (_gateSync)
        {
            if (off) _gateOff = true;
            gates = [.. _gatesReady];
            _gatesReady.Clear();
            _gateGeneration++;
            Monitor.PulseAll(_gateSync);
        }
        if (gates.Count == 0) return;
        // A container sharing the host's pid namespace does not take its processes along.
        foreach (var g in gates) Sys.Kill(g.Pid, 9);
        new Thread(() => gates.ForEach(DismissGate), ThreadStack) { IsBackground = true, Name = "gate-reap" }.Start();
    }
}
