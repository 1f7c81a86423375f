using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Berth.Core;

namespace Berth.Runtime.Shim;

/// <summary>
/// The daemon's handle on one container's <c>berth-shim</c>. Each call is one short connection to the shim's
/// socket, so a handle can be dropped and re-made (<see cref="TryConnect"/>) after the daemon restarts.
/// </summary>
public sealed class ShimClient
{
    private ShimClient(string socketPath, ShimStateInfo state)
    {
        SocketPath = socketPath;
        Id = state.Id;
        Pid = state.Pid;
        ShimPid = state.ShimPid;
        StateDir = state.StateDir;
    }

    public string SocketPath { get; }
    public string Id { get; }

    /// <summary>The container's init process as seen from the host.</summary>
    public int Pid { get; }
    public int ShimPid { get; }
    public string StateDir { get; }

    /// <summary>
    /// Starts a shim that runs <c>runc create</c>; returns once the container exists (created, not started) or
    /// throws with runc's own error text.
    /// </summary>
    public static async Task<ShimClient> LaunchAsync(ShimLaunchOptions o, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (System.Text.Encoding.UTF8.GetByteCount(o.SocketPath) > 107)
            throw BerthException.Invalid($"shim socket path too long for sun_path: {o.SocketPath}");
        Directory.CreateDirectory(o.StateDir);
        if (Path.GetDirectoryName(o.SocketPath) is { Length: > 0 } sockDir) Directory.CreateDirectory(sockDir);

        var psi = new ProcessStartInfo(o.ShimPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in ShimArgs(o)) psi.ArgumentList.Add(a);

        Process? started;
        try
        {
            started = Process.Start(psi);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BerthException(ErrorKind.Unavailable, $"cannot start shim {o.ShimPath}: {e.Message}");
        }
        using var proc = started ?? throw new BerthException(ErrorKind.Unavailable, $"cannot start shim {o.ShimPath}");
        string? line;
        try
        {
            line = await proc.StandardOutput.ReadLineAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { proc.Kill(); } catch (InvalidOperationException) { }
            throw;
        }
        if (line is null)
        {
            var err = (await proc.StandardError.ReadToEndAsync(ct).ConfigureAwait(false)).Trim();
            throw new BerthException(ErrorKind.Unknown, $"shim for {o.Id} exited before reporting: {(err.Length > 0 ? err : "no output")}");
        }
        if (line.StartsWith("error ", StringComparison.Ordinal))
            throw ShimProtocol.DecodeError(System.Text.Encoding.UTF8.GetBytes(line[6..]));
        if (!line.StartsWith("ok ", StringComparison.Ordinal))
            throw new BerthException(ErrorKind.Unknown, $"shim for {o.Id} reported garbage: {line}");

        // The shim has closed its stdio by now; the Process object only keeps pipes we no longer need.
        return TryConnect(o.SocketPath)
            ?? throw new BerthException(ErrorKind.Unavailable, $"shim for {o.Id} reported ready but its socket {o.SocketPath} does not answer");
    }

    internal static List<string> ShimArgs(ShimLaunchOptions o)
    {
        var a = new List<string>
        {
            // Absolute: the shim works from its state directory.
            "--id", o.Id, "--bundle", Path.GetFullPath(o.BundleDir), "--runc", o.RuncPath, "--runc-root", Path.GetFullPath(o.RuncRoot),
            "--socket", Path.GetFullPath(o.SocketPath), "--state-dir", Path.GetFullPath(o.StateDir),
            "--log-max-size", o.LogMaxSize.ToString(CultureInfo.InvariantCulture),
            "--log-max-files", o.LogMaxFiles.ToString(CultureInfo.InvariantCulture),
        };
        if (o.LogPath is not null) a.AddRange(["--log", Path.GetFullPath(o.LogPath)]);
        if (o.OpenStdin) a.Add("--stdin");
        if (o.StdinOnce) a.Add("--stdin-once");
        if (o.Terminal) a.Add("--terminal");
        if (!string.IsNullOrEmpty(o.CgroupsPath)) a.AddRange(["--cgroups-path", o.CgroupsPath]);
        if (!o.ExecGates) a.Add("--no-exec-gates");
        return a;
    }

    /// <summary>Re-adopts a running shim (live restore); null when nothing answers on the socket.</summary>
    public static ShimClient? TryConnect(string socketPath)
    {
        try
        {
            using var s = Connect(socketPath);
            using var ns = new NetworkStream(s);
            ShimProtocol.Write(ns, ShimProtocol.State, []);
            var reply = ShimProtocol.Read(ns);
            if (reply is not { Type: ShimProtocol.Ok } r) return null;
            return new ShimClient(socketPath, ShimStateInfo.FromJson(r.Payload));
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return null;
        }
    }

    /// <summary>The status recorded by a shim that is gone; null when the container never exited.</summary>
    public static ExitStatus? ReadExitStatus(string stateDir) => ExitStatus.Read(stateDir);

    public Task StartAsync(CancellationToken ct = default) => CallAsync(ShimProtocol.Start, [], ct);

    public Task KillAsync(int signal, bool all = false, CancellationToken ct = default)
    {
        var payload = new byte[5];
        BinaryPrimitives.WriteInt32BigEndian(payload, signal);
        payload[4] = all ? (byte)1 : (byte)0;
        return CallAsync(ShimProtocol.Kill, payload, ct);
    }

    /// <summary>Freezes every process of the container (<c>runc pause</c>); Conflict when it is not running.</summary>
    public Task PauseAsync(CancellationToken ct = default) => CallAsync(ShimProtocol.Pause, [], ct);

