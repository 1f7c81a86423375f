using Berth.Builder;
using Berth.Content;

namespace Berth.Builder.Tests;

/// <summary>Parser behaviours checked against dockerd's legacy builder (Docker 20.10/28) by hand.</summary>
public sealed class DockerfileParityTests
{
    [Fact]
    public void AnEmptyContinuationLineIsAWarningButACommentLineIsNot()
    {
        var f = DockerfileParser.Parse("FROM busybox\nRUN echo one \\\n# comment\n    two \\\n\n    three\nLABEL a=1 \\\n# only a comment\n  b=2\n");
        var w = Assert.Single(f.Warnings);
        Assert.Equal("Empty continuation line found in: RUN echo one     two     three", w);
        Assert.Equal(3, f.Instructions.Count);
    }

    [Fact]
    public void NoWarningsWithoutEmptyContinuationLines()
    {
        var f = DockerfileParser.Parse("FROM busybox\n\nRUN a \\\n  b\n");
        Assert.Empty(f.Warnings);
    }

    [Theory]
    [InlineData("", "the Dockerfile (Dockerfile) cannot be empty")]
    [InlineData("# just a comment\n# another\n", "failed to parse Dockerfile: file with no instructions")]
    [InlineData("# escape=`\n\n   \n", "failed to parse Dockerfile: file with no instructions")]
    public void AFileWithNoInstructionsFailsAsInDocker(string text, string message)
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse(text));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("interval", "", null)]
    [InlineData("interval", "1500us", 1_500_000L)]
    [InlineData("timeout", "1m30s", 90_000_000_000L)]
    public void HealthcheckDurationsDockerAccepts_ParseAndGiveTheirValue(string flag, string value, long? ns)
    {
        Assert.Equal("HEALTHCHECK", DockerfileParser.Parse($"FROM busybox\nHEALTHCHECK --{flag}={value} CMD true\n").Instructions[1].Keyword);
        var hc = HealthcheckFlags.Apply(new HealthConfig(), flag, value);
        Assert.Equal(ns, flag == "interval" ? hc.Interval : hc.Timeout);
    }

    [Theory]
    [InlineData("HEALTHCHECK --interval=xx CMD true", "time: invalid duration \"xx\"")]
    [InlineData("HEALTHCHECK --timeout=5 CMD true", "time: invalid duration \"5\"")]
    [InlineData("HEALTHCHECK --start-period=1q CMD true", "time: invalid duration \"1q\"")]
    [InlineData("HEALTHCHECK --retries=x CMD true", "strconv.ParseInt: parsing \"x\": invalid syntax")]
    [InlineData("HEALTHCHECK --interval=10us CMD true", "Interval \"interval\" cannot be less than 1ms")]
    [InlineData("HEALTHCHECK --timeout=0 CMD true", "Interval \"timeout\" cannot be less than 1ms")]
    [InlineData("HEALTHCHECK --start-period=-5s CMD true", "Interval \"start-period\" cannot be less than 1ms")]
    [InlineData("HEALTHCHECK --retries=0 CMD true", "--retries must be at least 1 (not 0)")]
    public void BadHealthcheckFlagsFailTheParseAtTheirLine(string line, string reason)
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\n" + line + "\n"));
        Assert.Equal(2, e.Line);
        Assert.Equal(reason, e.Reason);
    }

    [Fact]
    public void GoodHealthcheckFlagsParse()
    {
        var f = DockerfileParser.Parse("FROM busybox\nHEALTHCHECK --interval=1m30s --timeout=500ms --start-period=1s --retries=3 CMD true\n");
        Assert.Equal("1m30s", f.Instructions[1].Flag("interval"));
        Assert.Equal(90_000_000_000, Executor.Duration("1m30s"));
    }
}

public sealed class DockerfileParityMoreTests
{
    [Theory]
    [InlineData("ENV a")]
    [InlineData("LABEL a")]
    [InlineData("env \"quoted\"")]
    public void EnvAndLabelWithAKeyAloneFailTheParse(string line)
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\n" + line + "\n"));
        Assert.Equal(2, e.Line);
        Assert.Equal(line.Split(' ')[0].ToUpperInvariant() + " must have two arguments", e.Reason);
    }

    [Theory]
    [InlineData("ENV a b")]
    [InlineData("ENV a=")]
    [InlineData("LABEL a=1")]
    public void EnvAndLabelWithAValueParse(string line) =>
        Assert.Equal(2, DockerfileParser.Parse("FROM busybox\n" + line + "\n").Instructions.Count);

    [Theory]
    [InlineData("SIGTERM", true)]
    [InlineData("term", true)]
    [InlineData("9", true)]
    [InlineData("SIGRTMIN+3", true)]
    [InlineData("SIGFOO", false)]
    [InlineData("0", false)]
    [InlineData("65", true)]
    [InlineData("", false)]
    [InlineData("CLD", true)]
    [InlineData("SIGUNUSED", true)]
    public void StopSignalsAreCheckedAsDockerDoes(string signal, bool valid) =>
        Assert.Equal(valid, Berth.Core.Signals.IsStopSignal(signal));

    [Fact]
    public void StepsWithoutACommandAreNamedWithTheStagesShell_AsDockerd()
    {
        Assert.Equal("/bin/sh -c #(nop) WORKDIR /app", Executor.NopCreatedBy(new ContainerConfig(), "WORKDIR /app"));
        Assert.Equal("/bin/bash -c #(nop)  ENV a=1", Executor.NopCreatedBy(new ContainerConfig { Shell = ["/bin/bash", "-c"] }, " ENV a=1"));
    }
}
