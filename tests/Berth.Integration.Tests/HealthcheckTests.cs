using System.Text.Json;

namespace Berth.Integration.Tests;

/// <summary>
/// Issue 7's healthchecks through the real docker CLI: HEALTHCHECK and --health-* run as execs in the container,
/// State.Health, ps status and filter, health_status events, --no-healthcheck, and Berth's health-on-failure action.
/// </summary>
public sealed class HealthcheckTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private static readonly string[] Fast = ["--health-interval", "300ms", "--health-timeout", "5s"];

    private Task<CommandResult> Inspect(string name, string format) => d.DockerAsync("inspect", "-f", format, name);

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private async Task<List<string>> EventActions(string name, long since)
    {
        var r = await d.DockerAsync("events", "--since", since.ToString(), "--until", (Now() + 1).ToString(),
            "--filter", $"container={name}", "--format", "{{.Action}}");
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    /// <summary>
    /// The events once <paramref name="wanted"/> is among them: the daemon saves the new health state (which inspect
    /// shows at once) before it publishes the event, so on a loaded machine the event can trail the state a little.
    /// </summary>
    private async Task<List<string>> EventActionsWith(string name, long since, string wanted)
    {
        var r = await DockerCliTests.PollAsync(async () => new CommandResult(0, string.Join("\n", await EventActions(name, since)), ""),
            r => r.Stdout.Split('\n').Contains(wanted));
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    [Fact]
    public async Task PassingCheckTurnsHealthyInInspectPsFilterAndEvents()
    {
        var name = "hok" + d.Tag;
        var since = Now() - 1;
        try
        {
            var run = await d.DockerAsync(["run", "-d", "--name", name, "--health-cmd", "echo probe-ok", .. Fast, "busybox", "sleep", "300"]);
            Assert.True(run.ExitCode == 0, run.ToString());
            var status = await DockerCliTests.PollAsync(() => Inspect(name, "{{.State.Health.Status}}"), r => r.Stdout.Trim() == "healthy", 100);
            Assert.Equal("healthy", status.Stdout.Trim());

            var health = JsonDocument.Parse((await Inspect(name, "{{json .State.Health}}")).Stdout).RootElement;
            Assert.Equal(0, health.GetProperty("FailingStreak").GetInt32());
            var log = health.GetProperty("Log").EnumerateArray().ToList();
            Assert.NotEmpty(log);
            Assert.True(log.Count <= 5);
            Assert.Equal(0, log[^1].GetProperty("ExitCode").GetInt32());
            Assert.Equal("probe-ok\n", log[^1].GetProperty("Output").GetString());
            Assert.True(DateTimeOffset.Parse(log[^1].GetProperty("End").GetString()!) >= DateTimeOffset.Parse(log[^1].GetProperty("Start").GetString()!));
            var cfg = (await Inspect(name, "{{json .Config.Healthcheck.Test}}")).Stdout.Trim();
            Assert.Equal("[\"CMD-SHELL\",\"echo probe-ok\"]", cfg);

            var ps = await d.DockerAsync("ps", "--filter", $"name={name}", "--format", "{{.Status}}");
            Assert.Matches(@"^Up .* \(healthy\)$", ps.Stdout.Trim());
            Assert.Equal(name, (await d.DockerAsync("ps", "--filter", "health=healthy", "--format", "{{.Names}}")).Stdout.Trim());
            Assert.DoesNotContain(name, (await d.DockerAsync("ps", "--filter", "health=unhealthy", "--format", "{{.Names}}")).Stdout);
            Assert.DoesNotContain(name, (await d.DockerAsync("ps", "--filter", "health=none", "--format", "{{.Names}}")).Stdout);
            Assert.NotEqual(0, (await d.DockerAsync("ps", "--filter", "health=bogus")).ExitCode);

            var actions = await EventActionsWith(name, since, "health_status: healthy");
            Assert.Contains("health_status: healthy", actions);
            Assert.Contains("exec_create: /bin/sh -c echo probe-ok", actions);
            Assert.Contains("exec_start: /bin/sh -c echo probe-ok", actions);
            Assert.Contains("exec_die", actions);
            // The health_status event carries the container's attributes like its other events.
            var json = await d.DockerAsync("events", "--since", since.ToString(), "--until", (Now() + 1).ToString(),
                "--filter", $"container={name}", "--filter", "event=health_status: healthy", "--format", "{{json .}}");
            var ev = JsonDocument.Parse(json.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0]).RootElement;
            Assert.Equal("container", ev.GetProperty("Type").GetString());
            Assert.Equal(name, ev.GetProperty("Actor").GetProperty("Attributes").GetProperty("name").GetString());
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task FailingCheckTurnsUnhealthyAfterRetriesWithLog()
    {
        string name = "hbad" + d.Tag, slow = "hslow" + d.Tag, timeout = "htmo" + d.Tag;
        var since = Now() - 1;
        try
        {
            Assert.Equal(0, (await d.DockerAsync(["run", "-d", "--name", name, "--health-cmd", "echo failing-out; exit 3",
                "--health-retries", "2", .. Fast, "busybox", "sleep", "300"])).ExitCode);
            // An interval of an hour: no probe has run yet, so it is starting.
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--name", slow, "--health-cmd", "true", "--health-interval", "1h", "busybox", "sleep", "300")).ExitCode);
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--name", timeout, "--health-cmd", "echo partial; sleep 31", "--health-timeout", "200ms",
                "--health-interval", "300ms", "--health-retries", "1", "busybox", "sleep", "300")).ExitCode);

            Assert.Equal("starting", (await Inspect(slow, "{{.State.Health.Status}}")).Stdout.Trim());
            Assert.Matches(@"^Up .* \(health: starting\)$", (await d.DockerAsync("ps", "--filter", $"name={slow}", "--format", "{{.Status}}")).Stdout.Trim());
            Assert.Contains(slow, (await d.DockerAsync("ps", "--filter", "health=starting", "--format", "{{.Names}}")).Stdout);

            var status = await DockerCliTests.PollAsync(() => Inspect(name, "{{.State.Health.Status}}"), r => r.Stdout.Trim() == "unhealthy", 100);
            Assert.Equal("unhealthy", status.Stdout.Trim());
            var health = JsonDocument.Parse((await Inspect(name, "{{json .State.Health}}")).Stdout).RootElement;
            Assert.True(health.GetProperty("FailingStreak").GetInt32() >= 2);
            var log = health.GetProperty("Log").EnumerateArray().ToList();
            Assert.InRange(log.Count, 2, 5);
            Assert.All(log, e => Assert.Equal(3, e.GetProperty("ExitCode").GetInt32()));
            Assert.All(log, e => Assert.Equal("failing-out\n", e.GetProperty("Output").GetString()));
            Assert.Matches(@"^Up .* \(unhealthy\)$", (await d.DockerAsync("ps", "--filter", $"name={name}", "--format", "{{.Status}}")).Stdout.Trim());
            Assert.Contains(name, (await d.DockerAsync("ps", "--filter", "health=unhealthy", "--format", "{{.Names}}")).Stdout);
            var actions = await EventActionsWith(name, since, "health_status: unhealthy");
            Assert.Contains("health_status: unhealthy", actions);
            Assert.DoesNotContain("health_status: healthy", actions);
            Assert.Equal("running", (await Inspect(name, "{{.State.Status}}")).Stdout.Trim()); // no action without health-on-failure

            // A probe that outlives its timeout is killed and counts as a failure with dockerd's message.
            var t = await DockerCliTests.PollAsync(() => Inspect(timeout, "{{.State.Health.Status}}"), r => r.Stdout.Trim() == "unhealthy", 100);
            Assert.Equal("unhealthy", t.Stdout.Trim());
            var tlog = JsonDocument.Parse((await Inspect(timeout, "{{json .State.Health.Log}}")).Stdout).RootElement.EnumerateArray().Last();
            Assert.Equal(-1, tlog.GetProperty("ExitCode").GetInt32());
            Assert.StartsWith("Health check exceeded timeout (200ms)", tlog.GetProperty("Output").GetString());
            // The killed probe is gone from the container.
            var top = await DockerCliTests.PollAsync(() => d.DockerAsync("exec", timeout, "ps"), r => !r.Stdout.Contains("sleep 31"));
            Assert.DoesNotContain("sleep 31", top.Stdout); // nor its child
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name, slow, timeout);
        }
    }

    [Fact]
    public async Task HealthOnFailureRestartRestartsTheContainer()
    {
        string name = "hrst" + d.Tag, viaBerth = "hbrst" + d.Tag, killed = "hkill" + d.Tag;
        try
        {
            var run = await d.DockerAsync(["run", "-d", "--name", name, "--label", "berth.health-on-failure=restart",
                "--health-cmd", "exit 1", "--health-retries", "1", "--stop-timeout", "1", .. Fast, "busybox", "sleep", "300"]);
            Assert.True(run.ExitCode == 0, run.ToString());
            var pid = (await Inspect(name, "{{.State.Pid}}")).Stdout.Trim();
            var restarted = await DockerCliTests.PollAsync(() => Inspect(name, "{{.RestartCount}} {{.State.Status}}"),
                r => r.Stdout.Trim() is var s && s != "0 running" && s.EndsWith(" running"), 150);
            Assert.Matches(@"^[1-9][0-9]* running$", restarted.Stdout.Trim());
            Assert.NotEqual(pid, (await Inspect(name, "{{.State.Pid}}")).Stdout.Trim());

            // berth run --health-on-failure sets the label; the daemon acts on it the same way.
            var b = await d.BerthAsync("run", "-d", "--name", viaBerth, "--health-on-failure", "stop", "--health-cmd", "exit 1",
                "--health-retries", "1", "--health-interval", "300ms", "--stop-timeout", "1", "busybox", "sleep", "300");
            Assert.True(b.ExitCode == 0, b.ToString());
            Assert.Equal("stop", (await Inspect(viaBerth, "{{index .Config.Labels \"berth.health-on-failure\"}}")).Stdout.Trim());
            Assert.Equal("[\"CMD-SHELL\",\"exit 1\"]", (await Inspect(viaBerth, "{{json .Config.Healthcheck.Test}}")).Stdout.Trim());
            var stopped = await DockerCliTests.PollAsync(() => Inspect(viaBerth, "{{.State.Status}}"), r => r.Stdout.Trim() == "exited", 150);
            Assert.Equal("exited", stopped.Stdout.Trim());
            Assert.Equal("0", (await Inspect(viaBerth, "{{.RestartCount}}")).Stdout.Trim());

            // kill sends SIGKILL and leaves the rest to the restart policy, which brings it back.
            var k = await d.DockerAsync(["run", "-d", "--name", killed, "--restart", "always", "--label", "berth.health-on-failure=kill",
                "--health-cmd", "exit 1", "--health-retries", "1", .. Fast, "busybox", "sleep", "300"]);
            Assert.True(k.ExitCode == 0, k.ToString());
            var back = await DockerCliTests.PollAsync(() => Inspect(killed, "{{.RestartCount}} {{.State.Status}}"),
                r => r.Stdout.Trim() is var s && s != "0 running" && s.EndsWith(" running"), 150);
            Assert.Matches(@"^[1-9][0-9]* running$", back.Stdout.Trim());
        }
        finally
        {
            var ids = (await d.DockerAsync("inspect", "-f", "{{.Id}}", name, viaBerth, killed)).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            await d.DockerAsync("rm", "-f", name, viaBerth, killed);
            // Removed while its health action restarts it over and over: no run of it outlives the removal.
            foreach (var id in ids)
            {
                var left = await DockerCliTests.PollAsync(() => d.ShellAsync($"pgrep -f 'berth-shim --id {id}'"), r => r.ExitCode != 0, 100);
                Assert.True(left.ExitCode != 0, $"a shim of removed container {id[..12]} is still running");
            }
        }
    }

    [Fact]
    public async Task HealthOnFailureRestartYieldsToAStopOrRemovalByHand()
    {
        string stopped = "hyield" + d.Tag, removed = "hyrm" + d.Tag;
        var since = Now() - 1;
        try
        {
            // sleep as PID 1 ignores SIGTERM, so the action's graceful stop waits out its 20 s: the user's stop and
            // removal come while it does.
            foreach (var name in new[] { stopped, removed })
            {
                var run = await d.DockerAsync(["run", "-d", "--name", name, "--label", "berth.health-on-failure=restart",
                    "--health-cmd", "exit 1", "--health-retries", "1", "--stop-timeout", "20", .. Fast, "busybox", "sleep", "300"]);
                Assert.True(run.ExitCode == 0, run.ToString());
            }
            foreach (var name in new[] { stopped, removed })
                Assert.Contains("kill", await EventActionsWith(name, since, "kill")); // the action's SIGTERM

            Assert.Equal(0, (await d.DockerAsync("stop", "-t", "1", stopped)).ExitCode);
            Assert.Contains("die", await EventActionsWith(stopped, since, "die"));
            await Task.Delay(1000); // the action's restart would follow the exit at once
            Assert.Equal("exited 0", (await Inspect(stopped, "{{.State.Status}} {{.RestartCount}}")).Stdout.Trim());
            Assert.Equal(1, (await EventActions(stopped, since)).Count(a => a == "start")); // the run's own start only

            var id = (await Inspect(removed, "{{.Id}}")).Stdout.Trim();
            var rm = await d.DockerAsync("rm", "-f", removed);
            Assert.True(rm.ExitCode == 0, rm.ToString());
            await Task.Delay(1000);
            Assert.Equal(1, (await d.DockerAsync("inspect", removed)).ExitCode);
            var left = await DockerCliTests.PollAsync(() => d.ShellAsync($"pgrep -f 'berth-shim --id {id}'"), r => r.ExitCode != 0, 100);
            Assert.True(left.ExitCode != 0, "the removed container was started again");
        }
        finally
        {
            await d.DockerAsync("rm", "-f", stopped, removed);
        }
    }

    [Fact]
    public async Task StopEndsProbing()
    {
        var name = "hstop" + d.Tag;
        var since = Now() - 1;
        try
        {
            Assert.Equal(0, (await d.DockerAsync(["run", "-d", "--name", name, "--health-cmd", "true", .. Fast, "busybox", "sleep", "300"])).ExitCode);
            await DockerCliTests.PollAsync(() => Inspect(name, "{{.State.Health.Status}}"), r => r.Stdout.Trim() == "healthy", 100);
            // Paused: no probes (dockerd closes the monitor: unhealthy at once, not at the next interval, and the
            // health filter sees it); unpaused: probing resumes and it turns healthy.
            Assert.Equal(0, (await d.DockerAsync("pause", name)).ExitCode);
            Assert.Equal("unhealthy", (await Inspect(name, "{{.State.Health.Status}}")).Stdout.Trim());
            Assert.Equal(name, (await d.DockerAsync("ps", "--filter", "health=unhealthy", "--filter", "name=" + name, "--format", "{{.Names}}")).Stdout.Trim());
            Assert.Equal(0, (await d.DockerAsync("unpause", name)).ExitCode);
            var resumed = await DockerCliTests.PollAsync(() => Inspect(name, "{{.State.Health.Status}}"), r => r.Stdout.Trim() == "healthy", 100);
            Assert.Equal("healthy", resumed.Stdout.Trim());
            Assert.Equal(0, (await d.DockerAsync("stop", "-t", "1", name)).ExitCode);
            var before = (await EventActions(name, since)).Count(a => a.StartsWith("exec_create", StringComparison.Ordinal));
            Assert.True(before > 0);
            await Task.Delay(1500); // five intervals: a monitor still running would probe again
            var after = await EventActions(name, since);
            Assert.Equal(before, after.Count(a => a.StartsWith("exec_create", StringComparison.Ordinal)));
            // dockerd marks the health unhealthy when its monitor stops; the log stays; a new start probes again.
            Assert.Equal("unhealthy", (await Inspect(name, "{{.State.Health.Status}}")).Stdout.Trim());
            Assert.NotEqual("[]", (await Inspect(name, "{{json .State.Health.Log}}")).Stdout.Trim());
            Assert.Equal(0, (await d.DockerAsync("start", name)).ExitCode);
            var again = await DockerCliTests.PollAsync(async () => new CommandResult(0,
                (await EventActions(name, since)).Count(a => a.StartsWith("exec_create", StringComparison.Ordinal)).ToString(), ""),
                r => int.Parse(r.Stdout) > before, 100);
            Assert.True(int.Parse(again.Stdout) > before);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task ImageHealthcheckRunsAndNoHealthcheckDisablesIt()
    {
        string baseName = "hbase" + d.Tag, image = "hcimg" + d.Tag, withIt = "hwith" + d.Tag, without = "hwithout" + d.Tag;
        try
        {
            Assert.Equal(0, (await d.DockerAsync("create", "--name", baseName, "busybox", "true")).ExitCode);
            var commit = await d.DockerAsync("commit", "--change", "HEALTHCHECK --interval=300ms --retries=1 CMD [\"false\"]", baseName, image);
            Assert.True(commit.ExitCode == 0, commit.ToString());
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--name", withIt, image, "sleep", "300")).ExitCode);
            Assert.Equal(0, (await d.DockerAsync("run", "-d", "--name", without, "--no-healthcheck", image, "sleep", "300")).ExitCode);

            var s = await DockerCliTests.PollAsync(() => Inspect(withIt, "{{.State.Health.Status}}"), r => r.Stdout.Trim() == "unhealthy", 100);
            Assert.Equal("unhealthy", s.Stdout.Trim());
            Assert.Equal("[\"CMD\",\"false\"]", (await Inspect(withIt, "{{json .Config.Healthcheck.Test}}")).Stdout.Trim());

            Assert.Equal("[\"NONE\"]", (await Inspect(without, "{{json .Config.Healthcheck.Test}}")).Stdout.Trim());
            Assert.Equal("null", (await Inspect(without, "{{json .State.Health}}")).Stdout.Trim());
            Assert.Matches(@"^Up [^(]*$", (await d.DockerAsync("ps", "--filter", $"name={without}", "--format", "{{.Status}}")).Stdout.Trim());
            Assert.Contains(without, (await d.DockerAsync("ps", "--filter", "health=none", "--format", "{{.Names}}")).Stdout);
            Assert.DoesNotContain("exec_create", string.Join("\n", await EventActions(without, 0)));
        }
        finally
        {
            await d.DockerAsync("rm", "-f", withIt, without, baseName);
            await d.DockerAsync("rmi", image);
        }
    }

    [Fact]
    public async Task RestoredContainerGetsItsMonitorAgain()
    {
        var name = "hlive" + d.Tag;
        try
        {
            Assert.Equal(0, (await d.DockerAsync(["run", "-d", "--name", name, "--health-cmd", "echo live", .. Fast, "busybox", "sleep", "300"])).ExitCode);
            await DockerCliTests.PollAsync(() => Inspect(name, "{{.State.Health.Status}}"), r => r.Stdout.Trim() == "healthy", 100);
            var pid = (await Inspect(name, "{{.State.Pid}}")).Stdout.Trim();

            // A graceful daemon stop (monitors end, the container stays) and a crash: each next daemon probes again.
            foreach (var crash in new[] { false, true })
            {
                if (crash) await d.KillDaemonAsync(); else await d.StopDaemonAsync();
                Assert.True(Directory.Exists($"/proc/{pid}"), "the container died with the daemon");
                var since = Now() - 1;
                await d.StartDaemonAsync();
                Assert.Equal(pid, (await Inspect(name, "{{.State.Pid}}")).Stdout.Trim());
                Assert.Equal("healthy", (await Inspect(name, "{{.State.Health.Status}}")).Stdout.Trim());
                var probes = await DockerCliTests.PollAsync(async () => new CommandResult(0, string.Join("\n", await EventActions(name, since)), ""),
                    r => r.Stdout.Contains("exec_die"), 100);
                Assert.Contains("exec_start: /bin/sh -c echo live", probes.Stdout);
            }
            // A probe that failed would have left its output in the log; the restored monitor's probes passed.
            var last = JsonDocument.Parse((await Inspect(name, "{{json .State.Health.Log}}")).Stdout).RootElement.EnumerateArray().Last();
            Assert.Equal("live\n", last.GetProperty("Output").GetString());
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task BadHealthSettingsAreRejected()
    {
        var name = "hinv" + d.Tag;
        var r = await d.DockerAsync("run", "-d", "--name", name, "--label", "berth.health-on-failure=explode", "busybox", "sleep", "300");
        Assert.Equal(125, r.ExitCode);
        Assert.Contains("invalid berth.health-on-failure value \"explode\"", r.Stderr);
        Assert.Equal(1, (await d.DockerAsync("inspect", name)).ExitCode); // nothing was created

        var http = await d.ShellAsync($"curl -s -o /dev/null -w '%{{http_code}}' --unix-socket {d.Socket} -X POST -H 'Content-Type: application/json' " +
            "-d '{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"Labels\":{\"berth.health-on-failure\":\"bogus\"}}' http://localhost/containers/create");
        Assert.Equal("400", http.Stdout.Trim());
        var tooShort = await d.DockerAsync("run", "-d", "--health-cmd", "true", "--health-interval", "10us", "busybox", "true");
        Assert.Equal(125, tooShort.ExitCode);
        Assert.Contains("Interval in Healthcheck cannot be less than 1ms", tooShort.Stderr);

        var b = await d.BerthAsync("run", "-d", "--name", name, "--health-on-failure", "explode", "busybox", "sleep", "300");
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains("health-on-failure", b.Stderr);
        var conflict = await d.BerthAsync("run", "-d", "--no-healthcheck", "--health-cmd", "true", "busybox", "true");
        Assert.Equal(125, conflict.ExitCode);
        Assert.Contains("--no-healthcheck conflicts with --health-* options", conflict.Stderr);
        await d.DockerAsync("rm", "-f", name);
    }
}
