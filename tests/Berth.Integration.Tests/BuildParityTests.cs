namespace Berth.Integration.Tests;

/// <summary>
/// Dockerfile details where the legacy builder of dockerd was the reference (compared by hand against Docker's own
/// engine): the default PATH, HEALTHCHECK in image inspect, MAINTAINER's Author, ENV's single expansion, meta ARG
/// steps, the warning for empty continuation lines and the note when a HEALTHCHECK is replaced.
/// </summary>
public sealed class BuildParityTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
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
}
