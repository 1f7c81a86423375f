namespace Berth.Integration.Tests;

/// <summary>
/// <c>RUN --mount</c> (cache, bind from the context or a stage, tmpfs) and <c>--cache-from</c> with the real
/// <c>docker build</c> (legacy protocol, DOCKER_BUILDKIT=0: the CLI passes the --mount lines through in the Dockerfile).
/// </summary>
public sealed class BuildMountTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private string NewContext(params (string Name, string Content)[] files) => d.NewContext(files);

    private Task<CommandResult> BuildAsync(string dir, params string[] args) => d.DockerBuildAsync(dir, args);

    private Task<CommandResult> RunInAsync(string image, string script) =>
        d.DockerAsync("run", "--rm", "--network", "none", image, "sh", "-c", script);

    private async Task RestartDaemonAsync()
    {
        await d.StopDaemonAsync();
        await d.StartDaemonAsync();
    }

    [Fact]
    public async Task CacheMountKeepsAFileBetweenBuildsAndStaysOutOfTheImage()
    {
        var tag = "bt-cachemount-" + d.Tag;
        var dir = NewContext(("Dockerfile", """
            FROM busybox
            RUN --mount=type=cache,target=/var/cache/berth-test,id=bt-cm echo "a run" >> /var/cache/berth-test/log && cp /var/cache/berth-test/log /seen
            """));
        var first = await BuildAsync(dir, "-t", tag);
        Assert.True(first.ExitCode == 0, first.ToString() + d.DaemonLog);
        var r1 = await RunInAsync(tag, "cat /seen");
        Assert.Equal("a run\n", r1.Stdout);

        // The cache directory survives a daemon restart; --no-cache makes the RUN run again and it sees the first line.
        await RestartDaemonAsync();
        var second = await BuildAsync(dir, "--no-cache", "-t", tag);
        Assert.True(second.ExitCode == 0, second.ToString() + d.DaemonLog);
        Assert.Contains(" ---> Running in ", second.Stdout);
        // The image has /var but no /var/cache: the mount point made for the step is gone with its content.
        var r2 = await RunInAsync(tag, "cat /seen; test -d /var && echo var; test -e /var/cache && echo LEAKED; true");
        Assert.True(r2.ExitCode == 0, r2.ToString());
        Assert.Equal("a run\na run\nvar\n", r2.Stdout);

        // Without --no-cache the step is cached: the mount spec, not the cache's content, is in the key.
        var third = await BuildAsync(dir, "-t", tag);
        Assert.True(third.ExitCode == 0, third.ToString());
        Assert.Contains(" ---> Using cache", third.Stdout);
        Assert.DoesNotContain("Running in", third.Stdout);
    }

    [Fact]
    public async Task LockedCacheSerializesTwoBuilds()
    {
        // Each build marks the cache busy for a while; under sharing=locked the other never sees the mark.
        string Ctx(string who) => NewContext(("Dockerfile", $"""
            FROM busybox
            RUN --mount=type=cache,target=/c,id=bt-locked,sharing=locked if [ -e /c/busy ]; then echo OVER''LAP; fi; touch /c/busy; sleep 1; echo {who} >> /c/order; rm /c/busy
            """));
        var a = Ctx("a");
        var b = Ctx("b");
        var env = $"DOCKER_BUILDKIT=0 DOCKER_HOST={d.DockerHost} DOCKER_CONFIG={d.Root}/docker-config";
        var r = await d.ShellAsync(
            $"(cd {a} && {env} /usr/local/bin/docker build --no-cache . > {a}/out 2>&1; echo $? >> {a}/out) & " +
            $"(cd {b} && {env} /usr/local/bin/docker build --no-cache . > {b}/out 2>&1; echo $? >> {b}/out) & wait; cat {a}/out {b}/out");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(2, r.Stdout.Split("Successfully built").Length - 1);
        Assert.DoesNotContain("OVERLAP", r.Stdout);
    }

    [Fact]
    public async Task BindFromTheContextReadsAFileThatIsNotInTheImage()
    {
        var tag = "bt-bindctx-" + d.Tag;
        var dir = NewContext(
            ("Dockerfile", """
                FROM busybox
                RUN --mount=type=bind,target=/ctx cat /ctx/note.txt > /copied && if touch /ctx/try 2>/dev/null; then exit 9; fi
                RUN --mount=type=bind,target=/ctx,rw echo scribbled > /ctx/note.txt && cat /ctx/note.txt > /scribbled
                RUN --mount=type=bind,source=sub,target=/mnt/deep/sub cat /mnt/deep/sub/inner.txt > /inner
                RUN --mount=type=bind,target=/ctx cat /ctx/note.txt > /after
                RUN --mount=type=tmpfs,target=/scratch echo temp > /scratch/t && cat /scratch/t > /tmpfs-seen
                """),
            ("note.txt", "only mounted\n"),
            ("sub/inner.txt", "inner\n"));
        var b = await BuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        var r = await RunInAsync(tag, "cat /copied /scribbled /after /inner /tmpfs-seen; ls -a /ctx /mnt /scratch 2>&1; find / -xdev -name note.txt -o -xdev -name try");
        Assert.Equal(
            "only mounted\nscribbled\nonly mounted\ninner\ntemp\n" +
            "ls: /ctx: No such file or directory\nls: /mnt: No such file or directory\nls: /scratch: No such file or directory\n",
            r.Stdout);
        Assert.Equal("only mounted\n", File.ReadAllText(Path.Combine(dir, "note.txt")));
    }

    [Fact]
    public async Task BindFromAStage()
    {
        var tag = "bt-bindstage-" + d.Tag;
        var dir = NewContext(("Dockerfile", """
            FROM busybox AS builder
            RUN mkdir /out && echo "from the stage" > /out/result
            FROM busybox
            RUN --mount=type=bind,from=builder,source=/out,target=/in cat /in/result > /got
            CMD ["cat", "/got"]
            """));
        var b = await BuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        var r = await d.DockerAsync("run", "--rm", "--network", "none", tag);
        Assert.Equal("from the stage\n", r.Stdout);
        var no = await RunInAsync(tag, "test -e /out || test -e /in || echo clean");
        Assert.Equal("clean\n", no.Stdout);
    }

    [Theory]
    [InlineData("type=bind,source=../secret,target=/x", "Dockerfile:2: --mount source ../secret is outside the build context")]
    [InlineData("type=bind,source=missing.txt,target=/x", "Dockerfile:2: --mount source missing.txt not found in the build context")]
    [InlineData("type=sshh,target=/x", "Dockerfile:2: --mount=type=sshh,target=/x: unsupported mount type \"sshh\"")]
    public async Task BadMountsFailTheBuildClearly(string mount, string message)
    {
        var dir = NewContext(("Dockerfile", $"FROM busybox\nRUN --mount={mount} cat /x\n"));
        var b = await BuildAsync(dir);
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains(message, b.Stdout);
        var ps = await d.DockerAsync("ps", "-aq");
        Assert.Equal("", ps.Stdout.Trim());
    }

    [Fact]
    public async Task CacheFromAnImageStandsInForTheLostLocalCache()
    {
        var tag = "bt-cachefrom-" + d.Tag;
        var dockerfile = """
            FROM busybox
            ENV WHO=cachefrom
            COPY data.txt /data.txt
            RUN echo "$WHO $(cat /data.txt) $(cat /proc/sys/kernel/random/uuid)" > /made
            CMD ["cat", "/made"]
            """;
        var dir = NewContext(("Dockerfile", dockerfile), ("data.txt", "payload"));
        var b = await BuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        var made = (await d.DockerAsync("run", "--rm", "--network", "none", tag)).Stdout;
        Assert.StartsWith("cachefrom payload ", made);

        // The local step cache is gone (a fresh builder): without --cache-from the RUN runs again ...
        await d.StopDaemonAsync();
        File.Delete(Path.Combine(d.DataRoot, "builder", "cache"));
        await d.StartDaemonAsync();
        // ... with it, every step comes from the image's history and layers, and the RUN's output is the old one.
        var c = await BuildAsync(dir, "--cache-from", tag, "-t", tag + "-2");
        Assert.True(c.ExitCode == 0, c.ToString() + d.DaemonLog);
        Assert.Equal(4, c.Stdout.Split(" ---> Using cache").Length - 1);
        // The same image, not a copy with new creation times: the last step is the cache-from image itself, and the
        // steps before it keep the times of its history.
        Assert.Equal(BuildSupport.ShortId(b.Stdout), BuildSupport.ShortId(c.Stdout));
        Assert.DoesNotContain("Running in", c.Stdout);
        Assert.Equal(made, (await d.DockerAsync("run", "--rm", "--network", "none", tag + "-2")).Stdout);

        // A changed file breaks the match from its COPY on: the RUN runs, the ENV before it is still cached.
        File.WriteAllText(Path.Combine(dir, "data.txt"), "changed");
        var e = await BuildAsync(dir, "--cache-from", tag, "-t", tag + "-3");
        Assert.True(e.ExitCode == 0, e.ToString());
        Assert.Contains(" ---> Running in ", e.Stdout);
        Assert.StartsWith("cachefrom changed ", (await d.DockerAsync("run", "--rm", "--network", "none", tag + "-3")).Stdout);
        var plain = await BuildAsync(NewContext(("Dockerfile", dockerfile.Replace("cachefrom", "other")), ("data.txt", "payload")), "--cache-from", tag);
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Equal(0, plain.Stdout.Split(" ---> Using cache").Length - 1);
    }
}
