namespace Berth.Integration.Tests;

/// <summary>The builder: the real <c>docker build</c> (legacy protocol, DOCKER_BUILDKIT=0) against berthd.</summary>
public sealed class BuildTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private string NewContext(params (string Name, string Content)[] files) => d.NewContext(files);

    private Task<CommandResult> BuildAsync(string dir, params string[] args) => d.DockerBuildAsync(dir, args);

    [Fact]
    public async Task BuildsRunsCopiesAndKeepsDeletions()
    {
        var tag = "bt-basic-" + d.Tag;
        var dir = NewContext(
            ("Dockerfile", """
                FROM busybox
                ENV GREETING=hello \
                    TARGET=world
                WORKDIR /app
                RUN echo "$GREETING $TARGET" > made.txt && echo gone > /app/old.txt
                COPY data.txt ./
                RUN rm /app/old.txt
                CMD ["sh", "-c", "cat /app/made.txt /app/data.txt; ls /app; pwd"]
                """),
            ("data.txt", "from the context\n"));
        var b = await BuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        Assert.Contains("Step 1/7 : FROM busybox", b.Stdout);
        Assert.Contains(" ---> Running in ", b.Stdout);
        Assert.Contains("Successfully built ", b.Stdout);
        Assert.Contains($"Successfully tagged {tag}:latest", b.Stdout);

        var r = await d.DockerAsync("run", "--rm", "--network", "none", tag);
        Assert.True(r.ExitCode == 0, r.ToString() + "\nbuild: " + b.Stdout);
        Assert.Equal("hello world\nfrom the context\ndata.txt\nmade.txt\n/app\n", r.Stdout);

        // No step container is left behind.
        var ps = await d.DockerAsync("ps", "-aq");
        Assert.Equal("", ps.Stdout.Trim());

        // A second build reuses every step.
        var again = await BuildAsync(dir, "-t", tag);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains(" ---> Using cache", again.Stdout);
        Assert.DoesNotContain("Running in", again.Stdout);
        Assert.Equal(ShortId(b.Stdout), ShortId(again.Stdout));
    }

    private static string ShortId(string output) => BuildSupport.ShortId(output);

    [Fact]
    public async Task HistoryAndImageSizesCountFileBytes_AsDockerd()
    {
        var tag = "bt-sizes-" + d.Tag;
        var dir = NewContext(("Dockerfile", $"FROM busybox\nRUN mkdir -p /empty/{d.Tag}\nRUN head -c 3000 /dev/zero > /three-k\n"));
        var b = await BuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        try
        {
            // A layer of directories only is 0B; the other holds its one file's 3000 bytes (dockerd sums the tar headers' sizes).
            var sizes = (await d.DockerAsync("history", "--format", "{{.Size}}", tag)).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["3kB", "0B"], sizes[..2]);
            async Task<long> Size(string image) => long.Parse((await d.DockerAsync("image", "inspect", "-f", "{{.Size}}", image)).Stdout.Trim());
            Assert.Equal(3000, await Size(tag) - await Size("busybox"));
        }
        finally
        {
            await d.DockerAsync("rmi", tag);
        }
    }

    [Fact]
    public async Task StepImagesAreParents_HiddenFromImages_AndLeaveWithTheImage()
    {
        var tag = "bt-parents-" + d.Tag;
        var dir = NewContext(("Dockerfile", $"FROM busybox\nENV RUN_ID={d.Tag}\nRUN echo made > /f\nLABEL parents=yes\n"));
        var b = await BuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        var busybox = (await d.DockerAsync("image", "inspect", "-f", "{{.Id}}", "busybox")).Stdout.Trim();

        // docker history names every step by its image, down to the base, as with dockerd's legacy builder.
        var history = (await d.DockerAsync("history", "-q", "--no-trunc", tag)).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, history.Length);
        Assert.DoesNotContain("<missing>", history);
        Assert.Equal(busybox, history[3]);
        Assert.Equal(history[1], (await d.DockerAsync("image", "inspect", "-f", "{{.Parent}}", tag)).Stdout.Trim());
        // system df names the parent as the image list does.
        var df = await d.ShellAsync($"curl -s --unix-socket {d.Socket} 'http://x/system/df?type=image'");
        Assert.Contains($"\"ParentId\":\"{history[1]}\"", df.Stdout);

        // The steps' images are intermediate: listed with -a only, and neither dangling nor matched by dangling=false.
        var shown = (await d.DockerAsync("images", "-q", "--no-trunc")).Stdout;
        var all = (await d.DockerAsync("images", "-a", "-q", "--no-trunc")).Stdout;
        var filtered = (await d.DockerAsync("images", "-a", "-q", "--no-trunc", "-f", "dangling=true")).Stdout
            + (await d.DockerAsync("images", "-a", "-q", "--no-trunc", "-f", "dangling=false")).Stdout;
        Assert.Contains(history[0], shown);
        foreach (var step in history[1..3])
        {
            Assert.DoesNotContain(step, shown);
            Assert.Contains(step, all);
            Assert.DoesNotContain(step, filtered);
        }

        // The base cannot go while images are made on it.
        var rmiBase = await d.DockerAsync("rmi", busybox);
        Assert.NotEqual(0, rmiBase.ExitCode);
        Assert.Contains("image has dependent child images", rmiBase.Stderr);

        // docker rmi takes the image and its untagged parents, and stops at the named base.
        var rmi = await d.DockerAsync("rmi", tag);
        Assert.True(rmi.ExitCode == 0, rmi.ToString());
        foreach (var step in history[..3]) Assert.Contains($"Deleted: {step}", rmi.Stdout);
        var left = (await d.DockerAsync("images", "-a", "-q", "--no-trunc")).Stdout;
        foreach (var step in history[..3]) Assert.DoesNotContain(step, left);
        Assert.Contains(busybox, left);
    }

    [Fact]
    public async Task MultiStageCopiesFromAStageAndStopsAtTarget()
    {
        var tag = "bt-multi-" + d.Tag;
        var dir = NewContext(("Dockerfile", BuildSupport.MultiStage));
        var b = await BuildAsync(dir, "--target", "final", "--build-arg", "WHO=test", "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        Assert.DoesNotContain("exit 3", b.Stdout);
        Assert.DoesNotContain("exit 4", b.Stdout);

        await d.AssertMultiStageResultAsync(tag, b.Stdout);
    }

    [Fact]
    public async Task DockerignoreKeepsASecretOut()
    {
        var tag = "bt-ignore-" + d.Tag;
        var dir = NewContext(
            ("Dockerfile", "FROM busybox\nCOPY . /ctx/\nCMD [\"ls\", \"-a\", \"/ctx\"]\n"),
            (".dockerignore", "secret.txt\n**/*.log\n"),
            ("secret.txt", "password"),
            ("keep.txt", "ok"),
            ("sub/x.log", "log"),
            ("sub/y.txt", "y"));
        var b = await BuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        var r = await d.DockerAsync("run", "--rm", "--network", "none", tag, "sh", "-c", "ls /ctx /ctx/sub");
        Assert.True(r.ExitCode == 0, r.ToString() + "\nbuild: " + b.Stdout);
        Assert.Contains("keep.txt", r.Stdout);
        Assert.Contains("y.txt", r.Stdout);
        Assert.DoesNotContain("secret.txt", r.Stdout);
        Assert.DoesNotContain("x.log", r.Stdout);
    }

    [Fact]
    public async Task FailingRunFailsTheBuild()
    {
        var dir = NewContext(("Dockerfile", "FROM busybox\nRUN echo about to fail && exit 3\n"));
        var b = await BuildAsync(dir, "-t", "bt-fail-" + d.Tag);
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains("about to fail", b.Stdout);
        Assert.Contains("The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3", b.Stdout);
        Assert.Equal(3, b.ExitCode);
        var ps = await d.DockerAsync("ps", "-aq");
        Assert.Equal("", ps.Stdout.Trim());
    }

    [Fact]
    public async Task SyntaxErrorNamesTheLine()
    {
        var dir = NewContext(("Dockerfile", "FROM busybox\n# a comment\nFORM busybox\n"));
        var b = await BuildAsync(dir);
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains("Error response from daemon: Dockerfile:3: unknown instruction: FORM", b.Stdout);

        var empty = await BuildAsync(NewContext(("Dockerfile", "")));
        Assert.NotEqual(0, empty.ExitCode);
        Assert.Contains("Error response from daemon: the Dockerfile (Dockerfile) cannot be empty", empty.Stdout);
    }

    [Fact]
    public async Task CopyOutsideTheContextIsRefused()
    {
        var dir = NewContext(("Dockerfile", "FROM busybox\nCOPY ../secret /s\n"));
        // There is a file at ../secret: the build must not read it.
        var secret = Path.Combine(Path.GetDirectoryName(dir)!, "secret");
        await File.WriteAllTextAsync(secret, "outside");
        try
        {
            var b = await BuildAsync(dir);
            Assert.NotEqual(0, b.ExitCode);
            Assert.Contains("outside the build context", b.Stdout);
        }
        finally
        {
            File.Delete(secret);
        }
    }

    [Fact]
    public async Task ChangingACopiedFileRerunsOnlyTheStepsFromItsCopyOn()
    {
        var tag = "bt-rerun-" + d.Tag;
        var dir = NewContext(
            ("Dockerfile", """
                FROM busybox
                RUN cat /proc/sys/kernel/random/uuid > /before
                COPY a.txt /a.txt
                RUN cat /proc/sys/kernel/random/uuid > /after && cat /a.txt > /copy
                COPY b.txt /b.txt
                """),
            ("a.txt", "first\n"),
            ("b.txt", "b\n"));
        async Task<string> Files() => (await d.DockerAsync("run", "--rm", "--network", "none", tag, "cat", "/before", "/after", "/copy")).Stdout;
        var first = await BuildAsync(dir, "-t", tag);
        Assert.True(first.ExitCode == 0, first.ToString() + d.DaemonLog);
        var before = await Files();

        // A new mtime alone changes nothing: every step is cached, the image is the same.
        File.SetLastWriteTimeUtc(Path.Combine(dir, "a.txt"), DateTime.UtcNow.AddHours(1));
        var touched = await BuildAsync(dir, "-t", tag);
        Assert.Equal(4, touched.Stdout.Split(" ---> Using cache").Length - 1);
        Assert.Equal(BuildSupport.ShortId(first.Stdout), BuildSupport.ShortId(touched.Stdout));

        // New content: the RUN before its COPY stays cached; the COPY and everything after it run again.
        await File.WriteAllTextAsync(Path.Combine(dir, "a.txt"), "second\n");
        var changed = await BuildAsync(dir, "-t", tag);
        Assert.True(changed.ExitCode == 0, changed.ToString());
        Assert.Equal(1, changed.Stdout.Split(" ---> Using cache").Length - 1);
        Assert.Contains("Step 2/5 : RUN cat /proc/sys/kernel/random/uuid > /before\n ---> Using cache", changed.Stdout);
        Assert.Single(changed.Stdout.Split('\n'), l => l.StartsWith(" ---> Running in ", StringComparison.Ordinal));
        var after = (await Files()).Split('\n');
        var old = before.Split('\n');
        Assert.Equal(old[0], after[0]);       // /before: the cached step's output
        Assert.NotEqual(old[1], after[1]);    // /after: run again
        Assert.Equal("second", after[2]);
        await d.DockerAsync("rmi", tag);
    }

    [Fact]
    public async Task BadDockerfilesAndContextsFailCleanlyAndWriteNothingOutside()
    {
        var heredoc = await BuildAsync(NewContext(("Dockerfile", "FROM busybox\nRUN <<EOF\necho never closed\n")));
        Assert.NotEqual(0, heredoc.ExitCode);
        Assert.Contains("Dockerfile:2: unterminated heredoc EOF", heredoc.Stdout);

        // A context tar with a ../ entry, sent as the body of /build: a clear error, and no file written outside.
        var work = NewContext();
        var tar = Path.Combine(work, "evil.tar");
        var make = await d.ShellAsync($"cd {work} && mkdir -p in && printf 'FROM busybox\\n' > in/Dockerfile && echo EVIL > evil-{d.Tag} "
            + $"&& tar -C in -cf {tar} Dockerfile && tar -rf {tar} -C {work} --transform 's,^,../,' evil-{d.Tag} && rm evil-{d.Tag}");
        Assert.True(make.ExitCode == 0, make.ToString());
        var r = await d.ShellAsync($"curl -s -w '\\n%{{http_code}}' --unix-socket {d.Socket} -X POST -H 'Content-Type: application/x-tar' --data-binary @{tar} 'http://x/build?t=bt-evil'");
        // Found before the build begins: an error answer (400 and its message), as dockerd's.
        Assert.EndsWith("\n400", r.Stdout);
        Assert.Contains("\"message\":\"invalid build context", r.Stdout);
        Assert.Contains("../evil", r.Stdout);
        Assert.Empty(Directory.EnumerateFiles(d.Root, $"evil-{d.Tag}", SearchOption.AllDirectories));
        Assert.NotEqual(0, (await d.DockerAsync("image", "inspect", "bt-evil")).ExitCode);
    }
}
