using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Berth.Integration.Tests;

/// <summary>Events, system df, container sizes and port, driven with the real docker CLI (and berth) against a private berthd.</summary>
public sealed class EventsTests(DaemonFixture d) : IClassFixture<DaemonFixture>, IDisposable
{
    private readonly EngineApi _api = new(d.Socket);

    public void Dispose() => _api.Dispose();

    internal static string UnixNow()
    {
        var ticks = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks;
        return string.Create(CultureInfo.InvariantCulture, $"{ticks / TimeSpan.TicksPerSecond}.{ticks % TimeSpan.TicksPerSecond * 100:D9}");
    }

    /// <summary>A `docker events` child process whose stdout lines are collected as they come; killed by PID on dispose.</summary>
    private sealed class EventsWatcher : IDisposable
    {
        private readonly Process _p;
        public readonly ConcurrentQueue<string> Lines = new();

        public EventsWatcher(DaemonFixture d, params string[] args)
        {
            var psi = new ProcessStartInfo("/usr/local/bin/docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("events");
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["DOCKER_HOST"] = d.DockerHost;
            psi.Environment["DOCKER_CONFIG"] = Path.Combine(d.Root, "docker-config");
            psi.Environment.Remove("DOCKER_CONTEXT");
            _p = Process.Start(psi)!;
            _p.OutputDataReceived += (_, e) => { if (e.Data is not null) Lines.Enqueue(e.Data); };
            _p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Lines.Enqueue("stderr: " + e.Data); };
            _p.BeginOutputReadLine();
            _p.BeginErrorReadLine();
        }

        public async Task<bool> WaitForAsync(Func<string, bool> line, int seconds = 20)
        {
            for (int i = 0; i < seconds * 20; i++)
            {
                if (Lines.Any(line)) return true;
                if (_p.HasExited) return Lines.Any(line);
                await Task.Delay(50);
            }
            return false;
        }

        public void Dispose()
        {
            try { if (!_p.HasExited) _p.Kill(); } catch (InvalidOperationException) { }
            _p.WaitForExit(10_000);
            _p.Dispose();
        }
    }

    // docker's default line: TIME TYPE ACTION ID (attributes)
    private static readonly Regex EventLine = new(@"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(?:Z|[+-]\d\d:\d\d)) (\w+) (\S+) ([0-9a-f]{64}|\S+)(?: \((.*)\))?$");

    private static List<(string Type, string Action, string Id, string Attrs)> Parse(IEnumerable<string> lines) =>
        lines.Select(l => EventLine.Match(l)).Where(m => m.Success)
            .Select(m => (m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value, m.Groups[5].Value)).ToList();

    [Fact]
    public async Task RunRmStreamsCreateAttachStartDieDestroyLive()
    {
        var name = "evrun" + d.Tag;
        var marker = "evmark" + d.Tag;
        // No --since: only live events. A marker container tells us when the stream is subscribed.
        using var w = new EventsWatcher(d, "--filter", $"container={name}", "--filter", $"container={marker}");
        bool live = false;
        for (int i = 0; i < 20 && !live; i++)
        {
            var c = await d.DockerAsync("create", "--name", marker + i, "busybox", "true");
            Assert.True(c.ExitCode == 0, c.ToString());
            live = await w.WaitForAsync(l => l.Contains($"name={marker}{i}"), 1);
        }
        Assert.True(live, "docker events never showed the marker container: " + string.Join("\n", w.Lines));

        var run = await d.DockerAsync("run", "--rm", "--name", name, "-l", "evtest=yes", "busybox", "true");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(await w.WaitForAsync(l => l.Contains(" container destroy ") && l.Contains($"name={name}")), string.Join("\n", w.Lines));

        var mine = Parse(w.Lines).Where(e => e.Attrs.Contains($"name={name}")).ToList();
        Assert.Equal(["create", "attach", "start", "die", "destroy"], mine.Select(e => e.Action).ToArray());
        Assert.All(mine, e => Assert.Equal("container", e.Type));
        Assert.Single(mine.Select(e => e.Id).Distinct());
        Assert.Contains("exitCode=0", mine.Single(e => e.Action == "die").Attrs);
        Assert.Contains("evtest=yes", mine[0].Attrs);
        Assert.Contains("image=busybox", mine[0].Attrs);
        // The filter kept everything else out (the network connect of the run, the marker's own lines aside).
        Assert.All(Parse(w.Lines), e => Assert.True(e.Attrs.Contains($"name={name}") || e.Attrs.Contains($"name={marker}"), e.ToString()));
        for (int i = 0; i < 20; i++) await d.DockerAsync("rm", "-f", marker + i);
    }

