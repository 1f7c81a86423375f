using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Integration.Tests;

/// <summary>The output of one command: exit code, stdout, stderr.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>
/// A private berthd for one test class: its own data-root, exec-root, socket, bridge, subnet, cgroup parent and nft table,
/// started from out/ and torn down in <see cref="DisposeAsync"/> even when tests fail, leaving nothing in the kernel.
/// </summary>
public sealed class DaemonFixture : IAsyncLifetime
{
    private Process? _daemon;
    private readonly StringBuilder _daemonLog = new();

    public DaemonFixture()
    {
        var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        Tag = tag;
        Root = Path.Combine("/tmp", $"berth-it-{tag}");
        DataRoot = Path.Combine(Root, "data");
        ExecRoot = Path.Combine(Root, "exec");
        Socket = Path.Combine(Root, "berth.sock");
        Bridge = $"bt{tag}";
        // 10.x.y.0/24 from a test range picked at random, so suites can run side by side.
        Subnet3 = $"10.{RandomNumberGenerator.GetInt32(100, 250)}.{RandomNumberGenerator.GetInt32(1, 250)}";
        CgroupParent = $"berth-it-{tag}";
        // User-defined networks get /28s from a /24 of their own, never the bridge's, so parallel daemons do not collide.
        do AddressPool = $"10.{RandomNumberGenerator.GetInt32(100, 250)}.{RandomNumberGenerator.GetInt32(1, 250)}.0/24";
        while (AddressPool == $"{Subnet3}.0/24");
        RepoRoot = Berth.Tests.Shared.RepoPaths.Root;
    }

    public string Tag { get; }
    public string Root { get; }
    public string DataRoot { get; }
    public string ExecRoot { get; }
    public string Socket { get; }
    public string Bridge { get; }
    public string Subnet3 { get; }
    public string Gateway => $"{Subnet3}.1";
    public string CgroupParent { get; }
    public string AddressPool { get; }
    public string RepoRoot { get; }
    public string Out => Path.Combine(RepoRoot, "out");
    public string DockerHost => $"unix://{Socket}";
    public string DaemonLog { get { lock (_daemonLog) return _daemonLog.ToString(); } }
    public int DaemonPid => _daemon?.Id ?? 0;

