using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Berth.Core;
using Berth.Runtime.Logs;
using Berth.Runtime.Runc;
using Berth.Runtime.Shim;
using Berth.Runtime.Spec;
using Microsoft.Win32.SafeHandles;

namespace Berth.Shim;

internal enum ContainerState { Created, Running, Paused, Stopped }

/// <summary>
/// One container's keeper: creates it with runc, pumps its stdout/stderr into the json-file log and to attached
/// clients, reaps its init, records the exit status and serves the daemon's requests on a UNIX socket.
/// </summary>
internal sealed partial class ShimServer
{
    // After the container exits the shim waits this long for the daemon's delete (or late waiters) before leaving.
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(10);
    private const int ThreadStack = 256 * 1024;
    private const int PumpBuffer = 8 * 1024;

    private readonly ShimOptions _o;
    private readonly Reaper _reaper = new();

    // Reset while `runc start` runs; OnExit waits for it before `runc delete` takes runc's state away.
    private readonly ManualResetEventSlim _startIdle = new(true);
    private readonly RuncDriver _runc;
    private JsonFileLogWriter? _log;

    // Guards _state, _exit and _clients (the array itself is swapped, never mutated: pumps iterate a snapshot).
    private readonly Lock _lock = new();
    private ContainerState _state = ContainerState.Created;
    private ExitStatus? _exit;
    private Client[] _clients = [];

    // Set once the exit is recorded and announced (waiters answer then); _exited follows after runc's own clean-up.
    private readonly ManualResetEventSlim _recorded = new(false);
    private readonly ManualResetEventSlim _exited = new(false);
    private readonly ManualResetEventSlim _deleteRequested = new(false);
    private int _inflight;
    private int _runcCalls;
    private int _initPid;

    // Guards writes to and the closing of the container's stdin.
    private readonly Lock _stdinLock = new();
    private FileStream? _stdin;

    private Socket? _listener;
    private string? _cgroupsPath;

    // The container's pty master when it has a terminal (-1 otherwise); resize requests apply to it.
    private int _ptyFd = -1;
    private const string ConsoleSocketName = "console.sock";
    private readonly List<Thread> _pumps = [];

    public ShimServer(ShimOptions o)
    {
        _o = o;
        _runc = new RuncDriver(o.Runc, o.RuncRoot, RunRunc);
    }

    private sealed class Client(Socket socket, byte flags)
    {
        public readonly NetworkStream Stream = new(socket, ownsSocket: true);
        public readonly Socket Socket = socket;
        public readonly byte Flags = flags;

        // Guards Stream writes: pumps, the exit broadcast and the handler all send on it.
        public readonly Lock SendLock = new();
        public bool Dead;

        public void Send(byte type, ReadOnlySpan<byte> payload)
        {
            lock (SendLock)
            {
                if (Dead) return;
                try
                {
                    ShimProtocol.Write(Stream, type, payload);
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                    Dead = true;
                }
            }
        }
    }

