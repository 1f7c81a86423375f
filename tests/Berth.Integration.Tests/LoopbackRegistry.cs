using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Integration.Tests;

/// <summary>
/// A registry on 127.0.0.1 with a free port and its storage under <paramref name="dir"/>: berth-registry from out/, or
/// Debian's docker-registry (distribution 2.8.2), so that pull and push are checked against a server that is not ours.
/// Stopped by PID in <see cref="DisposeAsync"/>.
/// </summary>
public sealed class LoopbackRegistry(string kind, string dir, params string[] extraArgs) : IAsyncDisposable
{
    public const string Berth = "berth";
    public const string Distribution = "distribution";

    private Process? _process;
    private readonly StringBuilder _log = new();

    public int Port { get; } = FreePort();
    public string Host => $"127.0.0.1:{Port}";
    public string Log { get { lock (_log) return _log.ToString(); } }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>A started berth-registry in token mode under <paramref name="dir"/> whose one user may do anything in <c>it/*</c>.</summary>
    public static async Task<LoopbackRegistry> StartTokenAuthAsync(string dir, string user, string password)
    {
        Directory.CreateDirectory(dir);
        var htpasswd = Path.Combine(dir, "htpasswd");
        await File.WriteAllTextAsync(htpasswd, $"{user}:{BCrypt.Net.BCrypt.HashPassword(password, 5)}\n");
        var reg = new LoopbackRegistry(Berth, dir, "--auth", "token", "--htpasswd", htpasswd, "--access", $"{user}:it/*:*");
        await reg.StartAsync();
        return reg;
    }

    public async Task StartAsync()
    {
        Directory.CreateDirectory(dir);
        ProcessStartInfo psi;
        if (kind == Distribution)
        {
            var config = Path.Combine(dir, "config.yml");
            await File.WriteAllTextAsync(config, $"""
                version: 0.1
                log:
                  level: warn
                  accesslog:
                    disabled: true
                storage:
                  filesystem:
                    rootdirectory: {Path.Combine(dir, "storage")}
                  delete:
                    enabled: true
                http:
                  addr: {Host}
                """);
            psi = new ProcessStartInfo("docker-registry") { ArgumentList = { "serve", config } };
        }
        else
        {
            psi = new ProcessStartInfo(Path.Combine(global::Berth.Tests.Shared.RepoPaths.Root, "out", "berth-registry"))
            {
                ArgumentList = { "--listen", Host, "--root", Path.Combine(dir, "storage") },
            };
            foreach (var a in extraArgs) psi.ArgumentList.Add(a);
        }
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (int i = 0; i < 300; i++)
        {
            if (p.HasExited) throw new InvalidOperationException($"{kind} registry exited with {p.ExitCode}:\n{Log}");
            try
            {
                using var r = await http.GetAsync($"http://{Host}/v2/");
                if (r.Headers.Contains("Docker-Distribution-API-Version")) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(50);
        }
        throw new InvalidOperationException($"{kind} registry did not answer within 15 s:\n{Log}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
        _process?.Dispose();
    }
}

/// <summary>
/// A TCP relay on loopback in front of a server: counts the bytes the server sends back and can slow them to a rate,
/// so a test can interrupt a download midway and then see how much the next attempt fetched.
/// </summary>
public sealed class CountingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly long _bytesPerSecond;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private long _downstream;

    public CountingProxy(int targetPort, long bytesPerSecond)
    {
        _targetPort = targetPort;
        _bytesPerSecond = bytesPerSecond;
        _listener.Start();
        _accept = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public string Host => $"127.0.0.1:{Port}";

    /// <summary>Bytes relayed from the server to clients since the last <see cref="Reset"/>.</summary>
    public long Downstream => Interlocked.Read(ref _downstream);

    public void Reset() => Interlocked.Exchange(ref _downstream, 0);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                var up = Pump(client.GetStream(), server.GetStream(), count: false);
                var down = Pump(server.GetStream(), client.GetStream(), count: true);
                await Task.WhenAny(up, down);
            }
            catch (Exception) { /* either side went away */ }
        }
    }

    private async Task Pump(NetworkStream from, NetworkStream to, bool count)
    {
        var buf = new byte[16 << 10];
        var clock = Stopwatch.StartNew();
        long sent = 0;
        int n;
        while ((n = await from.ReadAsync(buf, _stop.Token)) > 0)
        {
            await to.WriteAsync(buf.AsMemory(0, n), _stop.Token);
            if (!count) continue;
            Interlocked.Add(ref _downstream, n);
            sent += n;
            // Hold the rate: wait until the clock has caught up with what was sent.
            var due = TimeSpan.FromSeconds((double)sent / _bytesPerSecond) - clock.Elapsed;
            if (due > TimeSpan.Zero) await Task.Delay(due, _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _accept; } catch (Exception) { }
        _stop.Dispose();
    }
}
