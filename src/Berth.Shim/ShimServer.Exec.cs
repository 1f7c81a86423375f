using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using Berth.Core;
using Berth.Runtime.Runc;
using Berth.Runtime.Shim;
using Berth.Runtime.Spec;
using Microsoft.Win32.SafeHandles;

namespace Berth.Shim;

internal sealed partial class ShimServer
{
    /// <summary>
    /// One exec session on its own connection: <c>runc exec --detach</c> with pipes (or a pty) the session owns; the
    /// process is then reaped here like the container's init. Exec output goes to this client only, not to the log.
    /// </summary>
    private void Exec(Socket conn, byte[] payload)
    {
        var client = new Client(conn, (byte)(ShimProtocol.AttachStdout | ShimProtocol.AttachStderr));
        ConsoleSocket? console = null;
        try
        {
            var pumps = new List<Thread>();
            try
            {
                var req = ExecRequest.FromJson(payload);
                if (req.ExecId.Length is 0 or > 128 || !req.ExecId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                    throw BerthException.Invalid($"invalid exec id \"{req.ExecId}\"");
                if (req.Args.Count == 0) throw BerthException.Invalid("no command specified for exec");
                lock (_lock)
                {
                    if (_state != ContainerState.Running) throw BerthException.Conflict($"container {_o.Id} is not running");
                }
                var process = ExecProcess(req);
                var gateKey = GateKey(req, process);
                // A warm gate (see ShimServer.Gate.cs) leaves only an execve to do; otherwise runc exec from scratch.
                var started = (gateKey is not null ? StartOnGate(req, process, gateKey) : null)
                    ?? StartWithRunc(req, process, out console);
                lock (client.SendLock)
                {
                    var pidBytes = new byte[4];
                    BinaryPrimitives.WriteInt32BigEndian(pidBytes, started.Pid);
                    ShimProtocol.Write(client.Stream, ShimProtocol.Ok, pidBytes);
                }
                // The next exec of the same kind finds a gate ready, prepared while this one runs.
                if (gateKey is not null) PrepareGate(process, gateKey);
                if (req.Stdout) pumps.Add(StartExecPump(client, ShimProtocol.Stdout, started.Out)); else DrainAndDispose(started.Out);
                if (req.Stderr && started.PtyFd < 0) pumps.Add(StartExecPump(client, ShimProtocol.Stderr, started.Err)); else DrainAndDispose(started.Err);
                var stdin = started.Stdin;
                int pty = started.PtyFd;
                var stdinThread = new Thread(() => ExecStdin(client, stdin, pty), ThreadStack) { IsBackground = true, Name = "exec-stdin" };
                stdinThread.Start();

                int status = _reaper.Wait(started.Pid);
                var finished = DateTimeOffset.UtcNow;
                foreach (var t in pumps) t.Join(TimeSpan.FromSeconds(5));
                client.Send(ShimProtocol.Exit, new ExitStatus { ExitCode = Reaper.ExitCode(status), FinishedAt = finished, Pid = started.Pid }.ToJson());
                try { conn.Shutdown(SocketShutdown.Both); } catch (SocketException) { }
                stdinThread.Join(TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is not (IOException or SocketException))
            {
                var be = e as BerthException ?? new BerthException(ErrorKind.Unknown, e.Message);
                client.Send(ShimProtocol.Error, ShimProtocol.EncodeError(be));
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The client went away; the exec'd process runs on until it ends by itself.
        }
        finally
        {
            lock (client.SendLock) client.Dead = true;
            client.Stream.Dispose();
            console?.Dispose();
        }
    }

    /// <summary>An exec'd process that runs: its host pid and the shim's ends of its stdio.</summary>
    private sealed record StartedExec(int Pid, FileStream? Stdin, FileStream Out, FileStream Err, int PtyFd);

    /// <summary>
    /// <c>runc exec --detach</c> with pipes (or a pty) the session owns; the process is then reaped here like the
    /// container's init. The process spec reaches runc through an in-memory file, never the disk.
    /// </summary>
    private StartedExec StartWithRunc(ExecRequest req, SpecProcess process, out ConsoleSocket? console)
    {
        var pidFile = Path.Combine(_o.StateDir, $"exec-{req.ExecId}.pid");
        var runcLog = Path.Combine(_o.StateDir, $"exec-{req.ExecId}.log");
        console = null;
        try
        {
            int procFd = ShimSys.MemFile("process.json", SpecBuilder.SerializeProcess(process), seal: false);
            var (outR, outW) = ShimSys.Pipe();
            var (errR, errW) = ShimSys.Pipe();
            int inR, inW = -1;
            if (req.Stdin && !req.Tty) (inR, inW) = ShimSys.Pipe();
            else inR = ShimSys.Open("/dev/null", ShimSys.O_RDONLY | ShimSys.O_CLOEXEC, 0);
            console = req.Tty ? ConsoleSocket.Listen($"exec-{req.ExecId[..Math.Min(req.ExecId.Length, 64)]}.sock") : null;
            List<string> runcArgs = [_o.Runc, "--root", _o.RuncRoot, "--log", runcLog, "--log-format", "json", "exec", "--detach", "--process", "/proc/self/fd/3", "--pid-file", pidFile];
            if (console is not null) runcArgs.AddRange(["--console-socket", RuncPath(console.Path, _o.StateDir)]);
            runcArgs.Add(_o.Id);
            int runcPid;
            try
            {
                runcPid = ShimSys.Spawn(_o.Runc, runcArgs, [inR, outW, errW, procFd]);
                _reaper.ChildAdded();
            }
            catch
            {
                ShimSys.Close(outR);
                ShimSys.Close(errR);
                if (inW >= 0) ShimSys.Close(inW);
                throw;
            }
            finally
            {
                ShimSys.Close(outW);
                ShimSys.Close(errW);
                ShimSys.Close(inR);
                ShimSys.Close(procFd);
            }
            FileStream? stdin = inW >= 0 ? new FileStream(new SafeFileHandle(inW, ownsHandle: true), FileAccess.Write, 0) : null;
            var outStream = new FileStream(new SafeFileHandle(outR, ownsHandle: true), FileAccess.Read, 0);
            var errStream = new FileStream(new SafeFileHandle(errR, ownsHandle: true), FileAccess.Read, 0);
            var master = console?.BeginReceive();

            // Detached, runc returns once the process runs (it is then our child, as subreaper) or failed to start.
            int runcCode = Reaper.ExitCode(_reaper.Wait(runcPid));
            if (runcCode != 0)
            {
                outStream.Dispose();
                errStream.Dispose();
                stdin?.Dispose();
                throw ExecFailed(RuncDriver.LastJsonLogError(runcLog) ?? $"runc exec exited with status {runcCode}");
            }
            int pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
            int ptyFd = -1;
            if (master is not null)
            {
                // With a terminal, the process's stdio is the pty; the pipes only ever see runc's own output.
                ptyFd = master.Wait(TimeSpan.FromSeconds(10)) ? master.Result
                    : throw new BerthException(ErrorKind.Unknown, "runc did not hand over the exec's terminal");
                if (req.Stdin) stdin = new FileStream(new SafeFileHandle(ShimSys.Dup(ptyFd), ownsHandle: true), FileAccess.Write, 0);
                DrainAndDispose(outStream);
                outStream = new FileStream(new SafeFileHandle(ptyFd, ownsHandle: true), FileAccess.Read, 0);
            }
            return new StartedExec(pid, stdin, outStream, errStream, ptyFd);
        }
        finally
        {
            foreach (var f in new[] { pidFile, runcLog })
                try { File.Delete(f); } catch (IOException) { }
        }
    }

    /// <summary>runc's failure to start the process, with the error kind the daemon reports it by.</summary>
    private static BerthException ExecFailed(string msg)
    {
        var kind = msg.Contains("executable file not found", StringComparison.Ordinal) || msg.Contains("no such file or directory", StringComparison.Ordinal)
            ? ErrorKind.InvalidArgument : ErrorKind.Unknown;
        return new BerthException(kind, msg);
    }

    // The container's own process settings, read from the bundle at the first exec (the spec does not change while
    // the container runs); guarded by _lock.
    private SpecProcess? _baseProcess;

    private SpecProcess BaseProcess()
    {
        lock (_lock)
        {
            if (_baseProcess is { } known) return known;
        }
        var loaded = SpecBuilder.Deserialize(File.ReadAllBytes(Path.Combine(_o.Bundle, "config.json"))).Process;
        lock (_lock) return _baseProcess ??= loaded;
    }

    private SpecProcess ExecProcess(ExecRequest req)
    {
        var baseProcess = BaseProcess();
        var env = (baseProcess.Env ?? []).ToList();
        // A request without "env" deserializes to null (source-generated init-only properties), not the initializer's [].
        foreach (var e in req.Env ?? [])
        {
            var name = e.Split('=', 2)[0];
            env.RemoveAll(x => x.Split('=', 2)[0] == name);
            env.Add(e);
        }
        var caps = baseProcess.Capabilities;
        if (req.Privileged)
        {
            var all = Capabilities.Available.Value;
            caps = new SpecCapabilities { Bounding = all, Effective = all, Permitted = all };
        }
        return baseProcess with
        {
            Terminal = req.Tty,
            ConsoleSize = req.Tty && req.ConsoleHeight > 0 && req.ConsoleWidth > 0 ? new SpecConsoleSize((uint)req.ConsoleHeight, (uint)req.ConsoleWidth) : null,
            Args = req.Args,
            Env = env,
            Cwd = string.IsNullOrEmpty(req.Cwd) ? baseProcess.Cwd : req.Cwd,
            User = new SpecUser
            {
                Uid = req.Uid ?? baseProcess.User.Uid,
                Gid = req.Gid ?? baseProcess.User.Gid,
                AdditionalGids = req.AdditionalGids ?? baseProcess.User.AdditionalGids,
            },
            Capabilities = caps,
        };
    }

    private static Thread StartExecPump(Client? client, byte type, FileStream source)
    {
        var t = new Thread(() =>
        {
            var buf = new byte[PumpBuffer];
            try
            {
                int n;
                while ((n = source.Read(buf)) > 0) client?.Send(type, buf.AsSpan(0, n));
            }
            catch (IOException) { }
            finally { source.Dispose(); }
        }, ThreadStack) { IsBackground = true, Name = "exec-pump" };
        t.Start();
        return t;
    }

    // An output the client did not ask for still has to be read, or the process blocks on a full pipe.
    private static void DrainAndDispose(FileStream source) => StartExecPump(null, 0, source);

    private static void ExecStdin(Client client, FileStream? stdin, int ptyFd)
    {
        try
        {
            while (ShimProtocol.Read(client.Stream) is { } f)
            {
                if (f.Type == ShimProtocol.Stdin && stdin is not null) stdin.Write(f.Payload);
                else if (f.Type == ShimProtocol.Resize) TryResize(ptyFd, f.Payload);
                else if (f.Type == ShimProtocol.CloseStdin)
                {
                    // A terminal has no end-of-file of its own: send ^D as a user would.
                    if (ptyFd >= 0) stdin?.Write([4]);
                    stdin?.Dispose();
                    stdin = null;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or EndOfStreamException or BerthException)
        {
        }
        finally
        {
            try { stdin?.Dispose(); } catch (IOException) { }
        }
    }
}