    public int Run()
    {
        try
        {
            Directory.CreateDirectory(_o.StateDir);
            // Relative socket names (runc's console socket) stay short however deep the state dir is.
            Directory.SetCurrentDirectory(_o.StateDir);
            File.WriteAllText(Path.Combine(_o.StateDir, "shim.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            if (_o.LogPath is not null) _log = new JsonFileLogWriter(_o.LogPath, _o.LogMaxSize, _o.LogMaxFiles);
            Create();
            Listen();
        }
        catch (Exception e)
        {
            // Created but unservable: take the container down rather than leave it without a keeper.
            if (_initPid > 0)
            {
                try { _runc.DeleteAsync(_o.Id, force: true).GetAwaiter().GetResult(); } catch (BerthException) { }
            }
            var be = e as BerthException ?? new BerthException(ErrorKind.Unknown, e.Message);
            Program.Report("error " + Encoding.UTF8.GetString(ShimProtocol.EncodeError(be)));
            return 1;
        }

        Program.Report($"ok {_initPid}");
        DetachStdio();

        int status = _reaper.Wait(_initPid);
        OnExit(status);

        _deleteRequested.Wait(Linger);
        // Let handlers that are answering (wait, delete) finish their reply; bounded.
        for (int i = 0; i < 100 && Volatile.Read(ref _inflight) > 0; i++) Thread.Sleep(20);
        try { _listener?.Dispose(); } catch (SocketException) { }
        try { File.Delete(_o.Socket); } catch (IOException) { }
        return 0;
    }

    private void Create()
    {
        _cgroupsPath = _o.CgroupsPath;
        bool tty = _o.Terminal;

        var (outR, outW) = ShimSys.Pipe();
        var (errR, errW) = ShimSys.Pipe();
        int inR, inW = -1;
        if (_o.Stdin && !tty) (inR, inW) = ShimSys.Pipe();
        else inR = ShimSys.Open("/dev/null", ShimSys.O_RDONLY | ShimSys.O_CLOEXEC, 0);

        var pidFile = Path.Combine(_o.StateDir, "init.pid");
        var runcLog = Path.Combine(_o.StateDir, "runc.log");
        try { File.Delete(runcLog); } catch (IOException) { }
        var args = new List<string>
        {
            _o.Runc, "--root", _o.RuncRoot, "--log", runcLog, "--log-format", "json",
            "create", "--bundle", _o.Bundle, "--pid-file", pidFile,
        };
        using var console = tty ? ConsoleSocket.Listen(ConsoleSocketName) : null;
        if (console is not null) args.AddRange(["--console-socket", RuncPath(ConsoleSocketName, _o.Bundle)]);
        args.Add(_o.Id);

        int runcPid;
        try
        {
            // Without a terminal runc runs in "pass-through" mode: the container's init inherits these fds as stdio.
            runcPid = ShimSys.Spawn(_o.Runc, args, inR, outW, errW);
            _reaper.ChildAdded();
        }
        finally
        {
            ShimSys.Close(outW);
            ShimSys.Close(errW);
            ShimSys.Close(inR);
        }
        var stdout = new FileStream(new SafeFileHandle(outR, ownsHandle: true), FileAccess.Read, 0);
        var stderr = new FileStream(new SafeFileHandle(errR, ownsHandle: true), FileAccess.Read, 0);
        if (inW >= 0) _stdin = new FileStream(new SafeFileHandle(inW, ownsHandle: true), FileAccess.Write, 0);
        var master = console?.BeginReceive();

        int code = Reaper.ExitCode(_reaper.Wait(runcPid));
        if (code != 0)
        {
            // What runc printed went to the (would-be) container's stderr; its json log has the clean message.
            var msg = RuncDriver.LastJsonLogError(runcLog);
            try { _runc.DeleteAsync(_o.Id, force: true).GetAwaiter().GetResult(); } catch (BerthException) { }
            if (string.IsNullOrEmpty(msg))
            {
                var readErr = Task.Run(() => { using var r = new StreamReader(stderr); return r.ReadToEnd(); });
                msg = readErr.Wait(TimeSpan.FromSeconds(2)) ? RuncDriver.CleanError(readErr.Result) : "";
                if (msg.Length == 0) msg = $"runc create exited with status {code}";
            }
            var kind = msg.Contains("executable file not found", StringComparison.Ordinal) || msg.Contains("no such file or directory", StringComparison.Ordinal)
                || msg.Contains("permission denied", StringComparison.Ordinal)
                ? ErrorKind.InvalidArgument : ErrorKind.Unknown;
            throw new BerthException(kind, msg);
        }
        _initPid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);

        // Pumps start now: the container cannot write before runc start, so nothing is lost.
        if (master is not null)
        {
            // runc sent the pty master before it exited; everything the container writes arrives on it as stdout.
            _ptyFd = master.Wait(TimeSpan.FromSeconds(10)) ? master.Result
                : throw new BerthException(ErrorKind.Unknown, "runc did not hand over the container's terminal");
            if (_o.Stdin) _stdin = new FileStream(new SafeFileHandle(ShimSys.Dup(_ptyFd), ownsHandle: true), FileAccess.Write, 0);
            StartPump(1, new FileStream(new SafeFileHandle(_ptyFd, ownsHandle: true), FileAccess.Read, 0));
            StartDrain(stdout);
            StartDrain(stderr);
        }
        else
        {
            StartPump(1, stdout);
            StartPump(2, stderr);
        }
    }

    /// <summary>
    /// A path runc can dial for a socket in our state dir: runc create works from the bundle directory, and
    /// sun_path allows 107 bytes, so the shorter of the absolute and the bundle-relative path.
    /// </summary>
    private string RuncPath(string nameInStateDir, string runcCwd)
    {
        var full = Path.Combine(_o.StateDir, nameInStateDir);
        var relative = Path.GetRelativePath(runcCwd, full);
        return relative.Length < full.Length ? relative : full;
    }

    private static void StartDrain(FileStream source)
    {
        var t = new Thread(() =>
        {
            var buf = new byte[512];
            try { while (source.Read(buf) > 0) { } }
            catch (IOException) { }
            finally { source.Dispose(); }
        }, ThreadStack) { IsBackground = true, Name = "drain" };
        t.Start();
    }

    private void StartPump(int stream, FileStream source)
    {
        var t = new Thread(() => Pump(stream, source), ThreadStack) { IsBackground = true, Name = $"pump{stream}" };
        _pumps.Add(t);
        t.Start();
    }

    private void Pump(int stream, FileStream source)
    {
        var buf = new byte[PumpBuffer];
        byte type = stream == 2 ? ShimProtocol.Stderr : ShimProtocol.Stdout;
        byte flag = stream == 2 ? ShimProtocol.AttachStderr : ShimProtocol.AttachStdout;
        try
        {
            // Ends at EOF: every writer (the container's processes) has closed the pipe.
            while (true)
            {
                int n;
                try { n = source.Read(buf); }
                catch (IOException) { break; }
                if (n <= 0) break;
                var data = buf.AsSpan(0, n);
                try { _log?.Write(stream, data, DateTime.UtcNow); }
                catch (IOException) { /* a full disk must not stall the container; the output still reaches clients */ }
                Client[] clients;
                lock (_lock) clients = _clients;
                foreach (var c in clients)
                    if ((c.Flags & flag) != 0) c.Send(type, data);
            }
            try { _log?.Complete(stream, DateTime.UtcNow); } catch (IOException) { }
        }
        finally
        {
            source.Dispose();
        }
    }

    private void Listen()
    {
        try { File.Delete(_o.Socket); } catch (IOException) { }
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Bind(new UnixDomainSocketEndPoint(_o.Socket));
        s.Listen(32);
        _listener = s;
        var t = new Thread(AcceptLoop, ThreadStack) { IsBackground = true, Name = "accept" };
        t.Start();
    }

    private void AcceptLoop()
    {
        // Ends when the listener is disposed at shim exit.
        while (true)
        {
            Socket conn;
            try { conn = _listener!.Accept(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            var t = new Thread(() => Handle(conn), ThreadStack) { IsBackground = true, Name = "conn" };
            t.Start();
        }
    }

    private static void DetachStdio()
    {
        int devnull = ShimSys.Open("/dev/null", ShimSys.O_RDWR, 0);
        if (devnull < 0) return;
        ShimSys.Dup2(devnull, 0);
        ShimSys.Dup2(devnull, 1);
        ShimSys.Dup2(devnull, 2);
        if (devnull > 2) ShimSys.Close(devnull);
    }

    private void Handle(Socket conn)
    {
        Interlocked.Increment(ref _inflight);
        NetworkStream? ns = null;
        try
        {
            ns = new NetworkStream(conn, ownsSocket: true);
            var frame = ShimProtocol.Read(ns);
            if (frame is not { } f) return;
            if (f.Type == ShimProtocol.Attach)
            {
                // The attach stream owns the connection from here on.
                ns = null;
                Attach(conn, f.Payload.Length > 0 ? f.Payload[0] : (byte)0);
                return;
            }
            if (f.Type == ShimProtocol.Exec)
            {
                ns = null;
                Exec(conn, f.Payload);
                return;
            }
            byte[] reply;
            try
            {
                reply = f.Type switch
                {
                    ShimProtocol.Start => DoStart(),
                    ShimProtocol.Kill => DoKill(f.Payload),
                    ShimProtocol.Wait => DoWait(),
                    ShimProtocol.State => StateInfo().ToJson(),
                    ShimProtocol.Delete => DoDelete(),
                    ShimProtocol.Resize => DoResize(_ptyFd, f.Payload),
                    ShimProtocol.Pause => DoPause(),
                    ShimProtocol.Resume => DoResume(),
                    ShimProtocol.Update => DoUpdate(f.Payload),
                    ShimProtocol.RuncStatus => DoRuncStatus(),
                    _ => throw BerthException.Invalid($"unknown shim request '{(char)f.Type}'"),
                };
            }
            catch (Exception e) when (e is not (IOException or SocketException))
            {
                // Whatever goes wrong in one request is that request's answer; the shim must stay up for the container.
                var be = e as BerthException ?? new BerthException(ErrorKind.Unknown, e.Message);
                ShimProtocol.Write(ns, ShimProtocol.Error, ShimProtocol.EncodeError(be));
                return;
            }
            ShimProtocol.Write(ns, ShimProtocol.Ok, reply);
            if (f.Type == ShimProtocol.Start)
            {
                // From here the shim mostly sleeps for the container's life: once the reply is out and the client
                // has moved on, give back the start-up garbage, so each running container costs as little as can be.
                ns.Dispose();
                ns = null;
                Thread.Sleep(200);
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or EndOfStreamException)
        {
            // The client went away; nothing to answer.
        }
        finally
        {
            ns?.Dispose();
            Interlocked.Decrement(ref _inflight);
        }
    }

    private ShimStateInfo StateInfo()
    {
        lock (_lock)
        {
            return new ShimStateInfo
            {
                Id = _o.Id,
                Pid = _initPid,
                ShimPid = Environment.ProcessId,
                Status = _state switch { ContainerState.Created => "created", ContainerState.Running => "running", ContainerState.Paused => "paused", _ => "stopped" },
                StateDir = _o.StateDir,
                Exit = _exit,
            };
        }
    }

    private byte[] DoStart()
    {
        lock (_lock)
        {
            if (_state != ContainerState.Created)
                throw BerthException.Conflict($"cannot start container {_o.Id} in state {StateName(_state)}");
        }
        _startIdle.Reset();
        try
        {
            _runc.StartAsync(_o.Id).GetAwaiter().GetResult();
        }
        catch (BerthException) when (Volatile.Read(ref _exit) is not null)
        {
            // The process ran and is already gone (a `true` that exits at once): runc start can trip over its own
            // state going away. Started is what happened; the exit is recorded and announced as usual.
        }
        finally
        {
            _startIdle.Set();
        }
        lock (_lock)
        {
            if (_state == ContainerState.Created) _state = ContainerState.Running;
        }
        return [];
    }

    private byte[] DoKill(byte[] payload)
    {
        if (payload.Length < 5) throw BerthException.Invalid("kill: bad request");
        int signal = BinaryPrimitives.ReadInt32BigEndian(payload);
        bool all = payload[4] != 0;
        lock (_lock)
        {
            if (_state == ContainerState.Stopped) throw BerthException.Conflict($"container {_o.Id} is not running");
        }
        _runc.KillAsync(_o.Id, signal, all).GetAwaiter().GetResult();
        return [];
    }

    private byte[] DoWait()
    {
        _recorded.Wait();
        lock (_lock) return _exit!.ToJson();
    }

    private byte[] DoDelete()
    {
        ContainerState state;
        lock (_lock) state = _state;
        if (state is ContainerState.Running or ContainerState.Paused)
            throw BerthException.Conflict($"cannot delete container {_o.Id} in state {StateName(state)}: stop it first");
        if (state == ContainerState.Created)
        {
            // Never started: runc kills the waiting init; the exit path below records it as usual.
            try { _runc.DeleteAsync(_o.Id, force: true).GetAwaiter().GetResult(); }
            catch (BerthException) { }
        }
        _exited.Wait(TimeSpan.FromSeconds(10));
        _deleteRequested.Set();
        return [];
    }

    private void Attach(Socket conn, byte flags)
    {
        // A client that stops reading must not stall the container forever: its sends time out and it is dropped.
        conn.SendTimeout = 60_000;
        var client = new Client(conn, flags);
        bool exitedAlready;
        lock (client.SendLock)
        {
            // Registered before the Ok goes out, and pumps wait on SendLock: the client sees everything after Ok.
            lock (_lock)
            {
                exitedAlready = _exit is not null;
                if (!exitedAlready) _clients = [.. _clients, client];
            }
            try { ShimProtocol.Write(client.Stream, ShimProtocol.Ok, []); }
            catch (Exception e) when (e is IOException or SocketException) { client.Dead = true; }
        }
        if (exitedAlready)
        {
            ExitStatus exit;
            lock (_lock) exit = _exit!;
            client.Send(ShimProtocol.Exit, exit.ToJson());
            client.Stream.Dispose();
            return;
        }

        bool wantsStdin = (flags & ShimProtocol.AttachStdin) != 0;
        try
        {
            // Ends when the client hangs up or the exit broadcast shuts the socket down.
            while (ShimProtocol.Read(client.Stream) is { } f)
            {
                if (f.Type == ShimProtocol.Stdin && wantsStdin) WriteStdin(f.Payload);
                else if (f.Type == ShimProtocol.CloseStdin && wantsStdin && (_o.StdinOnce || f.Payload is [1, ..])) CloseStdin();
                else if (f.Type == ShimProtocol.Resize) TryResize(_ptyFd, f.Payload);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or EndOfStreamException or BerthException)
        {
        }
        finally
        {
            lock (_lock) _clients = [.. _clients.Where(c => c != client)];
            // Docker's stdin_once: the first attached stdin going away closes the container's stdin. Not a terminal's:
            // a client that detaches (or drops) leaves the shell running, as dockerd does.
            if (wantsStdin && _o.StdinOnce && !_o.Terminal) CloseStdin();
            lock (client.SendLock) client.Dead = true;
            client.Stream.Dispose();
        }
    }

    private void WriteStdin(byte[] data)
    {
        lock (_stdinLock)
        {
            if (_stdin is null) return;
            try
            {
                _stdin.Write(data);
            }
            catch (IOException)
            {
                // The container closed its stdin (EPIPE); later writes are dropped too.
                _stdin.Dispose();
                _stdin = null;
            }
        }
    }

    private void CloseStdin()
    {
        lock (_stdinLock)
        {
            // A terminal has no end-of-file of its own: send the EOF character (^D) as a user would.
            if (_ptyFd >= 0 && _stdin is not null)
            {
                try { _stdin.Write([4]); } catch (IOException) { }
            }
            try { _stdin?.Dispose(); } catch (IOException) { }
            _stdin = null;
        }
    }

    private void OnExit(int status)
    {
        var finished = DateTimeOffset.UtcNow;
        StopGates();
        // Drain what the container wrote before dying; bounded in case something outside its pid namespace holds a pipe.
        foreach (var t in _pumps) t.Join(TimeSpan.FromSeconds(5));
        CloseStdin();
        bool oom = OomKilled();

        var exit = new ExitStatus { ExitCode = Reaper.ExitCode(status), FinishedAt = finished, OomKilled = oom, Pid = _initPid };
        try { exit.Write(_o.StateDir); } catch (IOException) { }
        try { _log?.Dispose(); } catch (IOException) { }

        Client[] clients;
        lock (_lock)
        {
            _exit = exit;
            _state = ContainerState.Stopped;
            clients = _clients;
        }
        _recorded.Set();
        var payload = exit.ToJson();
        foreach (var c in clients)
        {
            c.Send(ShimProtocol.Exit, payload);
            try { c.Socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
        // runc's state and cgroup go after the exit is announced: the process is gone, and this is off the path of
        // `docker run --rm` finishing. delete waits for it (_exited) before the shim goes away. Not while runc start
        // still runs: it removes its exec.fifo from that state after the process began, and would fail.
        _startIdle.Wait(TimeSpan.FromSeconds(30));
        try { _runc.DeleteAsync(_o.Id, force: true).GetAwaiter().GetResult(); }
        catch (BerthException) { /* already gone */ }
        _exited.Set();
    }

    // The kernel counts OOM kills per memory cgroup (v1 memory.oom_control, v2 memory.events).
    private bool OomKilled()
    {
        var cg = _cgroupsPath;
        if (string.IsNullOrEmpty(cg) || cg.Contains(':')) return false;
        cg = cg.TrimStart('/');
        foreach (var (file, key) in new[]
                 {
                     (Path.Combine("/sys/fs/cgroup/memory", cg, "memory.oom_control"), "oom_kill "),
                     (Path.Combine("/sys/fs/cgroup", cg, "memory.events"), "oom_kill "),
                     (Path.Combine("/sys/fs/cgroup/unified", cg, "memory.events"), "oom_kill "),
                 })
        {
            try
            {
                foreach (var line in File.ReadLines(file))
                    if (line.StartsWith(key, StringComparison.Ordinal) && long.TryParse(line.AsSpan(key.Length), out var n) && n > 0)
                        return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return false;
    }

    internal static byte[] DoResize(int ptyFd, byte[] payload)
    {
        if (ptyFd < 0) throw BerthException.Conflict("the container has no terminal to resize");
        if (payload.Length < 4) throw BerthException.Invalid("resize: bad request");
        ShimSys.Resize(ptyFd, BinaryPrimitives.ReadUInt16BigEndian(payload), BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(2)));
        return [];
    }

    private static void TryResize(int ptyFd, byte[] payload)
    {
        try { DoResize(ptyFd, payload); } catch (BerthException) { }
    }

    private static string StateName(ContainerState s) => s switch
    {
        ContainerState.Created => "created",
        ContainerState.Running => "running",
        ContainerState.Paused => "paused",
        _ => "exited",
    };

    // runc commands run through our own spawn + reaper (.NET's Process would race the reaper for the same children),
    // synchronously on the caller's thread: the shim has no thread pool to spare. stderr goes to a file of its own so
    // that reading stdout to its end can never block on a full stderr pipe.
    private Task<RuncResult> RunRunc(string runc, IReadOnlyList<string> args, CancellationToken ct) =>
        Task.FromResult(RunRuncWithInput(runc, args, null));

    /// <summary>Runs runc with <paramref name="input"/> (small: it must fit the pipe's buffer) on its stdin.</summary>
    private RuncResult RunRuncWithInput(string runc, IReadOnlyList<string> args, byte[]? input)
    {
        var (outR, outW) = ShimSys.Pipe();
        var errPath = Path.Combine(_o.StateDir, $"runc-{Interlocked.Increment(ref _runcCalls)}.err");
        int errFd = ShimSys.Open(errPath, ShimSys.O_RDWR | ShimSys.O_CREAT | ShimSys.O_TRUNC | ShimSys.O_CLOEXEC, 0x180);
        int devnull;
        if (input is null)
        {
            devnull = ShimSys.Open("/dev/null", ShimSys.O_RDONLY | ShimSys.O_CLOEXEC, 0);
        }
        else
        {
            var (inR, inW) = ShimSys.Pipe();
            try { ShimSys.WriteAll(inW, input); }
            finally { ShimSys.Close(inW); }
            devnull = inR;
        }
        try
        {
            if (errFd < 0 || devnull < 0) throw new BerthException(ErrorKind.Unknown, $"cannot run runc: cannot open {errPath} or /dev/null");
            int pid;
            try
            {
                pid = ShimSys.Spawn(runc, [runc, .. args], devnull, outW, errFd);
                _reaper.ChildAdded();
            }
            finally
            {
                ShimSys.Close(outW);
                outW = -1;
            }
            string stdout;
            using (var fs = new FileStream(new SafeFileHandle(outR, ownsHandle: true), FileAccess.Read, 0))
            {
                outR = -1;
                using var r = new StreamReader(fs);
                stdout = r.ReadToEnd();
            }
            int code = Reaper.ExitCode(_reaper.Wait(pid));
            return new RuncResult(code, stdout, File.ReadAllText(errPath));
        }
        finally
        {
            if (outR >= 0) ShimSys.Close(outR);
            if (outW >= 0) ShimSys.Close(outW);
            if (errFd >= 0) ShimSys.Close(errFd);
            if (devnull >= 0) ShimSys.Close(devnull);
            try { File.Delete(errPath); } catch (IOException) { }
        }
    }
}
