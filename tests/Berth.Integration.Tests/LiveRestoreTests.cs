namespace Berth.Integration.Tests;

/// <summary>Acceptance 3: kill -9 of berthd while containers run; the shims keep them, the next berthd re-adopts them.</summary>
public sealed class LiveRestoreTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    [Fact]
    public async Task ContainersSurviveDaemonKillAndAreReadopted()
    {
        string keep = "keep" + d.Tag, always = "always" + d.Tag, quits = "quits" + d.Tag;
        var gate = Path.Combine(d.Root, "gate-" + d.Tag);
        Directory.CreateDirectory(gate);
        try
        {
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--init", "--name", keep, "busybox", "sh", "-c", "echo before-crash; exec sleep 300")).ExitCode);
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--restart", "always", "--name", always, "busybox", "sleep", "300")).ExitCode);
            // Exits with 5 once the test removes the gate file, i.e. while the daemon is down.
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--name", quits, "-v", $"{gate}:/gate", "busybox", "sh", "-c",
                "touch /gate/f; i=0; while [ -e /gate/f ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; exit 5")).ExitCode);
            await DockerCliTests.PollAsync(() => d.DockerAsync("logs", keep), r => r.Stdout.Contains("before-crash"));
            await DockerCliTests.PollAsync(() => d.ShellAsync($"test -e {gate}/f"), r => r.ExitCode == 0);
            int keepPid = await PidOf(keep), alwaysPid = await PidOf(always), quitsPid = await PidOf(quits);
            Assert.True(keepPid > 0 && alwaysPid > 0 && quitsPid > 0);

            await d.KillDaemonAsync();

            // While the daemon is down: the containers still run; one is killed from outside, one exits by itself.
            Assert.True(Directory.Exists($"/proc/{keepPid}"), "the container died with the daemon");
            Assert.Equal(0, (await d.RunAsync("kill", ["-9", alwaysPid.ToString()], null)).ExitCode);
            File.Delete(Path.Combine(gate, "f"));
            await DockerCliTests.PollAsync(() => d.ShellAsync($"test -e /proc/{quitsPid}"), r => r.ExitCode != 0);
            await DockerCliTests.PollAsync(() => d.ShellAsync($"test -e /proc/{alwaysPid}"), r => r.ExitCode != 0);

            await d.StartDaemonAsync();

            var ps = await d.DockerAsync("ps", "--format", "{{.Names}}");
            Assert.Contains(keep, ps.Stdout.Split('\n'));
            Assert.Equal(keepPid, await PidOf(keep));
            var logs = await d.DockerAsync("logs", keep);
            Assert.Equal("before-crash\n", logs.Stdout);

            var quitState = await d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", quits);
            Assert.Equal("exited 5", quitState.Stdout.Trim());

            // restart=always brings the killed container back, as a new process.
            var back = await DockerCliTests.PollAsync(() => d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.Pid}} {{.RestartCount}}", always),
                r => r.Stdout.StartsWith("running ") && !r.Stdout.Contains($" {alwaysPid} "));
            Assert.StartsWith("running ", back.Stdout);
            Assert.NotEqual(alwaysPid, await PidOf(always));

            // The re-adopted container is still under control: stop ends it by SIGTERM through tini.
            var stop = await d.DockerAsync("stop", "-t", "30", keep);
            Assert.True(stop.ExitCode == 0, stop.ToString());
            Assert.Equal("exited 143", (await d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", keep)).Stdout.Trim());
        }
        finally
        {
            await d.DockerAsync("rm", "-f", keep, always, quits);
        }
    }

    [Fact]
    public async Task SecondDaemonOnSameDataRootRefusesToStart()
    {
        var other = Path.Combine(d.Root, "other.sock");
        var r = await d.RunAsync(Path.Combine(d.Out, "berthd"), ["-H", $"unix://{other}", "--data-root", d.DataRoot, "--exec-root", Path.Combine(d.Root, "exec2"), "--bridge", "bx" + d.Tag], null, 30);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("in use by another berthd", r.Stdout + r.Stderr);
        Assert.Equal(0, (await d.DockerAsync("version")).ExitCode);
    }

    [Fact]
    public async Task RestartPolicies_AreHonoured_AlsoAcrossADaemonRestart()
    {
        string onFailure = "onf" + d.Tag, no = "no" + d.Tag, clean = "clean" + d.Tag, stopped = "us1" + d.Tag, running = "us2" + d.Tag;
        try
        {
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--restart", "on-failure:2", "--name", onFailure, "busybox", "sh", "-c", "exit 3")).ExitCode);
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--restart", "no", "--name", no, "busybox", "sh", "-c", "exit 3")).ExitCode);
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--restart", "on-failure", "--name", clean, "busybox", "true")).ExitCode);
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--init", "--restart", "unless-stopped", "--name", stopped, "busybox", "sleep", "300")).ExitCode);
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--restart", "unless-stopped", "--name", running, "busybox", "sleep", "300")).ExitCode);

            // on-failure:2 runs three times in all (the first run and two restarts), then stays exited with its code.
            var gaveUp = await DockerCliTests.PollAsync(() => d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", onFailure),
                r => r.Stdout.Trim() == "exited 3 2", attempts: 100);
            Assert.Equal("exited 3 2", gaveUp.Stdout.Trim());
            Assert.Equal("exited 3 0", (await d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", no)).Stdout.Trim());
            Assert.Equal("exited 0 0", (await d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", clean)).Stdout.Trim());

            // unless-stopped: a container the user stopped stays stopped; one killed while the daemon is down comes back.
            Assert.Equal(0, (await d.DockerAsync("stop", "-t", "10", stopped)).ExitCode);
            int runningPid = await PidOf(running);
            await d.KillDaemonAsync();
            Assert.Equal(0, (await d.RunAsync("kill", ["-9", runningPid.ToString()], null)).ExitCode);
            await DockerCliTests.PollAsync(() => d.ShellAsync($"test -e /proc/{runningPid}"), r => r.ExitCode != 0);
            await d.StartDaemonAsync();

            var back = await DockerCliTests.PollAsync(() => d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.Pid}}", running),
                r => r.Stdout.StartsWith("running ") && !r.Stdout.Contains($" {runningPid}"));
            Assert.StartsWith("running ", back.Stdout);
            Assert.StartsWith("exited", (await d.DockerAsync("inspect", "-f", "{{.State.Status}}", stopped)).Stdout.Trim());
            Assert.Equal("exited 3 2", (await d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", onFailure)).Stdout.Trim());
        }
        finally
        {
            await d.DockerAsync("rm", "-f", onFailure, no, clean, stopped, running);
        }
    }

    [Fact]
    public async Task ContainerHalfRemovedByACrash_IsCleanedUpAtStart()
    {
        var name = "half" + d.Tag;
        var create = await d.DockerAsync("create", "--name", name, "busybox", "true");
        Assert.True(create.ExitCode == 0, create.ToString());
        var id = create.Stdout.Trim();
        var dir = Path.Combine(d.DataRoot, "containers", id);
        var metadata = Path.Combine(d.DataRoot, "snapshots", "overlay2", "metadata.json");
        Assert.Contains(id, File.ReadAllText(metadata));

        await d.KillDaemonAsync();
        // What a kill in the middle of removal leaves: the record gone, the rest of the directory and the layer not yet.
        File.Delete(Path.Combine(dir, "container.json"));
        await d.StartDaemonAsync();

        Assert.False(Directory.Exists(dir), "the half-removed container's directory is still there");
        Assert.DoesNotContain(id, File.ReadAllText(metadata));
        var ps = await d.DockerAsync("ps", "-a", "--format", "{{.Names}}");
        Assert.Equal(0, ps.ExitCode);
        Assert.DoesNotContain(name, ps.Stdout);
    }

    private async Task<int> PidOf(string name) =>
        int.TryParse((await d.DockerAsync("inspect", "-f", "{{.State.Pid}}", name)).Stdout.Trim(), out var p) ? p : 0;
}