    /// <summary>More berthd flags, for a test that makes its own fixture (e.g. <c>--registry-mirror</c>).</summary>
    public List<string> ExtraArgs { get; } = [];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        await StartDaemonAsync();
        // The busybox base image, made from Debian's busybox-static as ./run does.
        var r = await ShellAsync($"{RepoRoot}/scripts/mkbusybox.sh | DOCKER_HOST={DockerHost} /usr/local/bin/docker import - busybox:latest");
        if (r.ExitCode != 0) throw new InvalidOperationException($"importing busybox failed: {r}\n{DaemonLog}");
    }

    public async Task StartDaemonAsync()
    {
        var psi = new ProcessStartInfo(Path.Combine(Out, "berthd"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "-H", DockerHost, "--data-root", DataRoot, "--exec-root", ExecRoot, "--bridge", Bridge,
                     "--bip", $"{Gateway}/24", "--cgroup-parent", CgroupParent, "--pidfile", Path.Combine(Root, "berthd.pid"),
                     "--shim", Path.Combine(Out, "berth-shim"), "--log-level", "debug",
                     "--default-address-pool", $"base={AddressPool},size=28",
                 }.Concat(ExtraArgs))
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_daemonLog) _daemonLog.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_daemonLog) _daemonLog.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _daemon = p;
        for (int i = 0; i < 200; i++)
        {
            if (p.HasExited) throw new InvalidOperationException($"berthd exited with {p.ExitCode}:\n{DaemonLog}");
            if (File.Exists(Socket) && (await DockerAsync("version", "--format", "{{.Server.Version}}")).ExitCode == 0) return;
            await Task.Delay(50);
        }
        throw new InvalidOperationException($"berthd did not answer within 10 s:\n{DaemonLog}");
    }

    /// <summary>Ends the daemon the way a crash does: SIGKILL, no cleanup.</summary>
    public async Task KillDaemonAsync()
    {
        if (_daemon is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
    }

    public async Task StopDaemonAsync()
    {
        if (_daemon is { HasExited: false } p)
        {
            Kill(p.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await p.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { p.Kill(); await p.WaitForExitAsync(); }
        }
    }

    public Task<CommandResult> DockerAsync(params string[] args) => RunAsync("/usr/local/bin/docker", args, null);

    public Task<CommandResult> DockerStdinAsync(string stdin, params string[] args) => RunAsync("/usr/local/bin/docker", args, stdin);

    public Task<CommandResult> BerthAsync(params string[] args) => RunAsync(Path.Combine(Out, "berth"), args, null);

    public Task<CommandResult> BerthStdinAsync(string stdin, params string[] args) => RunAsync(Path.Combine(Out, "berth"), args, stdin);

    public Task<CommandResult> ShellAsync(string script) => RunAsync("/bin/bash", ["-c", script], null);

    public async Task<CommandResult> RunAsync(string file, IEnumerable<string> args, string? stdin, int timeoutSeconds = 120)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOCKER_HOST"] = DockerHost;
        psi.Environment["BERTH_HOST"] = DockerHost;
        psi.Environment["DOCKER_CONFIG"] = Path.Combine(Root, "docker-config");
        psi.Environment.Remove("DOCKER_CONTEXT");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutSeconds} s");
        }
        return new CommandResult(p.ExitCode, await stdout, await stderr);
    }

    public async Task DisposeAsync()
    {
        try
        {
            // Remove every container through the API, then stop the daemon cleanly (it removes its bridge and table).
            if (_daemon is { HasExited: false })
            {
                var ids = await DockerAsync("ps", "-aq");
                foreach (var id in ids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    await DockerAsync("rm", "-f", "-v", id);
            }
        }
        catch (Exception) { }
        await StopDaemonAsync();
        Sweep();
    }

    /// <summary>Whatever is still there after a failed test: shims, mounts, links, tables, cgroups, directories.</summary>
    public void Sweep()
    {
        var shimRoot = Path.Combine(ExecRoot, "shim");
        if (Directory.Exists(shimRoot))
            foreach (var pidFile in Directory.EnumerateFiles(shimRoot, "*.pid", SearchOption.AllDirectories))
                if (int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid) && IsOurs(pid)) Kill(pid, 9);
        foreach (var line in File.ReadAllLines("/proc/mounts").Reverse())
        {
            var mp = line.Split(' ')[1].Replace("\\040", " ");
            if (mp.StartsWith(Root + "/", StringComparison.Ordinal)) Run("umount", "-l", mp);
        }
        Run("ip", "link", "del", Bridge);
        foreach (var veth in Links().Where(l => l.StartsWith("vb", StringComparison.Ordinal)))
            if (File.Exists($"/sys/class/net/{veth}/master") && Path.GetFileName(File.ReadAllText($"/sys/class/net/{veth}/master")) == Bridge) Run("ip", "link", "del", veth);
        Run("nft", "delete", "table", "ip", $"berth_{Bridge}");
        foreach (var ctrl in Directory.GetDirectories("/sys/fs/cgroup"))
        {
            var dir = Path.Combine(ctrl, CgroupParent);
            if (!Directory.Exists(dir)) continue;
            foreach (var sub in Directory.GetDirectories(dir)) TryRmdir(sub);
            TryRmdir(dir);
        }
        try { Directory.Delete(Root, recursive: true); } catch (Exception) { }
    }

    private bool IsOurs(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Contains(Tag, StringComparison.Ordinal); }
        catch (IOException) { return false; }
    }

    private static IEnumerable<string> Links() => Directory.Exists("/sys/class/net") ? Directory.GetDirectories("/sys/class/net").Select(Path.GetFileName)!.OfType<string>() : [];

    private static void TryRmdir(string d)
    {
        try { Directory.Delete(d); } catch (Exception) { }
    }

    private static void Kill(int pid, int sig) => Run("kill", $"-{sig}", pid.ToString());

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            p.WaitForExit(10_000);
        }
        catch (Exception) { }
    }
}