    /// <summary>Thaws a paused container (<c>runc resume</c>); Conflict when it is not paused.</summary>
    public Task ResumeAsync(CancellationToken ct = default) => CallAsync(ShimProtocol.Resume, [], ct);

    /// <summary>Applies new limits to the running container (<c>runc update -r -</c>).</summary>
    public Task UpdateAsync(Cgroups.ResourceUpdate resources, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(resources);
        return CallAsync(ShimProtocol.Update, resources.ToRuncJson(), ct);
    }

    /// <summary>What runc reports for the container: "created", "running", "paused" or "stopped".</summary>
    public async Task<string> RuncStatusAsync(CancellationToken ct = default) =>
        System.Text.Encoding.UTF8.GetString(await CallAsync(ShimProtocol.RuncStatus, [], ct).ConfigureAwait(false));

    /// <summary>Sets the container's terminal size (containers created with a terminal only).</summary>
    public Task ResizeAsync(int rows, int cols, CancellationToken ct = default) =>
        CallAsync(ShimProtocol.Resize, ShimProtocol.EncodeSize(rows, cols), ct);

    public async Task<ShimStateInfo> StateAsync(CancellationToken ct = default) =>
        ShimStateInfo.FromJson(await CallAsync(ShimProtocol.State, [], ct).ConfigureAwait(false));

    /// <summary>Waits for the container to exit; works after the shim is gone too (reads the recorded status).</summary>
    public async Task<ExitStatus> WaitAsync(CancellationToken ct = default)
    {
        try
        {
            return ExitStatus.FromJson(await CallAsync(ShimProtocol.Wait, [], ct).ConfigureAwait(false));
        }
        catch (BerthException e) when (e.Kind == ErrorKind.Unavailable && ReadExitStatus(StateDir) is not null)
        {
            return ReadExitStatus(StateDir)!;
        }
    }

    /// <summary>
    /// Attaches to the container's stdio. Once this returns, every byte the container writes afterwards reaches the
    /// attachment (attach before <see cref="StartAsync"/> to see all output).
    /// </summary>
    public async Task<ShimAttachment> AttachAsync(bool stdin, bool stdout, bool stderr, CancellationToken ct = default)
    {
        byte flags = (byte)((stdin ? ShimProtocol.AttachStdin : 0) | (stdout ? ShimProtocol.AttachStdout : 0) | (stderr ? ShimProtocol.AttachStderr : 0));
        var socket = await ConnectAsync(ct).ConfigureAwait(false);
        var attachment = new ShimAttachment(socket);
        try
        {
            using var ns = new NetworkStream(socket, ownsSocket: false);
            await ShimProtocol.WriteAsync(ns, ShimProtocol.Attach, new[] { flags }, ct).ConfigureAwait(false);
            var reply = await ShimProtocol.ReadAsync(ns, ct).ConfigureAwait(false);
            Check(reply);
            return attachment;
        }
        catch
        {
            await attachment.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs a process in the running container and streams it like an attach; the session's <see cref="ShimAttachment.Exit"/>
    /// carries the process's exit code. Throws runc's error when the process cannot start (e.g. no such executable).
    /// </summary>
    public async Task<ShimAttachment> ExecAsync(ExecRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var socket = await ConnectAsync(ct).ConfigureAwait(false);
        var session = new ShimAttachment(socket);
        try
        {
            using var ns = new NetworkStream(socket, ownsSocket: false);
            await ShimProtocol.WriteAsync(ns, ShimProtocol.Exec, request.ToJson(), ct).ConfigureAwait(false);
            var reply = Check(await ShimProtocol.ReadAsync(ns, ct).ConfigureAwait(false));
            session.Pid = reply.Length >= 4 ? BinaryPrimitives.ReadInt32BigEndian(reply) : 0;
            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Removes the container from runc (it must have exited or never started) and lets the shim exit.</summary>
    public async Task DeleteAsync(CancellationToken ct = default)
    {
        try
        {
            await CallAsync(ShimProtocol.Delete, [], ct).ConfigureAwait(false);
        }
        catch (BerthException e) when (e.Kind == ErrorKind.Unavailable)
        {
            // The shim already finished its lingering and exited: runc delete was done before it exited.
        }
    }

    private async Task<byte[]> CallAsync(byte type, byte[] payload, CancellationToken ct)
    {
        using var socket = await ConnectAsync(ct).ConfigureAwait(false);
        using var ns = new NetworkStream(socket, ownsSocket: false);
        try
        {
            await ShimProtocol.WriteAsync(ns, type, payload, ct).ConfigureAwait(false);
            var reply = await ShimProtocol.ReadAsync(ns, ct).ConfigureAwait(false);
            return Check(reply);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            throw new BerthException(ErrorKind.Unavailable, $"shim for container {Id} went away: {e.Message}");
        }
    }

    private static byte[] Check((byte Type, byte[] Payload)? reply) => reply switch
    {
        null => throw new BerthException(ErrorKind.Unavailable, "shim closed the connection"),
        { Type: ShimProtocol.Ok } r => r.Payload,
        { Type: ShimProtocol.Error } r => throw ShimProtocol.DecodeError(r.Payload),
        { } r => throw new BerthException(ErrorKind.Unknown, $"unexpected shim reply '{(char)r.Type}'"),
    };

    private async Task<Socket> ConnectAsync(CancellationToken ct)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await s.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), ct).ConfigureAwait(false);
            return s;
        }
        catch (SocketException e)
        {
            s.Dispose();
            throw new BerthException(ErrorKind.Unavailable, $"shim for container {Id} is not running ({SocketPath}): {e.Message}");
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    private static Socket Connect(string socketPath)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(socketPath));
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }
}