    [Fact]
    public async Task SinceAndUntilReplayWhatHappenedBetween()
    {
        var a = "evvola" + d.Tag;
        var b = "evvolb" + d.Tag;
        var t1 = UnixNow();
        Assert.Equal(0, (await d.DockerAsync("volume", "create", a)).ExitCode);
        Assert.Equal(0, (await d.DockerAsync("volume", "rm", a)).ExitCode);
        var t2 = UnixNow();
        Assert.Equal(0, (await d.DockerAsync("volume", "create", b)).ExitCode);
        try
        {
            // until is in the past: the CLI gets the replay and the stream ends by itself.
            var r = await d.DockerAsync("events", "--since", t1, "--until", t2, "--filter", "type=volume");
            Assert.True(r.ExitCode == 0, r.ToString());
            var events = Parse(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal([("volume", "create", a), ("volume", "destroy", a)], events.Select(e => (e.Type, e.Action, e.Id)).ToArray());
            Assert.DoesNotContain(b, r.Stdout);

            // {{json .}}: Docker's EventMessage with the lower-case scope/time fields.
            var j = await d.DockerAsync("events", "--since", t1, "--until", t2, "--filter", $"volume={a}", "--format", "{{json .}}");
            Assert.True(j.ExitCode == 0, j.ToString());
            var first = JsonDocument.Parse(j.Stdout.Split('\n')[0]).RootElement;
            Assert.Equal("volume", first.GetProperty("Type").GetString());
            Assert.Equal("create", first.GetProperty("Action").GetString());
            Assert.Equal(a, first.GetProperty("Actor").GetProperty("ID").GetString());
            Assert.Equal("local", first.GetProperty("scope").GetString());
            Assert.True(first.GetProperty("timeNano").GetInt64() / 1_000_000_000 == first.GetProperty("time").GetInt64());

            // berth events prints docker's default line format.
            var bl = await d.BerthAsync("events", "--since", t1, "--until", t2, "--filter", "type=volume");
            Assert.True(bl.ExitCode == 0, bl.ToString());
            var lines = bl.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.Matches(EventLine, lines[0]);
            Assert.EndsWith($" volume create {a} (driver=local)", lines[0]);
            Assert.EndsWith($" volume destroy {a} (driver=local)", lines[1]);
            var bf = await d.BerthAsync("events", "--since", t1, "--until", t2, "--filter", "event=destroy", "--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}}");
            Assert.Equal($"destroy {a}\n", bf.Stdout);
        }
        finally
        {
            await d.DockerAsync("volume", "rm", b);
        }
    }

    [Fact]
    public async Task SystemDfShowsTheImageAndAVolume()
    {
        var vol = "dfvol" + d.Tag;
        var name = "dfc" + d.Tag;
        var c = await d.DockerAsync("create", "--name", name, "-v", $"{vol}:/data", "busybox", "true");
        Assert.True(c.ExitCode == 0, c.ToString());
        try
        {
            var df = await d.DockerAsync("system", "df");
            Assert.True(df.ExitCode == 0, df.ToString());
            var rows = df.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Regex.Split(l.Trim(), @"\s{2,}")).ToList();
            Assert.Equal(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], rows[0]);
            var images = rows.Single(r => r[0] == "Images");
            Assert.True(int.Parse(images[1]) >= 1, df.Stdout);
            Assert.Matches(@"^\d+(\.\d+)?[kMG]?B$", images[3]);
            Assert.NotEqual("0B", images[3]);
            var volumes = rows.Single(r => r[0] == "Local Volumes");
            Assert.True(int.Parse(volumes[1]) >= 1 && int.Parse(volumes[2]) >= 1, df.Stdout);
            Assert.Contains(rows, r => r[0] == "Containers");
            Assert.Contains(rows, r => r[0] == "Build Cache");

            var v = await d.DockerAsync("system", "df", "-v");
            Assert.True(v.ExitCode == 0, v.ToString());
            Assert.Contains("Images space usage:", v.Stdout);
            var imageLine = v.Stdout.Split('\n').First(l => l.StartsWith("busybox ", StringComparison.Ordinal));
            Assert.Contains("latest", imageLine);
            Assert.Contains("Local Volumes space usage:", v.Stdout);
            var volLine = v.Stdout.Split('\n').Single(l => l.StartsWith(vol + " ", StringComparison.Ordinal));
            Assert.Equal("1", Regex.Split(volLine.Trim(), @"\s+")[1]); // LINKS: the container using it
            Assert.Contains(name, v.Stdout);

            var bv = await d.BerthAsync("system", "df", "-v");
            Assert.True(bv.ExitCode == 0, bv.ToString());
            Assert.Contains(vol, bv.Stdout);
            Assert.Contains("busybox", bv.Stdout);
            var bdf = await d.BerthAsync("system", "df");
            Assert.Contains("Local Volumes", bdf.Stdout);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
            await d.DockerAsync("volume", "rm", vol);
        }
    }

    [Fact]
    public async Task PsSizeShowsTheWritableLayerAndPortPrintsNothing()
    {
        var name = "sz" + d.Tag;
        var run = await d.DockerAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "dd if=/dev/zero of=/onemeg bs=1024 count=1024 && touch /done && exec sleep 300");
        Assert.True(run.ExitCode == 0, run.ToString());
        try
        {
            string size = "";
            for (int i = 0; i < 100; i++)
            {
                size = (await d.DockerAsync("ps", "-s", "--filter", $"name={name}", "--format", "{{.Size}}")).Stdout.Trim();
                if (size.StartsWith("1.05MB", StringComparison.Ordinal)) break;
                await Task.Delay(100);
            }
            // docker's SIZE column: the writable layer, then the image plus it as "virtual".
            Assert.Matches(@"^1\.05MB \(virtual \d+(\.\d+)?MB\)$", size);
            var table = await d.DockerAsync("container", "ls", "-s", "--filter", $"name={name}");
            Assert.Contains("SIZE", table.Stdout.Split('\n')[0]);
            Assert.Contains("1.05MB (virtual", table.Stdout);
            var inspect = await d.DockerAsync("inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", name);
            var parts = inspect.Stdout.Trim().Split(' ').Select(long.Parse).ToArray();
            Assert.InRange(parts[0], 1024 * 1024, 1024 * 1024 + 64 * 1024);
            Assert.True(parts[1] > parts[0], inspect.Stdout);
            var berth = await d.BerthAsync("ps", "-s", "--filter", $"name={name}", "--format", "{{.Size}}");
            Assert.StartsWith("1.05MB (virtual", berth.Stdout);

            // No published ports: docker port prints nothing and succeeds; asking for one port fails.
            var port = await d.DockerAsync("port", name);
            Assert.True(port.ExitCode == 0 && port.Stdout == "" && port.Stderr == "", port.ToString());
            var one = await d.DockerAsync("port", name, "80");
            Assert.NotEqual(0, one.ExitCode);
            Assert.Contains("No public port '80' published", one.Stderr);
            var bport = await d.BerthAsync("port", name);
            Assert.True(bport.ExitCode == 0 && bport.Stdout == "", bport.ToString());
            var bone = await d.BerthAsync("port", name, "80/tcp");
            Assert.Equal(1, bone.ExitCode);
            Assert.Contains($"Error: No public port '80/tcp' published for {name}", bone.Stderr);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task BadEventsInputIs400AndTheDaemonKeepsServing()
    {
        EngineApi.AssertError(await _api.GetAsync("/events?filters=%7Bnot-json"), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.GetAsync("/events?filters=%5B1%5D"), HttpStatusCode.BadRequest);
        var order = await _api.GetAsync("/events?since=2000&until=1000");
        Assert.Contains("cannot be after", EngineApi.AssertError(order, HttpStatusCode.BadRequest));
        EngineApi.AssertError(await _api.GetAsync("/events?since=yesterday"), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.GetAsync("/system/df?type=everything"), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.PostAsync("/build/prune?filters=%7B"), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.PostAsync("/networks/prune?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D"), HttpStatusCode.BadRequest);
        var cli = await d.DockerAsync("events", "--since", "2000", "--until", "1000");
        Assert.NotEqual(0, cli.ExitCode);
        Assert.Contains("cannot be after", cli.Stderr);

        // A past until with nothing to replay is an empty, finished stream.
        var past = await _api.GetAsync("/events?until=1000");
        Assert.Equal(HttpStatusCode.OK, past.Status);
        Assert.Equal("", past.Body);
        await _api.AssertAliveAsync();
        Assert.Equal(0, (await d.DockerAsync("ps")).ExitCode);
    }
}

