using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Integration.Tests;

/// <summary>
/// A private berthd (<see cref="DaemonFixture"/>) and a berth-registry with htpasswd auth on a free loopback port, its
/// storage and users under the daemon's /tmp/berth-it-* directory; the registry is killed by PID on dispose.
/// </summary>
public sealed class AuthRegistryFixture : IAsyncLifetime
{
    public const string User = "u";
    public const string Password = "pw-Ok9";

    private Process? _registry;
    private readonly StringBuilder _log = new();

    public DaemonFixture Daemon { get; } = new();
    public int Port { get; private set; }
    public string Registry => $"127.0.0.1:{Port}";
    public string RegistryRoot => Path.Combine(Daemon.Root, "registry");
    public string BerthConfig => Path.Combine(Daemon.Root, "berth-config");
    public string RegistryLog { get { lock (_log) return _log.ToString(); } }

    public async Task InitializeAsync()
    {
        await Daemon.InitializeAsync();
        Directory.CreateDirectory(RegistryRoot);
        var htpasswd = Path.Combine(RegistryRoot, "htpasswd");
        await File.WriteAllTextAsync(htpasswd, $"{User}:{BCrypt.Net.BCrypt.HashPassword(Password, 5)}\n");
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            Port = ((IPEndPoint)l.LocalEndpoint).Port;
        }
        var psi = new ProcessStartInfo(Path.Combine(Daemon.Out, "berth-registry"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--listen", Registry, "--root", Path.Combine(RegistryRoot, "storage"), "--auth", "htpasswd", "--htpasswd", htpasswd })
            psi.ArgumentList.Add(a);
        _registry = Process.Start(psi)!;
        _registry.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _registry.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _registry.BeginOutputReadLine();
        _registry.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (int i = 0; i < 300; i++)
        {
            if (_registry.HasExited) throw new InvalidOperationException($"berth-registry exited with {_registry.ExitCode}:\n{RegistryLog}");
            try
            {
                using var r = await http.GetAsync($"http://{Registry}/v2/");
                if (r.StatusCode == HttpStatusCode.Unauthorized) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(50);
        }
        throw new InvalidOperationException($"berth-registry did not answer within 15 s:\n{RegistryLog}");
    }

    /// <summary>out/berth with the test's own BERTH_CONFIG (and DOCKER_CONFIG, which the daemon fixture sets), never ~/.berth.</summary>
    public Task<CommandResult> BerthAsync(string? stdin, params string[] args) =>
        Daemon.RunAsync("/usr/bin/env", [$"BERTH_CONFIG={BerthConfig}", $"DOCKER_CONFIG={Path.Combine(Daemon.Root, "docker-config")}", Path.Combine(Daemon.Out, "berth"), .. args], stdin);

    public async Task DisposeAsync()
    {
        if (_registry is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
        _registry?.Dispose();
        // The daemon fixture removes its root, the registry's storage with it.
        await Daemon.DisposeAsync();
    }
}

/// <summary>berth login/push/pull/logout against a registry that wants credentials.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BerthDistributionCliTests(AuthRegistryFixture f) : IClassFixture<AuthRegistryFixture>
{
    private static void Ok(CommandResult r, string context = "") => Assert.True(r.ExitCode == 0, $"{context}\n{r}");

    private string Diagnostics => $"\ndaemon log tail:\n{Tail(f.Daemon.DaemonLog)}\nregistry log tail:\n{Tail(f.RegistryLog)}";

    private static string Tail(string log) => log.Length > 4000 ? log[^4000..] : log;

    [Fact]
    public async Task LoginPushPullRunLogout()
    {
        var image = $"{f.Registry}/it/app{f.Daemon.Tag}:v1";
        Ok(await f.BerthAsync(null, "tag", "busybox:latest", image));

        // Without credentials the registry refuses the push.
        var anonymous = await f.BerthAsync(null, "push", image);
        Assert.True(anonymous.ExitCode == 1, anonymous.ToString());
        Assert.Matches("(?i)unauthori[sz]ed|authentication required|denied", anonymous.Stderr);

        // A wrong password: exit 1, an auth error, nothing stored.
        var wrong = await f.BerthAsync("not-the-password\n", "login", f.Registry, "-u", AuthRegistryFixture.User, "--password-stdin");
        Assert.True(wrong.ExitCode == 1, wrong.ToString());
        Assert.StartsWith("Error response from daemon: ", wrong.Stderr, StringComparison.Ordinal);
        Assert.Matches("(?i)unauthori[sz]ed|authentication|401", wrong.Stderr);
        Assert.False(File.Exists(Path.Combine(f.BerthConfig, "config.json")));

        var login = await f.BerthAsync(AuthRegistryFixture.Password + "\n", "login", f.Registry, "-u", AuthRegistryFixture.User, "--password-stdin");
        Ok(login, Diagnostics);
        Assert.Equal("Login Succeeded\n", login.Stdout);
        var config = Path.Combine(f.BerthConfig, "config.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));
        Assert.Contains($"\"{f.Registry}\"", await File.ReadAllTextAsync(config), StringComparison.Ordinal);
        // The real docker CLI, logging in to the same registry through the same daemon, writes the same file.
        var dockerLogin = await f.Daemon.DockerStdinAsync(AuthRegistryFixture.Password + "\n", "login", f.Registry, "-u", AuthRegistryFixture.User, "--password-stdin");
        Ok(dockerLogin);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(f.Daemon.Root, "docker-config", "config.json")), await File.ReadAllTextAsync(config));

        var push = await f.BerthAsync(null, "push", image);
        Ok(push, Diagnostics);
        Assert.StartsWith($"The push refers to repository [{image[..^3]}]\n", push.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\nv1: digest: sha256:[0-9a-f]{64} size: [0-9]+\n$", push.Stdout);
        // Not a terminal: no progress bars, no escape sequences.
        Assert.DoesNotContain("\x1b[", push.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("[=", push.Stdout, StringComparison.Ordinal);

        Ok(await f.BerthAsync(null, "rmi", image));
        var pull = await f.BerthAsync(null, "pull", image);
        Ok(pull, Diagnostics);
        Assert.Contains("v1: Pulling from it/app", pull.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\nDigest: sha256:[0-9a-f]{64}\n", pull.Stdout);
        Assert.EndsWith($"\n{image}\n", pull.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\x1b[", pull.Stdout, StringComparison.Ordinal);

        var run = await f.BerthAsync(null, "run", "--rm", image, "echo", "pulled-and-ran");
        Ok(run, Diagnostics);
        Assert.Equal("pulled-and-ran\n", run.Stdout);

        var quiet = await f.BerthAsync(null, "push", "-q", image);
        Ok(quiet, Diagnostics);
        Assert.Equal($"{image}\n", quiet.Stdout);

        // berth build sends the stored logins (X-Registry-Config): a base on the registry is pulled with them.
        Ok(await f.BerthAsync(null, "rmi", image));
        var context = f.Daemon.NewContext(("Dockerfile", $"FROM {image}\nRUN echo built > /built\n"));
        var build = await f.BerthAsync(null, "build", "-t", image + "-built", context);
        Ok(build, Diagnostics);
        Assert.Contains("v1: Pulling from it/app", build.Stdout, StringComparison.Ordinal);
        Ok(await f.BerthAsync(null, "rmi", image + "-built"));

        var logout = await f.BerthAsync(null, "logout", f.Registry);
        Ok(logout);
        Assert.Equal($"Removing login credentials for {f.Registry}\n", logout.Stdout);
        Assert.DoesNotContain($"\"{f.Registry}\"", await File.ReadAllTextAsync(config), StringComparison.Ordinal);

        Ok(await f.BerthAsync(null, "rmi", image));
        var denied = await f.BerthAsync(null, "pull", image);
        Assert.True(denied.ExitCode == 1, denied.ToString());
        Assert.Matches("(?i)unauthori[sz]ed|authentication required|denied|docker login", denied.Stderr);
        var deniedBuild = await f.BerthAsync(null, "build", context);
        Assert.True(deniedBuild.ExitCode == 1, deniedBuild.ToString());
        Assert.Matches("(?i)unauthori[sz]ed|authentication required|denied|docker login", deniedBuild.Stderr);
    }
}
