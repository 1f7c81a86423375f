namespace Berth.Integration.Tests;

/// <summary>Acceptance 1: the real docker CLI against a private berthd.</summary>
public sealed class DockerCliTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    [Fact]
    public async Task VersionShowsBerthAsServer()
    {
        var r = await d.DockerAsync("version", "--format", "{{.Server.Platform.Name}} {{.Server.APIVersion}}");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("Berth Engine 1.5", r.Stdout.Trim());
    }

    [Fact]
    public async Task RunEchoPrintsOutput()
    {
        var r = await d.DockerAsync("run", "--rm", "busybox", "echo", "hi");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("hi\n", r.Stdout);
    }

    [Fact]
    public async Task ExitCodeIsPropagated()
    {
        var r = await d.DockerAsync("run", "busybox", "sh", "-c", "exit 7");
        Assert.Equal(7, r.ExitCode);
    }

    [Fact]
    public async Task StdinIsPiped()
    {
        var r = await d.DockerStdinAsync("x\n", "run", "-i", "--rm", "busybox", "cat");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("x\n", r.Stdout);
    }

    [Fact]
    public async Task StderrIsSeparate()
    {
        var r = await d.DockerAsync("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2");
        Assert.Equal("out\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
    }

    [Fact]
    public async Task DetachedContainerLifecycle()
    {
        var name = "w" + d.Tag;
        // --init: tini as pid 1 passes SIGTERM on, so stop ends it by the signal (143), not by the timeout's SIGKILL (137).
        var run = await d.DockerAsync("run", "-d", "--init", "--name", name, "busybox", "sh", "-c", "echo started; exec sleep 300");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches("^[0-9a-f]{64}$", run.Stdout.Trim());

        var ps = await d.DockerAsync("ps", "--format", "{{.Names}} {{.Status}}");
        Assert.Contains($"{name} Up", ps.Stdout);

        var logs = await PollAsync(() => d.DockerAsync("logs", name), r => r.Stdout.Contains("started"));
        Assert.Equal("started\n", logs.Stdout);

        var top = await d.DockerAsync("top", name);
        Assert.True(top.ExitCode == 0, top.ToString());
        Assert.Contains("sleep 300", top.Stdout);
        Assert.Contains("PID", top.Stdout);

        var stop = await d.DockerAsync("stop", "-t", "30", name);
        Assert.True(stop.ExitCode == 0, stop.ToString());
        var state = await d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name);
        Assert.Equal("exited 143", state.Stdout.Trim());

        var exited = await d.DockerAsync("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}");
        Assert.Contains(name, exited.Stdout.Split('\n'));

        var rm = await d.DockerAsync("rm", name);
        Assert.True(rm.ExitCode == 0, rm.ToString());
        var gone = await d.DockerAsync("inspect", name);
        Assert.NotEqual(0, gone.ExitCode);
        Assert.Contains("No such", gone.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task InspectShowsExitCode()
    {
        var name = "ec" + d.Tag;
        await d.DockerAsync("run", "--name", name, "busybox", "sh", "-c", "exit 3");
        var r = await d.DockerAsync("inspect", "-f", "{{.State.ExitCode}}", name);
        Assert.Equal("3", r.Stdout.Trim());
        await d.DockerAsync("rm", name);
    }

    [Fact]
    public async Task NamedVolumeOutlivesContainer()
    {
        var vol = "v" + d.Tag;
        var w = await d.DockerAsync("run", "--rm", "-v", $"{vol}:/data", "busybox", "sh", "-c", "echo persisted > /data/f");
        Assert.True(w.ExitCode == 0, w.ToString());
        var r = await d.DockerAsync("run", "--rm", "-v", $"{vol}:/data", "busybox", "cat", "/data/f");
        Assert.Equal("persisted\n", r.Stdout);
        Assert.Equal(0, (await d.DockerAsync("volume", "rm", vol)).ExitCode);
    }

    [Fact]
    public async Task BindMountsReadWriteAndReadOnly()
    {
        var dir = Path.Combine(d.Root, "bind-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        var rw = await d.DockerAsync("run", "--rm", "-v", $"{dir}:/mnt", "busybox", "sh", "-c", "echo from-container > /mnt/out");
        Assert.True(rw.ExitCode == 0, rw.ToString());
        Assert.Equal("from-container\n", File.ReadAllText(Path.Combine(dir, "out")));

        var ro = await d.DockerAsync("run", "--rm", "-v", $"{dir}:/mnt:ro", "busybox", "sh", "-c", "echo x > /mnt/other");
        Assert.NotEqual(0, ro.ExitCode);
        Assert.Contains("Read-only file system", ro.Stderr);
        Assert.False(File.Exists(Path.Combine(dir, "other")));
    }

    [Fact]
    public async Task NetworkNoneHasOnlyLoopback()
    {
        var r = await d.DockerAsync("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("lo", r.Stdout.Trim());
    }

    [Fact]
    public async Task BridgeContainerHasAddressAndPingsGateway()
    {
        var r = await d.DockerAsync("run", "--rm", "busybox", "sh", "-c", $"ip -4 addr show eth0 && ping -c 1 -W 2 {d.Gateway}");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"inet {d.Subnet3}.", r.Stdout);
        Assert.Contains("1 packets received", r.Stdout);
    }

    [Fact]
    public async Task HostReachesHttpdInBridgeContainer()
    {
        var name = "web" + d.Tag;
        var run = await d.DockerAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "mkdir -p /www && echo hello-berth > /www/index.html && exec httpd -f -p 80 -h /www");
        Assert.True(run.ExitCode == 0, run.ToString());
        try
        {
            var ip = (await d.DockerAsync("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name)).Stdout.Trim();
            Assert.StartsWith(d.Subnet3 + ".", ip);
            var page = await PollAsync(() => d.RunAsync("curl", ["-s", "--max-time", "2", $"http://{ip}/"], null), r => r.ExitCode == 0);
            Assert.Equal("hello-berth\n", page.Stdout);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task RemovingRunningContainerWithoutForceConflicts()
    {
        var name = "busy" + d.Tag;
        await d.DockerAsync("run", "-d", "--name", name, "busybox", "sleep", "300");
        var rm = await d.DockerAsync("rm", name);
        Assert.NotEqual(0, rm.ExitCode);
        Assert.Contains("stop the container before removing or force remove", rm.Stderr);
        Assert.Equal(0, (await d.DockerAsync("rm", "-f", name)).ExitCode);
    }

    internal static async Task<CommandResult> PollAsync(Func<Task<CommandResult>> action, Func<CommandResult, bool> done, int attempts = 50)
    {
        CommandResult r = await action();
        for (int i = 1; i < attempts && !done(r); i++)
        {
            await Task.Delay(100);
            r = await action();
        }
        return r;
    }
}
