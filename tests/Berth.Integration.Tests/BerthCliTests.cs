using System.Text.Json.Nodes;

namespace Berth.Integration.Tests;

/// <summary>Acceptance 2: Berth's own CLI (out/berth) against a private berthd, with the docker CLI as the reference for output shapes.</summary>
public sealed class BerthCliTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private static Task<CommandResult> PollAsync(Func<Task<CommandResult>> action, Func<CommandResult, bool> done) => DockerCliTests.PollAsync(action, done);

    private static void Ok(CommandResult r) => Assert.True(r.ExitCode == 0, r.ToString());

    [Fact]
    public async Task VersionShowsBerthAsServer()
    {
        var text = await d.BerthAsync("version");
        Ok(text);
        Assert.Contains("\nServer: Berth Engine\n Engine:\n  Version:", text.Stdout);
        Assert.Contains("API version:      1.5", text.Stdout);

        var format = "{{.Server.Platform.Name}} {{.Server.APIVersion}} {{.Server.Os}}";
        var berth = await d.BerthAsync("version", "--format", format);
        Ok(berth);
        Assert.StartsWith("Berth Engine 1.5", berth.Stdout.Trim());
        Assert.Equal((await d.DockerAsync("version", "--format", format)).Stdout, berth.Stdout);
    }

    [Fact]
    public async Task ImportedImageRunsAndIsManaged()
    {
        var repo = "bb" + d.Tag;
        var import = await d.ShellAsync($"{d.RepoRoot}/scripts/mkbusybox.sh | {d.Out}/berth import - {repo}:1");
        Ok(import);
        var id = import.Stdout.Trim();
        Assert.Matches("^sha256:[0-9a-f]{64}$", id);
        try
        {
            var run = await d.BerthAsync("run", "--rm", $"{repo}:1", "echo", "hi");
            Ok(run);
            Assert.Equal("hi\n", run.Stdout);

            var images = await d.BerthAsync("images");
            Ok(images);
            var lines = images.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Matches("^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$", lines[0]);
            Assert.Single(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, $"^{repo} +1 +{id[7..19]} +"));
            var format = "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}";
            Assert.Equal((await d.DockerAsync("images", repo, "--format", format)).Stdout, (await d.BerthAsync("images", repo, "--format", format)).Stdout);

            var inspect = await d.BerthAsync("image", "inspect", "-f", "{{.Id}} {{.Os}} {{.RepoTags}}", $"{repo}:1");
            Ok(inspect);
            Assert.Equal($"{id} linux [{repo}:1]", inspect.Stdout.Trim());

            var history = await d.BerthAsync("image", "history", $"{repo}:1");
            Ok(history);
            Assert.Matches("^IMAGE +CREATED +CREATED BY +SIZE +COMMENT\n", history.Stdout);
            Assert.Contains("Imported from -", history.Stdout);

            Ok(await d.BerthAsync("tag", $"{repo}:1", $"{repo}:2"));
            var tags = await d.BerthAsync("images", repo, "--format", "{{.Tag}} {{.ID}}");
            Assert.Equal($"1 {id[7..19]}\n2 {id[7..19]}\n", tags.Stdout);

            var untag = await d.BerthAsync("image", "rm", $"{repo}:2");
            Ok(untag);
            Assert.Equal($"Untagged: {repo}:2\n", untag.Stdout);
            var rmi = await d.BerthAsync("rmi", $"{repo}:1");
            Ok(rmi);
            // Then one "Deleted:" line per layer, like docker.
            Assert.StartsWith($"Untagged: {repo}:1\nDeleted: {id}\n", rmi.Stdout);

            var gone = await d.BerthAsync("image", "inspect", $"{repo}:1");
            Assert.Equal(1, gone.ExitCode);
            Assert.Contains($"Error response from daemon: No such image: {repo}:1", gone.Stderr);
        }
        finally
        {
            await d.BerthAsync("rmi", "-f", $"{repo}:1", $"{repo}:2");
        }
    }

    [Fact]
    public async Task ExitCodeIsPropagated()
    {
        var name = "ex" + d.Tag;
        try
        {
            var r = await d.BerthAsync("run", "--name", name, "busybox", "sh", "-c", "exit 7");
            Assert.Equal(7, r.ExitCode);
            var code = await d.BerthAsync("inspect", "-f", "{{.State.ExitCode}}", name);
            Assert.Equal("7", code.Stdout.Trim());
        }
        finally
        {
            await d.BerthAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task StdinIsPiped()
    {
        var r = await d.ShellAsync($"echo x | {d.Out}/berth run -i --rm busybox cat");
        Ok(r);
        Assert.Equal("x\n", r.Stdout);
        var multi = await d.BerthStdinAsync("a\nb\n", "run", "-i", "--rm", "busybox", "wc", "-l");
        Ok(multi);
        Assert.Equal("2", multi.Stdout.Trim());
    }

    [Fact]
    public async Task StderrIsSeparate()
    {
        var r = await d.BerthAsync("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2");
        Ok(r);
        Assert.Equal("out\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
    }

    [Fact]
    public async Task DetachedContainerLifecycle()
    {
        var name = "w" + d.Tag;
        try
        {
            // --init: tini passes SIGTERM on, so stop ends it by the signal (143), not by the timeout's SIGKILL (137).
            var run = await d.BerthAsync("run", "-d", "--init", "--name", name, "busybox", "sh", "-c", "echo started; exec sleep 300");
            Ok(run);
            var id = run.Stdout.Trim();
            Assert.Matches("^[0-9a-f]{64}$", id);

            var ps = await d.BerthAsync("ps");
            Ok(ps);
            var lines = ps.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Matches("^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$", lines[0]);
            var row = Assert.Single(lines, l => l.EndsWith(" " + name, StringComparison.Ordinal));
            // The command as dockerd lists it, an argument with spaces in quotes, cut to 20 characters as docker cuts it.
            Assert.StartsWith(id[..12] + "   busybox   \"sh -c 'echo started…\"   ", row);
            Assert.Contains("   Up ", row);
            // The same columns as docker's header (widths depend on the rows, whose ages change between the two calls).
            var dockerPs = await d.DockerAsync("ps");
            Assert.Equal(string.Join(' ', dockerPs.Stdout.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)),
                string.Join(' ', lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)));

            var names = await d.BerthAsync("ps", "--format", "{{.Names}}");
            Assert.Contains(name, names.Stdout.Split('\n'));
            var shape = "{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.State}}";
            Assert.Equal((await d.DockerAsync("ps", "--format", shape)).Stdout, (await d.BerthAsync("ps", "--format", shape)).Stdout);

            var logs = await PollAsync(() => d.BerthAsync("logs", name), r => r.Stdout.Contains("started"));
            Ok(logs);
            Assert.Equal("started\n", logs.Stdout);

            var top = await d.BerthAsync("top", name);
            Ok(top);
            Assert.Matches("^UID +PID +PPID +C +STIME +TTY +TIME +CMD\n", top.Stdout);
            Assert.Contains("sleep 300", top.Stdout);

            var stop = await d.BerthAsync("stop", "-t", "30", name);
            Ok(stop);
            Assert.Equal(name + "\n", stop.Stdout);
            var code = await d.BerthAsync("inspect", "-f", "{{.State.ExitCode}}", name);
            Assert.Equal("143", code.Stdout.Trim());
            var status = await d.BerthAsync("inspect", "-f", "{{.State.Status}}", name);
            Assert.Equal("exited", status.Stdout.Trim());

            var exited = await d.BerthAsync("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}");
            Ok(exited);
            Assert.Contains(name, exited.Stdout.Split('\n'));
            var running = await d.BerthAsync("ps", "--format", "{{.Names}}");
            Assert.DoesNotContain(name, running.Stdout.Split('\n'));

            var rm = await d.BerthAsync("rm", name);
            Ok(rm);
            Assert.Equal(name + "\n", rm.Stdout);
            var gone = await d.BerthAsync("inspect", name);
            Assert.Equal(1, gone.ExitCode);
            Assert.Equal("[]\n", gone.Stdout);
            Assert.Contains($"Error: No such object: {name}", gone.Stderr);
        }
        finally
        {
            await d.BerthAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task JsonAndTemplateOutputsMatchDocker()
    {
        var name = "js" + d.Tag;
        var vol = "jsv" + d.Tag;
        try
        {
            Ok(await d.BerthAsync("run", "--name", name, "-l", "k=v", "-v", $"{vol}:/d", "busybox", "true"));
            string[][] commands =
            [
                ["inspect", "-f", "json", name],
                ["inspect", "-f", "{{json .State}} {{.Config.Labels}} {{json .Config.Labels}} {{.State.ExitCode}}", name],
                ["inspect", name, "nosuch" + d.Tag],
                ["image", "inspect", "-f", "json", "busybox"],
                ["volume", "inspect", vol],
                ["volume", "inspect", "-f", "json", vol],
                ["volume", "ls", "--format", "json", "--filter", $"name={vol}"],
                ["ps", "-a", "--filter", $"name={name}", "--format", "{{.ID}} {{.Labels}} {{.Mounts}} {{.Size}} {{.Networks}} {{.Command}}"],
                ["ps", "-a", "-s", "--filter", $"name={name}", "--format", "table {{.Names}}\t{{.Size}}\t{{.LocalVolumes}}"],
                ["ps", "-a", "--filter", $"name={name}", "--format", "table {{.Label \"k\"}}\t{{.Label \"none\"}}\t{{.Names}}"],
                ["images", "busybox", "--format", "{{json .Repository}} {{.Tag}} {{.Digest}}"],
                ["rm", name + "x"],
                ["volume", "rm", vol + "x"],
            ];
            foreach (var args in commands)
            {
                var b = await d.BerthAsync(args);
                var k = await d.DockerAsync(args);
                Assert.True(k.ExitCode == b.ExitCode && k.Stdout == b.Stdout && k.Stderr == b.Stderr, $"{string.Join(' ', args)}\nberth {b}\ndocker {k}");
            }
        }
        finally
        {
            await d.BerthAsync("rm", "-f", "-v", name);
            await d.BerthAsync("volume", "rm", "-f", vol);
        }
    }

    [Fact]
    public async Task UsageErrorsMatchDocker()
    {
        string[][] commands =
        [
            ["run", "--rm", "-m", "1x", "busybox", "true"],
            ["run", "--rm", "--memory", "1.2.3", "busybox", "true"],
            ["run", "--rm", "--no-such-flag", "busybox", "true"],
            ["run"],
            ["rm"],
            ["rename", "onlyone"],
            ["volume", "create", "-l", "a=b"],
        ];
        foreach (var args in commands)
        {
            var b = await d.BerthAsync(args);
            var k = await d.DockerAsync(args);
            var expected = k.Stderr.Replace("docker", "berth", StringComparison.Ordinal);
            Assert.True(k.ExitCode == b.ExitCode && expected == b.Stderr && b.Stdout == "", $"{string.Join(' ', args)}\nberth {b}\ndocker {k}");
        }
    }

    [Fact]
    public async Task NamedVolumeOutlivesContainer()
    {
        var vol = "v" + d.Tag;
        try
        {
            var w = await d.BerthAsync("run", "--rm", "-v", $"{vol}:/data", "busybox", "sh", "-c", "echo persisted > /data/f");
            Ok(w);
            var r = await d.BerthAsync("run", "--rm", "-v", $"{vol}:/data", "busybox", "cat", "/data/f");
            Ok(r);
            Assert.Equal("persisted\n", r.Stdout);
        }
        finally
        {
            Assert.Equal(0, (await d.BerthAsync("volume", "rm", vol)).ExitCode);
        }
    }

    [Fact]
    public async Task BindMountsReadWriteAndReadOnly()
    {
        var dir = Path.Combine(d.Root, "bbind-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        var rw = await d.BerthAsync("run", "--rm", "-v", $"{dir}:/mnt", "busybox", "sh", "-c", "echo from-container > /mnt/out");
        Ok(rw);
        Assert.Equal("from-container\n", File.ReadAllText(Path.Combine(dir, "out")));

        var ro = await d.BerthAsync("run", "--rm", "-v", $"{dir}:/mnt:ro", "busybox", "sh", "-c", "cat /mnt/out && echo x > /mnt/other");
        Assert.Equal(1, ro.ExitCode);
        Assert.Equal("from-container\n", ro.Stdout);
        Assert.Contains("Read-only file system", ro.Stderr);
        Assert.False(File.Exists(Path.Combine(dir, "other")));
    }

    [Fact]
    public async Task NetworkNoneHasOnlyLoopback()
    {
        var r = await d.BerthAsync("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net");
        Ok(r);
        Assert.Equal("lo", r.Stdout.Trim());
    }

    [Fact]
    public async Task BridgeContainerPingsGateway()
    {
        var r = await d.BerthAsync("run", "--rm", "busybox", "sh", "-c", $"ip -4 addr show eth0 && ping -c 1 -W 2 {d.Gateway}");
        Ok(r);
        Assert.Contains($"inet {d.Subnet3}.", r.Stdout);
        Assert.Contains("1 packets received", r.Stdout);
    }

    [Fact]
    public async Task VolumeCommands()
    {
        var vol = "vc" + d.Tag;
        try
        {
            var create = await d.BerthAsync("volume", "create", vol);
            Ok(create);
            Assert.Equal(vol + "\n", create.Stdout);

            var ls = await d.BerthAsync("volume", "ls");
            Ok(ls);
            var lines = ls.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("DRIVER    VOLUME NAME", lines[0]);
            Assert.Contains($"local     {vol}", lines);
            Assert.Equal((await d.DockerAsync("volume", "ls")).Stdout, ls.Stdout);
            Assert.Contains(vol, (await d.BerthAsync("volume", "ls", "-q")).Stdout.Split('\n'));

            var fields = await d.BerthAsync("volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Mountpoint}}", vol);
            Ok(fields);
            Assert.Equal($"{vol} local {d.DataRoot}/volumes/{vol}/_data", fields.Stdout.Trim());
            var json = await d.BerthAsync("volume", "inspect", vol);
            Ok(json);
            var node = Assert.IsType<JsonArray>(JsonNode.Parse(json.Stdout));
            Assert.Equal(vol, Assert.Single(node)!["Name"]!.GetValue<string>());
            Assert.Equal((await d.DockerAsync("volume", "inspect", vol)).Stdout, json.Stdout);

            var rm = await d.BerthAsync("volume", "rm", vol);
            Ok(rm);
            Assert.Equal(vol + "\n", rm.Stdout);
            var again = await d.BerthAsync("volume", "rm", vol);
            Assert.Equal(1, again.ExitCode);
            Assert.Equal((await d.DockerAsync("volume", "rm", vol)).Stderr, again.Stderr);
            var missing = await d.BerthAsync("volume", "inspect", vol);
            Assert.Equal(1, missing.ExitCode);
        }
        finally
        {
            await d.BerthAsync("volume", "rm", "-f", vol);
        }
    }

    [Fact]
    public async Task RenameRestartKillAndWait()
    {
        var name = "rn" + d.Tag;
        var renamed = "rn2" + d.Tag;
        try
        {
            var run = await d.BerthAsync("run", "-d", "--name", name, "busybox", "sh", "-c", "trap 'exit 42' USR1; echo up; while true; do sleep 0.1; done");
            Ok(run);

            var rename = await d.BerthAsync("rename", name, renamed);
            Ok(rename);
            Assert.Equal("", rename.Stdout);
            var names = await d.BerthAsync("ps", "--format", "{{.Names}}");
            Assert.Contains(renamed, names.Stdout.Split('\n'));
            Assert.DoesNotContain(name, names.Stdout.Split('\n'));
            var again = await d.BerthAsync("rename", name, "x" + d.Tag);
            Assert.Equal(1, again.ExitCode);
            Assert.Equal((await d.DockerAsync("rename", name, "x" + d.Tag)).Stderr, again.Stderr);

            var restart = await d.BerthAsync("restart", "-t", "1", renamed);
            Ok(restart);
            Assert.Equal(renamed + "\n", restart.Stdout);
            Assert.Equal("true", (await d.BerthAsync("inspect", "-f", "{{.State.Running}}", renamed)).Stdout.Trim());
            // The second "up" shows the restarted shell has set its trap.
            var logs = await PollAsync(() => d.BerthAsync("logs", renamed), r => r.Stdout == "up\nup\n");
            Assert.Equal("up\nup\n", logs.Stdout);

            var kill = await d.BerthAsync("kill", "-s", "USR1", renamed);
            Ok(kill);
            Assert.Equal(renamed + "\n", kill.Stdout);
            var wait = await d.BerthAsync("wait", renamed);
            Ok(wait);
            Assert.Equal("42\n", wait.Stdout);
            Assert.Equal("exited 42", (await d.BerthAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", renamed)).Stdout.Trim());

            var killStopped = await d.BerthAsync("kill", renamed);
            Assert.Equal(1, killStopped.ExitCode);
            Assert.Contains("is not running", killStopped.Stderr);
            Assert.Equal((await d.DockerAsync("kill", renamed)).Stderr, killStopped.Stderr);
        }
        finally
        {
            await d.BerthAsync("rm", "-f", name, renamed);
        }
    }

    [Fact]
    public async Task MissingCommandExits127()
    {
        var name = "nc" + d.Tag;
        try
        {
            var r = await d.BerthAsync("run", "--name", name, "busybox", "nosuchcmd");
            Assert.Equal(127, r.ExitCode);
            Assert.StartsWith("berth: Error response from daemon: ", r.Stderr);
            Assert.Contains("exec: \"nosuchcmd\": executable file not found in $PATH", r.Stderr);
            Assert.EndsWith("\n\nRun 'berth run --help' for more information\n", r.Stderr);
            Assert.Equal("", r.Stdout);

            // With --rm the container that failed to start is gone when the command returns.
            var rm = await d.BerthAsync("run", "--rm", "--name", name + "rm", "busybox", "nosuchcmd");
            Assert.Equal(127, rm.ExitCode);
            var gone = await d.BerthAsync("ps", "-a", "--filter", $"name={name}rm", "--format", "{{.Names}}");
            Ok(gone);
            Assert.Equal("", gone.Stdout);
        }
        finally
        {
            await d.BerthAsync("rm", "-f", name, name + "rm");
        }
    }

    [Fact]
    public async Task UnknownImageExits125()
    {
        var image = "nosuch" + d.Tag;
        var r = await d.BerthAsync("run", "--rm", image, "true");
        Assert.Equal(125, r.ExitCode);
        Assert.StartsWith($"Unable to find image '{image}:latest' locally\n", r.Stderr);
        Assert.Contains("berth: Error response from daemon: ", r.Stderr);
        Assert.EndsWith("\n\nRun 'berth run --help' for more information\n", r.Stderr);
        var docker = await d.DockerAsync("run", "--rm", image, "true");
        Assert.Equal(docker.Stderr.Replace("docker: Error", "berth: Error", StringComparison.Ordinal).Replace("'docker run", "'berth run", StringComparison.Ordinal), r.Stderr);

        var pull = await d.BerthAsync("pull", image);
        Assert.Equal(1, pull.ExitCode);
        var dockerPull = await d.DockerAsync("pull", image);
        Assert.Equal(dockerPull.Stdout, pull.Stdout);
        Assert.Equal(dockerPull.Stderr, pull.Stderr);

        var never = await d.BerthAsync("run", "--pull", "never", "--rm", image, "true");
        Assert.Equal(125, never.ExitCode);
        Assert.Equal($"berth: Error response from daemon: No such image: {image}:latest\n\nRun 'berth run --help' for more information\n", never.Stderr);
    }

    [Fact]
    public async Task RemovingRunningContainerWithoutForceFails()
    {
        var name = "busy" + d.Tag;
        try
        {
            Ok(await d.BerthAsync("run", "-d", "--name", name, "busybox", "sleep", "300"));
            var rm = await d.BerthAsync("rm", name);
            Assert.Equal(1, rm.ExitCode);
            Assert.Equal("", rm.Stdout);
            Assert.Contains("stop the container before removing or force remove", rm.Stderr);
            Assert.StartsWith("Error response from daemon: ", rm.Stderr);
            Assert.Equal("true", (await d.BerthAsync("inspect", "-f", "{{.State.Running}}", name)).Stdout.Trim());
            var force = await d.BerthAsync("rm", "-f", name);
            Ok(force);
            Assert.Equal(name + "\n", force.Stdout);
        }
        finally
        {
            await d.BerthAsync("rm", "-f", name);
        }
    }
}
