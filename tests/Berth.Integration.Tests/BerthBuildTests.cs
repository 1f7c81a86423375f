namespace Berth.Integration.Tests;

/// <summary>`berth build` against berthd: a context directory tarred by the CLI, stdin contexts, -q, failures.</summary>
public sealed class BerthBuildTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private const string MultiStage = BuildSupport.MultiStage;

    private string NewContext(params (string Name, string Content)[] files) => d.NewContext(files);

    private string Berth => Path.Combine(d.Out, "berth");

    private static string ShortId(string output) => BuildSupport.ShortId(output);

    private static string[] Lines(string output, string prefix) =>
        output.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToArray();

    [Fact]
    public async Task RunLimitsCacheFromAndIidfileReachTheDaemon()
    {
        var tag = "bbt-limits-" + d.Tag;
        var dir = NewContext(("Dockerfile", $"FROM busybox\nRUN ({BuildSupport.LimitsScript}) > /limits\n"));
        var iid = Path.Combine(dir, "..", Path.GetFileName(dir) + ".iid");
        // A stale ID from an earlier build never survives in the --iidfile.
        await File.WriteAllTextAsync(iid, "sha256:stale");
        var failed = await d.BerthAsync("build", "--iidfile", iid, NewContext(("Dockerfile", "FROM busybox\nRUN exit 4\n")));
        Assert.Equal(4, failed.ExitCode);
        Assert.False(File.Exists(iid));
        var b = await d.BerthAsync("build", "--no-cache", "-m", "64m", "--cpu-quota", "50000", "--add-host", "myhost:10.1.2.3",
            "--ulimit", "nofile=1024:2048", "--shm-size", "16m", "--iidfile", iid, "-t", tag, dir);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        var limits = await d.DockerAsync("run", "--rm", "--network", "none", tag, "cat", "/limits");
        Assert.Equal("67108864\n50000\n10.1.2.3\tmyhost\n1024\n2048\n16384\n", limits.Stdout);
        var id = (await d.DockerAsync("image", "inspect", "-f", "{{.Id}}", tag)).Stdout.Trim();
        Assert.Equal(id, await File.ReadAllTextAsync(iid));
        File.Delete(iid);

        // --cache-from reaches the daemon: after the local step cache is lost, the image's history stands in for it.
        await d.StopDaemonAsync();
        File.Delete(Path.Combine(d.DataRoot, "builder", "cache"));
        await d.StartDaemonAsync();
        var c = await d.BerthAsync("build", "--cache-from", tag, "-t", tag, dir);
        Assert.True(c.ExitCode == 0, c.ToString());
        Assert.Contains(" ---> Using cache", c.Stdout);
        Assert.DoesNotContain("Running in", c.Stdout);
        Assert.Equal(id, (await d.DockerAsync("image", "inspect", "-f", "{{.Id}}", tag)).Stdout.Trim());
        Assert.Equal(0, (await d.DockerAsync("rmi", tag)).ExitCode);
    }

    [Fact]
    public async Task BuildsTheMultiStageFileAndASecondBuildIsAllCache()
    {
        var tag = "bbt-multi-" + d.Tag;
        var dir = NewContext(("Dockerfile", MultiStage));
        var b = await d.BerthAsync("build", "--target", "final", "--build-arg", "WHO=test", "-t", tag, dir);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        Assert.Contains("Sending build context to Docker daemon", b.Stdout);
        Assert.Contains(" : FROM busybox AS builder", b.Stdout);
        Assert.Contains(" ---> Running in ", b.Stdout);
        Assert.DoesNotContain("exit 4", b.Stdout);
        Assert.Contains($"Successfully tagged {tag}:latest", b.Stdout);

        await d.AssertMultiStageResultAsync(tag, b.Stdout);

        var again = await d.BerthAsync("build", "--target", "final", "--build-arg", "WHO=test", "-t", tag, dir);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.DoesNotContain("Running in", again.Stdout);
        // Every step that is not a FROM (or, as in dockerd, an ARG before the first FROM) is answered from the cache.
        var steps = Lines(again.Stdout, "Step ").Where(l => !l.Contains(" : FROM ", StringComparison.Ordinal) && !l.EndsWith(" : ARG WHO=stage", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(steps);
        Assert.Equal(steps.Length, Lines(again.Stdout, " ---> Using cache").Length);
        Assert.Equal(ShortId(b.Stdout), ShortId(again.Stdout));
    }

    [Fact]
    public async Task QuietPrintsOnlyTheImageId()
    {
        var tag = "bbt-quiet-" + d.Tag;
        var dir = NewContext(("Dockerfile", "FROM busybox\nCOPY a.txt /a.txt\nCMD [\"cat\", \"/a.txt\"]\n"), ("a.txt", "quiet\n"));
        var b = await d.BerthAsync("build", "-q", "-t", tag, dir);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        var id = await d.DockerAsync("inspect", "--format", "{{.Id}}", tag);
        Assert.StartsWith("sha256:", id.Stdout.Trim());
        Assert.Equal(id.Stdout, b.Stdout);
        Assert.Equal("", b.Stderr);
        // The real CLI's -q prints what the daemon streams: the ID alone.
        var docker = await d.ShellAsync($"cd {dir} && DOCKER_BUILDKIT=0 /usr/local/bin/docker build -q . 2>/dev/null");
        Assert.Equal(0, docker.ExitCode);
        Assert.Equal(id.Stdout.Trim(), docker.Stdout.Trim());
    }

    [Fact]
    public async Task ContextTarOrDockerfileFromStdin()
    {
        var dir = NewContext(("Dockerfile", "FROM busybox\nCOPY a.txt /a.txt\nCMD [\"cat\", \"/a.txt\"]\n"), ("a.txt", "from stdin\n"));
        foreach (var (flags, tag) in new[] { ("-cf", "bbt-tar-" + d.Tag), ("-czf", "bbt-tgz-" + d.Tag) })
        {
            var b = await d.ShellAsync($"tar -C {dir} {flags} - . | {Berth} build -t {tag} -");
            Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
            var r = await d.DockerAsync("run", "--rm", "--network", "none", tag);
            Assert.Equal("from stdin\n", r.Stdout);
        }

        var df = await d.BerthStdinAsync("FROM busybox\nCMD [\"echo\", \"dockerfile on stdin\"]\n", "build", "-t", "bbt-df-" + d.Tag, "-");
        Assert.True(df.ExitCode == 0, df.ToString() + d.DaemonLog);
        var run = await d.DockerAsync("run", "--rm", "--network", "none", "bbt-df-" + d.Tag);
        Assert.Equal("dockerfile on stdin\n", run.Stdout);
    }

    [Fact]
    public async Task FailingRunFailsWithItsMessageLikeDocker()
    {
        var dir = NewContext(("Dockerfile", "FROM busybox\nRUN echo about to fail && exit 3\n"));
        var b = await d.BerthAsync("build", "-t", "bbt-fail-" + d.Tag, dir);
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains("about to fail", b.Stdout);
        Assert.Contains("The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3", b.Stderr);
        // The same exit status as the real docker CLI's legacy build.
        var docker = await d.ShellAsync($"cd {dir} && DOCKER_BUILDKIT=0 /usr/local/bin/docker build . >/dev/null 2>&1");
        Assert.Equal(docker.ExitCode, b.ExitCode);
        var ps = await d.DockerAsync("ps", "-aq");
        Assert.Equal("", ps.Stdout.Trim());
    }

    [Fact]
    public async Task DockerignoreKeepsTheSecretOutAndAnOutsideDockerfileWorks()
    {
        var tag = "bbt-ign-" + d.Tag;
        var dir = NewContext(
            (".dockerignore", "secret.txt\n"),
            ("secret.txt", "password"),
            ("keep.txt", "ok"));
        var outside = Path.Combine(d.Root, "bbt-" + Guid.NewGuid().ToString("N")[..8] + ".Dockerfile");
        File.WriteAllText(outside, "FROM busybox\nCOPY . /ctx/\nCMD [\"ls\", \"-a\", \"/ctx\"]\n");
        var b = await d.BerthAsync("build", "-f", outside, "-t", tag, dir);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        var r = await d.DockerAsync("run", "--rm", "--network", "none", tag);
        Assert.Contains("keep.txt", r.Stdout);
        Assert.DoesNotContain("secret.txt", r.Stdout);
        // The Dockerfile sent from outside the context is not part of it (the CLI lists it in .dockerignore).
        Assert.DoesNotContain(".dockerfile.", r.Stdout);
    }
}
