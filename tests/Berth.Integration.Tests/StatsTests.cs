using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Berth.Integration.Tests;

/// <summary>docker stats, pause/unpause and update against a private berthd, checked through the docker CLI and the cgroup files.</summary>
public sealed class StatsTests(DaemonFixture d) : IClassFixture<DaemonFixture>, IDisposable
{
    private readonly EngineApi _api = new(d.Socket);

    public void Dispose() => _api.Dispose();

    private async Task<string> RunDetachedAsync(string name, params string[] args)
    {
        var r = await d.DockerAsync(["run", "-d", "--name", name, .. args]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout.Trim();
    }

    /// <summary>go-units sizes as docker prints them ("552KiB", "1.05kB", "0B") back to bytes.</summary>
    private static double ParseSize(string s)
    {
        string[] units = ["YiB", "ZiB", "EiB", "PiB", "TiB", "GiB", "MiB", "KiB", "kB", "MB", "GB", "TB", "B"];
        foreach (var u in units)
        {
            if (!s.EndsWith(u, StringComparison.Ordinal)) continue;
            var n = double.Parse(s[..^u.Length], CultureInfo.InvariantCulture);
            double mul = u switch
            {
                "KiB" => 1024, "MiB" => 1 << 20, "GiB" => 1 << 30, "TiB" => Math.Pow(1024, 4),
                "kB" => 1e3, "MB" => 1e6, "GB" => 1e9, "TB" => 1e12, "B" => 1, _ => Math.Pow(1024, 5),
            };
            return n * mul;
        }
        throw new FormatException($"not a size: {s}");
    }

    [Fact]
    public async Task StatsNoStream_ShowsMemoryOfRunningContainer_AndCpuOfSpinner()
    {
        var spin = "spin" + d.Tag;
        var idle = "idle" + d.Tag;
        await RunDetachedAsync(spin, "busybox", "sh", "-c", "while :; do :; done");
        await RunDetachedAsync(idle, "busybox", "sleep", "300");

        // Docker's default table: its columns, one row per container, names without the slash.
        var table = await d.DockerAsync("stats", "--no-stream", spin, idle);
        Assert.True(table.ExitCode == 0, table.ToString());
        var lines = table.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal(["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"],
            System.Text.RegularExpressions.Regex.Split(lines[0].Trim(), "  +"));
        Assert.Contains(lines, l => l.Contains(spin, StringComparison.Ordinal));

        var r = await d.DockerAsync("stats", "--no-stream", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", spin, idle);
        Assert.True(r.ExitCode == 0, r.ToString());
        var rows = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).ToDictionary(f => f[0]);
        var spinRow = rows[spin];
        var idleRow = rows[idle];
        double cpu = double.Parse(spinRow[1].TrimEnd('%'), CultureInfo.InvariantCulture);
        Assert.True(cpu > 0, $"spinning container shows CPU {spinRow[1]}");
        var mem = idleRow[2].Split(" / ");
        Assert.True(ParseSize(mem[0]) > 0, $"running container shows memory {idleRow[2]}");
        Assert.True(ParseSize(mem[1]) >= ParseSize(mem[0]), idleRow[2]);
        Assert.True(int.Parse(idleRow[3], CultureInfo.InvariantCulture) >= 1, idleRow[3]);

        // The API's sample: Docker's shape, precpu filled by the wait, the container's eth0 counted.
        var api = await _api.GetAsync($"/containers/{idle}/stats?stream=false");
        Assert.Equal(HttpStatusCode.OK, api.Status);
        var j = api.Json();
        Assert.Equal("/" + idle, j.GetProperty("name").GetString());
        Assert.True(j.GetProperty("memory_stats").GetProperty("usage").GetUInt64() > 0);
        Assert.True(j.GetProperty("cpu_stats").GetProperty("system_cpu_usage").GetUInt64() > j.GetProperty("precpu_stats").GetProperty("system_cpu_usage").GetUInt64());
        Assert.True(j.GetProperty("cpu_stats").GetProperty("online_cpus").GetUInt32() >= 1);
        Assert.True(j.GetProperty("networks").GetProperty("eth0").GetProperty("rx_packets").GetUInt64() >= 0);
        Assert.NotEqual("0001-01-01T00:00:00Z", j.GetProperty("preread").GetString());

        // Our CLI computes the same columns.
        var berth = await d.BerthAsync("stats", "--no-stream", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}", spin);
        Assert.True(berth.ExitCode == 0, berth.ToString());
        var f = berth.Stdout.Trim().Split('|');
        Assert.Equal(spin, f[0]);
        Assert.True(double.Parse(f[1].TrimEnd('%'), CultureInfo.InvariantCulture) > 0, berth.Stdout);
        Assert.True(ParseSize(f[2].Split(" / ")[0]) > 0, berth.Stdout);

        await d.DockerAsync("rm", "-f", spin, idle);
    }

    [Fact]
    public async Task StoppedContainer_GivesZeros_AndStreamSendsOnePerSecond()
    {
        var name = "stopped" + d.Tag;
        var c = await d.DockerAsync("create", "--name", name, "busybox", "true");
        Assert.True(c.ExitCode == 0, c.ToString());
        var r = await _api.GetAsync($"/containers/{name}/stats?stream=false");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var j = r.Json();
        Assert.Equal("/" + name, j.GetProperty("name").GetString());
        Assert.Equal(0UL, j.GetProperty("cpu_stats").GetProperty("cpu_usage").GetProperty("total_usage").GetUInt64());
        Assert.Equal(JsonValueKind.Object, j.GetProperty("memory_stats").ValueKind);
        Assert.False(j.GetProperty("memory_stats").TryGetProperty("usage", out _));
        EngineApi.AssertError(await _api.GetAsync($"/containers/{name}/stats?stream=true&one-shot=true"), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.GetAsync($"/containers/nosuch{d.Tag}/stats?stream=false"), HttpStatusCode.NotFound);

        // A stream: newline-delimited samples, each with the previous one's figures as precpu.
        var run = "streamed" + d.Tag;
        await RunDetachedAsync(run, "busybox", "sleep", "300");
        using var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                await s.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(d.Socket), ct);
                return new System.Net.Sockets.NetworkStream(s, ownsSocket: true);
            },
        }) { BaseAddress = new Uri("http://berth"), Timeout = TimeSpan.FromSeconds(30) };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var resp = await http.GetAsync($"/containers/{run}/stats", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(cts.Token));
        var samples = new List<JsonElement>();
        for (int i = 0; i < 3; i++)
        {
            var line = await reader.ReadLineAsync(cts.Token);
            Assert.NotNull(line);
            samples.Add(JsonDocument.Parse(line).RootElement.Clone());
        }
        Assert.Equal(samples[1].GetProperty("read").GetString(), samples[2].GetProperty("preread").GetString());
        Assert.Equal(samples[1].GetProperty("cpu_stats").GetProperty("system_cpu_usage").GetUInt64(),
            samples[2].GetProperty("precpu_stats").GetProperty("system_cpu_usage").GetUInt64());
        await d.DockerAsync("rm", "-f", name, run);
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task PausedContainer_DoesNotAdvance_AndResumesAfterUnpause()
    {
        var name = "counter" + d.Tag;
        var dir = Path.Combine(d.Root, "counter-" + d.Tag);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "n");
        // Bounded inside too: at most 20000 steps of 50 ms.
        await RunDetachedAsync(name, "-v", $"{dir}:/out", "busybox", "sh", "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); echo $i > /out/n.tmp; mv /out/n.tmp /out/n; sleep 0.05; done");

        long Read() => File.Exists(file) && long.TryParse(File.ReadAllText(file).Trim(), out var v) ? v : -1;
        for (int i = 0; i < 100 && Read() < 3; i++) await Task.Delay(100);
        Assert.True(Read() >= 3, "the counter never started");

        var pause = await d.DockerAsync("pause", name);
        Assert.True(pause.ExitCode == 0, pause.ToString());
        Assert.Equal(name, pause.Stdout.Trim());
        var first = Read();
        await Task.Delay(1000);
        var second = Read();
        Assert.Equal(first, second);

        var state = await d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", name);
        Assert.Equal("paused true true", state.Stdout.Trim());
        var ps = await d.DockerAsync("ps", "--filter", $"name={name}", "--format", "{{.Status}}");
        Assert.Matches(@"^Up .* \(Paused\)$", ps.Stdout.Trim());

        var again = await d.DockerAsync("pause", name);
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("is already paused", again.Stderr);

        var unpause = await d.DockerAsync("unpause", name);
        Assert.True(unpause.ExitCode == 0, unpause.ToString());
        for (int i = 0; i < 100 && Read() <= second; i++) await Task.Delay(100);
        Assert.True(Read() > second, $"the counter did not move after unpause ({second})");
        Assert.Equal("running false true", (await d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", name)).Stdout.Trim());

        var notPaused = await d.DockerAsync("unpause", name);
        Assert.NotEqual(0, notPaused.ExitCode);
        Assert.Contains("is not paused", notPaused.Stderr);

        // A paused container still stops: the daemon thaws it after the signal.
        Assert.Equal(0, (await d.DockerAsync("pause", name)).ExitCode);
        var stop = await d.DockerAsync("stop", "-t", "1", name);
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Equal("exited false false", (await d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", name)).Stdout.Trim());

        // And rm -f of a paused one removes it.
        Assert.Equal(0, (await d.DockerAsync("start", name)).ExitCode);
        Assert.Equal(0, (await d.DockerAsync("pause", name)).ExitCode);
        var rm = await d.DockerAsync("rm", "-f", name);
        Assert.True(rm.ExitCode == 0, rm.ToString());
        Assert.NotEqual(0, (await d.DockerAsync("inspect", name)).ExitCode);
    }

    [Fact]
    public async Task PausedState_SurvivesDaemonRestart()
    {
        var name = "keep" + d.Tag;
        await RunDetachedAsync(name, "busybox", "sleep", "300");
        Assert.Equal(0, (await d.BerthAsync("pause", name)).ExitCode);
        await d.StopDaemonAsync();
        await d.StartDaemonAsync();
        Assert.Equal("paused", (await d.DockerAsync("inspect", "-f", "{{.State.Status}}", name)).Stdout.Trim());
        var unpause = await d.BerthAsync("unpause", name);
        Assert.True(unpause.ExitCode == 0, unpause.ToString());
        Assert.Equal("running", (await d.DockerAsync("inspect", "-f", "{{.State.Status}}", name)).Stdout.Trim());
        await d.DockerAsync("rm", "-f", name);
    }

    [Fact]
    public async Task Update_ChangesInspect_AndCgroupFiles_AndRestartPolicy()
    {
        var name = "upd" + d.Tag;
        var id = await RunDetachedAsync(name, "busybox", "sleep", "300");
        var r = await d.DockerAsync("update", "--memory", "64m", "--pids-limit", "50", name);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(name, r.Stdout.Trim());

        var inspect = await d.DockerAsync("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}", name);
        Assert.Equal("67108864 50", inspect.Stdout.Trim());

        if (File.Exists("/sys/fs/cgroup/cgroup.controllers"))
        {
            var dir = $"/sys/fs/cgroup/{d.CgroupParent}/{id}";
            Assert.Equal("67108864", File.ReadAllText($"{dir}/memory.max").Trim());
            Assert.Equal("50", File.ReadAllText($"{dir}/pids.max").Trim());
        }
        else
        {
            Assert.Equal("67108864", File.ReadAllText($"/sys/fs/cgroup/memory/{d.CgroupParent}/{id}/memory.limit_in_bytes").Trim());
            Assert.Equal("50", File.ReadAllText($"/sys/fs/cgroup/pids/{d.CgroupParent}/{id}/pids.max").Trim());
        }
        var stats = await d.DockerAsync("stats", "--no-stream", "--format", "{{.MemUsage}}", name);
        Assert.EndsWith("/ 64MiB", stats.Stdout.Trim());

        var restart = await d.DockerAsync("update", "--restart", "always", name);
        Assert.True(restart.ExitCode == 0, restart.ToString());
        Assert.Equal("always", (await d.DockerAsync("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", name)).Stdout.Trim());

        // A stopped container keeps the update for its next start.
        Assert.Equal(0, (await d.DockerAsync("stop", "-t", "0", name)).ExitCode);
        var berth = await d.BerthAsync("update", "--pids-limit", "40", name);
        Assert.True(berth.ExitCode == 0, berth.ToString());
        Assert.Equal(0, (await d.DockerAsync("start", name)).ExitCode);
        var pids = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? $"/sys/fs/cgroup/{d.CgroupParent}/{id}/pids.max" : $"/sys/fs/cgroup/pids/{d.CgroupParent}/{id}/pids.max";
        Assert.Equal("40", File.ReadAllText(pids).Trim());
        Assert.Equal("67108864 40", (await d.DockerAsync("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}", name)).Stdout.Trim());
        await d.DockerAsync("rm", "-f", name);
    }

    [Fact]
    public async Task BadInput_Is4xx_AndDaemonKeepsServing()
    {
        var name = "bad" + d.Tag;
        await RunDetachedAsync(name, "busybox", "sleep", "300");
        Assert.Equal("Minimum memory limit allowed is 6MB",
            EngineApi.AssertError(await _api.PostAsync($"/containers/{name}/update", """{"Memory":-1}"""), HttpStatusCode.BadRequest));
        Assert.Equal("Minimum memory limit allowed is 6MB",
            EngineApi.AssertError(await _api.PostAsync($"/containers/{name}/update", """{"Memory":1024}"""), HttpStatusCode.BadRequest));
        EngineApi.AssertError(await _api.PostAsync($"/containers/{name}/update", """{"RestartPolicy":{"Name":"sometimes"}}"""), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.PostAsync($"/containers/{name}/update", """{"CpuPeriod":5}"""), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.PostAsync($"/containers/{name}/update", "{not json"), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.PostAsync($"/containers/nosuch{d.Tag}/update", "{}"), HttpStatusCode.NotFound);
        // Nothing of the refused updates reached the record.
        Assert.Equal("0 no", (await d.DockerAsync("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}", name)).Stdout.Trim());

        var cli = await d.DockerAsync("update", "--memory", "1k", name);
        Assert.NotEqual(0, cli.ExitCode);
        Assert.Contains("Minimum memory limit allowed is 6MB", cli.Stderr);

        Assert.Equal(0, (await d.DockerAsync("stop", "-t", "0", name)).ExitCode);
        var pause = await d.DockerAsync("pause", name);
        Assert.NotEqual(0, pause.ExitCode);
        Assert.Contains("is not running", pause.Stderr);
        Assert.Contains("is not running", EngineApi.AssertError(await _api.PostAsync($"/containers/{name}/pause"), HttpStatusCode.Conflict));
        Assert.Contains("is not paused", EngineApi.AssertError(await _api.PostAsync($"/containers/{name}/unpause"), HttpStatusCode.Conflict));
        EngineApi.AssertError(await _api.PostAsync($"/containers/nosuch{d.Tag}/pause"), HttpStatusCode.NotFound);

        await _api.AssertAliveAsync();
        var v = await d.DockerAsync("version", "--format", "{{.Server.Version}}");
        Assert.Equal(0, v.ExitCode);
        await d.DockerAsync("rm", "-f", name);
    }

    [Fact]
    public async Task CgroupParent_PlacesTheContainer_AndStatsReadItThere()
    {
        string name = "cgp" + d.Tag, relName = "cgr" + d.Tag;
        string parent = $"/berth-test-cgp-{d.Tag}", rel = $"berth-test-cgr-{d.Tag}";
        try
        {
            var id = await RunDetachedAsync(name, "--cgroup-parent", parent, "--memory", "64m", "busybox", "sh", "-c", "sleep 301 & exec sleep 300");
            Assert.Equal(parent, (await d.DockerAsync("inspect", "-f", "{{.HostConfig.CgroupParent}}", name)).Stdout.Trim());
            var pid = (await d.DockerAsync("inspect", "-f", "{{.State.Pid}}", name)).Stdout.Trim();
            // Every controller places it under the parent; its limit is written there.
            var cgroups = File.ReadAllLines($"/proc/{pid}/cgroup");
            Assert.Contains(cgroups, l => l.EndsWith($":memory:{parent}/{id}", StringComparison.Ordinal) || l == $"0::{parent}/{id}");
            var limit = await d.ShellAsync($"cat /sys/fs/cgroup/memory{parent}/{id}/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup{parent}/{id}/memory.max");
            Assert.Equal("67108864", limit.Stdout.Trim());
            // docker stats reads the counters where the container is.
            var stats = await d.DockerAsync("stats", "--no-stream", "--format", "{{.MemUsage}}", name);
            Assert.True(stats.ExitCode == 0, stats.ToString());
            Assert.EndsWith("/ 64MiB", stats.Stdout.Trim());
            // docker top lists the processes of that cgroup: the child as well as PID 1.
            var top = await d.DockerAsync("top", name);
            Assert.True(top.ExitCode == 0, top.ToString());
            Assert.Contains("sleep 301", top.Stdout);
            Assert.Contains("sleep 300", top.Stdout);

            // Without a leading slash the parent is under the daemon's own cgroup (this test's, which started it).
            var own = File.ReadAllLines("/proc/self/cgroup").FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..].TrimEnd('/') ?? "";
            var relId = await RunDetachedAsync(relName, "--cgroup-parent", rel, "busybox", "sleep", "300");
            var relPid = (await d.DockerAsync("inspect", "-f", "{{.State.Pid}}", relName)).Stdout.Trim();
            Assert.Contains(File.ReadAllLines($"/proc/{relPid}/cgroup"), l => l.EndsWith($":{own}/{rel}/{relId}", StringComparison.Ordinal));

            var bad = await d.DockerAsync("run", "--rm", "--cgroup-parent", "/a/../../escape", "busybox", "true");
            Assert.Equal(125, bad.ExitCode);
            Assert.Contains("invalid cgroup parent", bad.Stderr);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name, relName);
            // runc removes the container's own cgroup; the parents it made stay, as under dockerd, so the test removes them.
            await d.ShellAsync($"find /sys/fs/cgroup -depth -type d \\( -path '*{parent}*' -o -path '*/{rel}*' \\) -exec rmdir {{}} + 2>/dev/null");
        }
        Assert.Equal("", (await d.ShellAsync($"find /sys/fs/cgroup -maxdepth 6 -type d \\( -name 'berth-test-cgp-{d.Tag}' -o -name '{rel}' \\)")).Stdout.Trim());
    }
}