/// <summary>docker system prune on a daemon of its own: it removes the base image too.</summary>
public sealed class SystemPruneTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    [Fact]
    public async Task SystemPruneRemovesStoppedContainersUnusedImagesAndVolumes()
    {
        var stopped = await d.DockerAsync("run", "--name", "pr1" + d.Tag, "-v", "/anon", "busybox", "sh", "-c", "dd if=/dev/zero of=/anon/f bs=1024 count=64 2>/dev/null");
        Assert.True(stopped.ExitCode == 0, stopped.ToString());
        var id = (await d.DockerAsync("inspect", "-f", "{{.Id}}", "pr1" + d.Tag)).Stdout.Trim();
        var anon = (await d.DockerAsync("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", id)).Stdout.Trim();
        Assert.Matches("^[0-9a-f]{64}$", anon);
        Assert.Equal(0, (await d.DockerAsync("tag", "busybox", "extra" + d.Tag + ":1")).ExitCode);
        Assert.Equal(0, (await d.DockerAsync("volume", "create", "named" + d.Tag)).ExitCode);
        var since = EventsTests.UnixNow();

        var r = await d.DockerAsync("system", "prune", "-af", "--volumes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Deleted Containers:\n" + id + "\n", r.Stdout);
        Assert.Contains("Deleted Volumes:\n" + anon + "\n", r.Stdout);
        Assert.Contains("Deleted Images:", r.Stdout);
        Assert.Contains("untagged: busybox:latest", r.Stdout);
        Assert.Contains($"untagged: extra{d.Tag}:1", r.Stdout);
        var total = Regex.Match(r.Stdout, @"Total reclaimed space: (\S+)\n$");
        Assert.True(total.Success, r.Stdout);
        Assert.NotEqual("0B", total.Groups[1].Value);

        Assert.Equal("", (await d.DockerAsync("ps", "-aq")).Stdout);
        Assert.Equal("", (await d.DockerAsync("images", "-q")).Stdout);
        var volumes = (await d.DockerAsync("volume", "ls", "-q")).Stdout;
        Assert.DoesNotContain(anon, volumes);
        // Since API 1.42 system prune takes anonymous volumes only, as Docker does.
        Assert.Contains("named" + d.Tag, volumes);

        // Each prune announced itself, and the removals are in the event log.
        var ev = await d.DockerAsync("events", "--since", since, "--until", EventsTests.UnixNow(), "--filter", "event=prune", "--format", "{{.Type}}");
        Assert.Equal(["container", "network", "volume", "image"], ev.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(4).ToArray());
        var del = await d.DockerAsync("events", "--since", since, "--until", EventsTests.UnixNow(), "--filter", "type=image", "--filter", "event=delete");
        Assert.Contains("image delete sha256:", del.Stdout);

        // Nothing left: a second prune (berth's this time) reclaims nothing and still answers.
        var again = await d.BerthAsync("system", "prune", "-af", "--volumes");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal("Total reclaimed space: 0B\n", again.Stdout);
        Assert.Equal(0, (await d.DockerAsync("volume", "rm", "named" + d.Tag)).ExitCode);
    }
}
