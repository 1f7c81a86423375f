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
    public async Task MultiStageCopiesFromAStageAndStopsAtTarget()
    {
        var tag = "bt-multi-" + d.Tag;
        var dir = NewContext(("Dockerfile", BuildSupport.MultiStage));
        var b = await BuildAsync(dir, "--target", "final", "--build-arg", "WHO=test", "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        Assert.DoesNotContain("exit 3", b.Stdout);
        Assert.DoesNotContain("exit 4", b.Stdout);

        var r = await d.DockerAsync("run", "--rm", "--network", "none", tag);
        Assert.True(r.ExitCode == 0, r.ToString() + "\nbuild: " + b.Stdout);
        Assert.Equal("built by test\n", r.Stdout);
        var label = await d.DockerAsync("inspect", "--format", "{{.Config.Labels.kind}}", tag);
        Assert.Equal("final", label.Stdout.Trim());
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
    }

    [Fact]
    public async Task CopyOutsideTheContextIsRefused()
    {
        var dir = NewContext(("Dockerfile", "FROM busybox\nCOPY ../secret /s\n"));
        var b = await BuildAsync(dir);
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains("outside the build context", b.Stdout);
    }
}
