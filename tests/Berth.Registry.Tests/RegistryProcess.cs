using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Registry.Tests;

/// <summary>The output of one command.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>
/// A real berth-registry from out/ on 127.0.0.1 with a free port and its own storage root under /tmp/berth-reg-*; stopped by
/// PID (SIGTERM, then SIGKILL) and its directory removed in <see cref="DisposeAsync"/>, also when tests fail.
/// </summary>
public sealed partial class RegistryProcess : IAsyncLifetime
{
    private Process? _process;
    private readonly StringBuilder _log = new();

    public RegistryProcess() : this(tls: false) { }

    /// <summary>One that serves HTTPS: the test passes --tls-cert/--tls-key and sets <see cref="ServerCertificateThumbprint"/>.</summary>
    public static RegistryProcess WithTls() => new(tls: true);

    private RegistryProcess(bool tls)
    {
        Root = Path.Combine("/tmp", $"berth-reg-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        Storage = Path.Combine(Root, "storage");
        Port = FreePort();
        RepoRoot = Berth.Tests.Shared.RepoPaths.Root;
        // Over TLS the client trusts exactly the certificate the test made, nothing else.
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert is not null && cert.Thumbprint == ServerCertificateThumbprint,
        };
        Http = new HttpClient(handler) { BaseAddress = new Uri($"{(tls ? "https" : "http")}://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Root { get; }
    public string Storage { get; }
    public int Port { get; }
    public string RepoRoot { get; }
    public string Host => $"127.0.0.1:{Port}";
    public HttpClient Http { get; }
    public string? ServerCertificateThumbprint { get; set; }
    /// <summary>Start it as <c>berth registry serve</c> rather than <c>berth-registry</c>.</summary>
    public bool ViaBerthCli { get; init; }
    public bool HasExited => _process?.HasExited ?? true;
    public int ExitCode => _process?.ExitCode ?? -1;
    public string Log { get { lock (_log) return _log.ToString(); } }
    public int Pid => _process?.Id ?? 0;

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        await StartAsync();
    }

    public async Task StartAsync(params string[] extraArgs)
    {
        var psi = new ProcessStartInfo(Path.Combine(RepoRoot, "out", ViaBerthCli ? "berth" : "berth-registry"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (ViaBerthCli) { psi.ArgumentList.Add("registry"); psi.ArgumentList.Add("serve"); }
        foreach (var a in new[] { "--listen", Host, "--root", Storage, "--log-level", "debug" }.Concat(extraArgs)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        for (int i = 0; i < 600; i++)
        {
            if (p.HasExited) throw new InvalidOperationException($"berth-registry exited with {p.ExitCode}:\n{Log}");
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                using var r = await Http.GetAsync("/v2/", cts.Token);
                if (r.Headers.Contains("Docker-Distribution-API-Version")) return; // 200, or 401 with auth on
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(50);
        }
        throw new InvalidOperationException($"berth-registry did not answer within 30 s:\n{Log}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } p) return;
        SysKill(p.Id, 15);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(); await p.WaitForExitAsync(); }
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        Http.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public async Task<CommandResult> RunAsync(string file, IEnumerable<string> args, int timeoutSeconds = 120)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // skopeo keeps its auth file and policy lookups away from the host's configuration.
        psi.Environment["REGISTRY_AUTH_FILE"] = Path.Combine(Root, "auth.json");
        psi.Environment["XDG_RUNTIME_DIR"] = Root;
        psi.Environment["HOME"] = Root;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutSeconds} s");
        }
        return new CommandResult(p.ExitCode, await stdout, await stderr);
    }
}
