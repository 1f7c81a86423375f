namespace Berth.Integration.Tests;

/// <summary>
/// Dockerfile details where the legacy builder of dockerd was the reference (compared by hand against Docker's own
/// engine): the default PATH, HEALTHCHECK in image inspect, MAINTAINER's Author, ENV's single expansion, meta ARG
/// steps, the warning for empty continuation lines and the note when a HEALTHCHECK is replaced.
/// </summary>
public sealed class BuildParityTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    /// <summary>Builds <paramref name="dockerfile"/> (in a context of its own) with <paramref name="args"/>; the build must succeed.</summary>
    private async Task<CommandResult> BuiltAsync(string dockerfile, params string[] args)
    {
        var b = await d.DockerBuildAsync(d.NewContext(("Dockerfile", dockerfile)), args);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        return b;
    }

    [Fact]
    public async Task ConfigAuthorHistoryAndOutputMatchDockers()
    {
        var tag = "bp-parity-" + d.Tag;
        var dir = d.NewContext(("Dockerfile", """
            ARG BASE=busybox
            FROM ${BASE}
            MAINTAINER Jane Doe <jane@example.com>
            ENV a=1 b=$a
            EXPOSE 80/udp 8000-8001
            HEALTHCHECK CMD ["true"]
            HEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost || exit 1
            RUN echo one \

                two > /out
            """));
        var b = await d.DockerBuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        Assert.Contains("[WARNING]: Empty continuation line found in: RUN echo one     two > /out\n", b.Stdout);
        Assert.Contains("Step 1/8 : ARG BASE=busybox\nStep 2/8 : FROM ${BASE}\n", b.Stdout);
        Assert.Contains("Note: overriding previous HEALTHCHECK: [CMD true]\n", b.Stdout);

        var i = await d.DockerAsync("image", "inspect", "-f",
            "{{.Author}}|{{json .Config.Env}}|{{json .Config.Healthcheck}}|{{json .Config.ExposedPorts}}", tag);
        Assert.True(i.ExitCode == 0, i.ToString());
        Assert.Equal("Jane Doe <jane@example.com>|"
            + "[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"a=1\",\"b=\"]|"
            + "{\"Test\":[\"CMD-SHELL\",\"wget -q localhost || exit 1\"],\"Interval\":5000000000,\"Retries\":2}|"
            + "{\"80/udp\":{},\"8000/tcp\":{},\"8001/tcp\":{}}", i.Stdout.Trim());

        var h = await d.DockerAsync("history", "--no-trunc", "--format", "{{.CreatedBy}}", tag);
        Assert.Contains("/bin/sh -c #(nop)  ENV a=1 b=\n", h.Stdout);
        Assert.Contains("/bin/sh -c #(nop)  EXPOSE 80/udp 8000-8001\n", h.Stdout);
    }

    [Fact]
    public async Task BadHealthcheckDurationFailsBeforeAnyStep()
    {
        var dir = d.NewContext(("Dockerfile", "FROM busybox\nHEALTHCHECK --interval=xx CMD true\n"));
        var b = await d.DockerBuildAsync(dir, "-t", "bp-bad-" + d.Tag);
        Assert.Equal(1, b.ExitCode);
        Assert.Contains("Dockerfile:2: time: invalid duration \"xx\"", b.Stdout);
        Assert.DoesNotContain("Step 1/", b.Stdout);
    }

    [Fact]
    public async Task HealthcheckKeepsTheTimesItLeavesUnset_FromTheOneBefore()
    {
        // dockerd's legacy builder merges the previous check's times and retries into a HEALTHCHECK that leaves them
        // unset, NONE included; a run with --health-cmd then takes them (probes every 1s, not the 30s default).
        var parent = "bp-hc-" + d.Tag;
        await BuiltAsync("FROM busybox\nHEALTHCHECK --interval=1s --timeout=2s --start-period=3s --retries=2 CMD true\n", "-t", parent);
        await BuiltAsync($"FROM {parent}\nHEALTHCHECK NONE\n", "-t", parent + "-none");
        await BuiltAsync($"FROM {parent}\nHEALTHCHECK --retries=5 CMD false\n", "-t", parent + "-other");
        var i = await d.DockerAsync("image", "inspect", "-f", "{{json .Config.Healthcheck}}", parent + "-none", parent + "-other");
        Assert.True(i.ExitCode == 0, i.ToString());
        Assert.Equal(
            """{"Test":["NONE"],"Interval":1000000000,"Timeout":2000000000,"StartPeriod":3000000000,"Retries":2}""" + "\n" +
            """{"Test":["CMD-SHELL","false"],"Interval":1000000000,"Timeout":2000000000,"StartPeriod":3000000000,"Retries":5}""" + "\n",
            i.Stdout);
    }

    [Fact]
    public async Task ProxyArgsReachRunWithoutAnArgLine_ButNotItsHistory()
    {
        var tag = "bp-proxy-" + d.Tag;
        var dir = d.NewContext(("Dockerfile", "FROM busybox\nRUN echo \"p=$HTTP_PROXY n=$no_proxy\" > /proxy\n"));
        var b = await d.DockerBuildAsync(dir, "-t", tag, "--build-arg", "HTTP_PROXY=http://127.0.0.1:3128", "--build-arg", "no_proxy=localhost");
        Assert.True(b.ExitCode == 0, b.ToString());
        Assert.DoesNotContain("were not consumed", b.Stdout);
        var r = await d.DockerAsync("run", "--rm", tag, "cat", "/proxy");
        Assert.Equal("p=http://127.0.0.1:3128 n=localhost\n", r.Stdout);
        var h = await d.DockerAsync("history", "--no-trunc", "--format", "{{.CreatedBy}}", tag);
        Assert.DoesNotContain("PROXY=", h.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("|1 ", h.Stdout);
        // Another proxy keeps the cache: the step's key leaves undeclared proxy args out, as dockerd's does.
        var again = await d.DockerBuildAsync(dir, "-t", tag, "--build-arg", "HTTP_PROXY=http://127.0.0.1:3129");
        Assert.Contains("Using cache", again.Stdout);
    }

    [Fact]
    public async Task DockerfileFromStdinWithAContextDirectory()
    {
        // `docker build -f - DIR`: the CLI appends the Dockerfile to the context tar and leaves the archive unfinished
        // (no padding, no end blocks), which dockerd reads as whole.
        var tag = "bp-stdin-" + d.Tag;
        var dir = d.NewContext(("data.txt", "from the context\n"), ("Dockerfile", "FROM busybox\nRUN false\n"));
        var b = await d.ShellAsync($"cd {dir} && printf 'FROM busybox\\nCOPY data.txt /data.txt\\n' | DOCKER_BUILDKIT=0 DOCKER_HOST={d.DockerHost} "
            + $"/usr/local/bin/docker build -f - -t {tag} . 2>&1");
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        Assert.Equal("from the context\n", (await d.DockerAsync("run", "--rm", tag, "cat", "/data.txt")).Stdout);
    }

    [Fact]
    public async Task ProcessesHaveTheirPrimaryGroupAmongTheSupplementaryOnes()
    {
        // dockerd puts the primary group in the supplementary list too: `id` shows groups=, in a RUN step as in a run.
        var tag = "bp-groups-" + d.Tag;
        await BuiltAsync("FROM busybox\nUSER nobody\nRUN id > /tmp/id\nUSER root\n", "-t", tag);
        Assert.Equal("uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\n", (await d.DockerAsync("run", "--rm", tag, "cat", "/tmp/id")).Stdout);
        Assert.Equal("uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\n", (await d.DockerAsync("run", "--rm", "--user", "nobody", "busybox", "id")).Stdout);
        Assert.Equal("uid=0(root) gid=0(root) groups=0(root)\n", (await d.DockerAsync("run", "--rm", "busybox", "id")).Stdout);
    }

    [Fact]
    public async Task ARunThatChangesNothingAddsNoLayer()
    {
        var tag = "bp-nolayer-" + d.Tag;
        await BuiltAsync("FROM busybox\nRUN true\nRUN touch /made\n", "-t", tag);
        // busybox's layer and the touch's: `RUN true` is a history entry of 0B and no layer, as dockerd builds it.
        Assert.Equal("2", (await d.DockerAsync("inspect", "-f", "{{len .RootFS.Layers}}", tag)).Stdout.Trim());
        var h = await d.DockerAsync("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}", tag);
        Assert.Contains("/bin/sh -c true|0B\n", h.Stdout);
    }

    [Fact]
    public async Task ErrorsFoundBeforeTheBuildAreErrorAnswers()
    {
        // As dockerd: no Dockerfile, no such target, a Dockerfile named outside the context: an HTTP error, which the
        // CLI prints as "Error response from daemon: ...", not a message in a 200 stream.
        var dir = d.NewContext(("Dockerfile", "FROM busybox AS one\nRUN true\n"));
        // (The CLI checks -f itself, so the daemon's answer is asked for directly.)
        var missing = await d.ShellAsync($"tar -C {dir} -cf - . | curl -s -w '\\n%{{http_code}}' --unix-socket {d.Socket} -X POST "
            + "-H 'Content-Type: application/x-tar' --data-binary @- 'http://x/build?dockerfile=nosuch'");
        Assert.Equal("{\"message\":\"Cannot locate specified Dockerfile: nosuch\"}\n\n400", missing.Stdout);
        var target = await d.DockerBuildAsync(dir, "--target", "two");
        Assert.Equal(1, target.ExitCode);
        Assert.Contains("Error response from daemon: failed to reach build target two in Dockerfile", target.Stdout);
        var outside = await d.ShellAsync($"curl -s -w '\\n%{{http_code}}' --unix-socket {d.Socket} -X POST -H 'Content-Type: application/x-tar' "
            + $"--data-binary @/dev/null 'http://x/build?dockerfile=..%2FDockerfile'");
        Assert.Equal("{\"message\":\"forbidden path outside the build context: ../Dockerfile\"}\n\n400", outside.Stdout);
        var badStage = await d.DockerBuildAsync(d.NewContext(("Dockerfile", "FROM busybox AS 1bad\nRUN true\n")));
        Assert.Equal(1, badStage.ExitCode);
        Assert.Contains("Error response from daemon: Dockerfile:1: invalid name for build stage: \"1bad\", name can't start with a number or contain symbols", badStage.Stdout);
    }

    [Fact]
    public async Task CommandLineLabelsAreStepsOfTheirOwn()
    {
        // dockerd's legacy builder: one LABEL step per --label, at the end, in the order of the keys.
        var tag = "bp-labels-" + d.Tag;
        var dir = d.NewContext(("Dockerfile", "FROM busybox\nRUN true\n"));
        var b = await d.DockerBuildAsync(dir, "-t", tag, "--label", "b=2", "--label", "a=1");
        Assert.True(b.ExitCode == 0, b.ToString());
        Assert.Contains("Step 2/4 : RUN true\n", b.Stdout);
        Assert.Contains("Step 3/4 : LABEL a=1\n", b.Stdout);
        Assert.Contains("Step 4/4 : LABEL b=2\n", b.Stdout);
        Assert.Equal("map[a:1 b:2]", (await d.DockerAsync("inspect", "-f", "{{.Config.Labels}}", tag)).Stdout.Trim());
        var h = await d.DockerAsync("history", "--no-trunc", "--format", "{{.CreatedBy}}", tag);
        Assert.StartsWith("/bin/sh -c #(nop)  LABEL b=2\n/bin/sh -c #(nop)  LABEL a=1\n/bin/sh -c true\n", h.Stdout);
        var again = await d.DockerBuildAsync(dir, "-t", tag, "--label", "b=2", "--label", "a=1");
        Assert.Equal(3, again.Stdout.Split(" ---> Using cache").Length - 1);
    }

    [Fact]
    public async Task AnEmptyCmdClearsTheCommand_ABareOneLeavesTheShell()
    {
        // What dockerd's legacy builder stores: `CMD []` is no command at all, `CMD` alone the shell with nothing to run.
        var tag = "bp-cmd-" + d.Tag;
        await BuiltAsync("FROM busybox\nCMD []\n", "-t", tag + "-empty");
        await BuiltAsync("FROM busybox\nCMD\n", "-t", tag + "-bare");
        var i = await d.DockerAsync("image", "inspect", "-f", "{{json .Config.Cmd}}", tag + "-empty", tag + "-bare");
        Assert.Equal("null\n[\"/bin/sh\",\"-c\"]\n", i.Stdout);
    }
}
