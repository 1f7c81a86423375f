using Berth.Cli.CommandLine;
using Berth.Cli.Commands;

namespace Berth.Cli.Tests;

public sealed class ArgParserTests
{
    private static CommandSpec Run => CommandTable.Find(["run"]).Command!.Spec;

    private static CommandSpec Ps => CommandTable.Find(["ps"]).Command!.Spec;

    [Fact]
    public void NonInterspersedStopsAtFirstPositional()
    {
        var p = ArgParser.Parse(Run, ["-d", "busybox", "sh", "-c", "ls -l"]);
        Assert.True(p.GetBool("detach"));
        Assert.Equal(["busybox", "sh", "-c", "ls -l"], p.Positionals);
    }

    [Fact]
    public void CombinedShortBools()
    {
        var p = ArgParser.Parse(Run, ["-it", "busybox"]);
        Assert.True(p.GetBool("interactive"));
        Assert.True(p.GetBool("tty"));
        Assert.Equal(["busybox"], p.Positionals);
    }

    [Fact]
    public void CombinedBoolsThenValueShort()
    {
        var p = ArgParser.Parse(Run, ["-dit", "-eA=1", "img"]);
        Assert.True(p.GetBool("detach"));
        Assert.Equal(["A=1"], p.GetAll("env"));
        p = ArgParser.Parse(Run, ["-de", "A=1", "img"]);
        Assert.True(p.GetBool("detach"));
        Assert.Equal(["A=1"], p.GetAll("env"));
    }

    [Theory]
    [InlineData("-e", "K=V")]
    [InlineData("-eK=V", null)]
    [InlineData("-e=K=V", null)]
    [InlineData("--env=K=V", null)]
    [InlineData("--env", "K=V")]
    public void EnvSpellings(string a, string? b)
    {
        var args = b is null ? new[] { a, "img" } : new[] { a, b, "img" };
        var p = ArgParser.Parse(Run, args);
        Assert.Equal(["K=V"], p.GetAll("env"));
        Assert.Equal(["img"], p.Positionals);
    }

    [Fact]
    public void RepeatableFlagsKeepOrder()
    {
        var p = ArgParser.Parse(Run, ["-e", "A=1", "--env", "B=2", "-eC=3", "-l", "x=y", "img"]);
        Assert.Equal(["A=1", "B=2", "C=3"], p.GetAll("env"));
        Assert.Equal(["x=y"], p.GetAll("label"));
    }

    [Fact]
    public void BoolExplicitValues()
    {
        Assert.False(ArgParser.Parse(Run, ["--rm=false", "img"]).GetBool("rm"));
        Assert.True(ArgParser.Parse(Run, ["--rm=true", "img"]).GetBool("rm"));
        Assert.True(ArgParser.Parse(Run, ["--rm", "img"]).GetBool("rm"));
        // A bool never takes the next word as its value.
        var p = ArgParser.Parse(Run, ["--rm", "false"]);
        Assert.True(p.GetBool("rm"));
        Assert.Equal(["false"], p.Positionals);
    }

    [Fact]
    public void DoubleDashTerminates()
    {
        var p = ArgParser.Parse(Ps, ["-a", "--", "-q"]);
        Assert.True(p.GetBool("all"));
        Assert.False(p.GetBool("quiet"));
        Assert.Equal(["-q"], p.Positionals);
    }

    [Fact]
    public void InterspersedCommandsParseFlagsAfterPositionals()
    {
        var stop = CommandTable.Find(["stop"]).Command!.Spec;
        var p = ArgParser.Parse(stop, ["a", "-t", "3", "b"]);
        Assert.Equal(["a", "b"], p.Positionals);
        Assert.Equal(3, p.GetInt("timeout"));
    }

    [Fact]
    public void UnknownFlags()
    {
        var e = Assert.Throws<UsageException>(() => ArgParser.Parse(Run, ["--x", "img"]));
        Assert.Equal("unknown flag: --x", e.Message);
        Assert.Equal(125, e.ExitCode);
        e = Assert.Throws<UsageException>(() => ArgParser.Parse(Run, ["-Z", "img"]));
        Assert.Equal("unknown shorthand flag: 'Z' in -Z", e.Message);
    }

    [Fact]
    public void MissingArgumentAndBadBool()
    {
        Assert.Equal("flag needs an argument: --name", Assert.Throws<UsageException>(() => ArgParser.Parse(Run, ["--name"])).Message);
        Assert.Equal("flag needs an argument: 'e' in -e", Assert.Throws<UsageException>(() => ArgParser.Parse(Run, ["-e"])).Message);
        Assert.Equal("invalid argument \"x\" for \"--rm\" flag: strconv.ParseBool: parsing \"x\": invalid syntax",
            Assert.Throws<UsageException>(() => ArgParser.Parse(Run, ["--rm=x", "img"])).Message);
        Assert.Equal("invalid argument \"x\" for \"-d, --detach\" flag: strconv.ParseBool: parsing \"x\": invalid syntax",
            Assert.Throws<UsageException>(() => ArgParser.Parse(Run, ["-d=x", "img"])).Message);
    }

    [Fact]
    public void HelpFlag()
    {
        Assert.True(ArgParser.Parse(Ps, ["--help"]).HelpRequested);
    }

    [Fact]
    public void LastScalarWins()
    {
        var p = ArgParser.Parse(Run, ["--name", "a", "--name=b", "img"]);
        Assert.Equal("b", p.Get("name"));
        Assert.Equal("-1", ArgParser.Parse(Ps, []).Get("last"));
    }

    [Fact]
    public void SingleDashIsPositional()
    {
        var import = CommandTable.Find(["import"]).Command!.Spec;
        var p = ArgParser.Parse(import, ["-", "repo:tag"]);
        Assert.Equal(["-", "repo:tag"], p.Positionals);
    }

    [Fact]
    public void AliasesResolve()
    {
        Assert.Equal("container ls", CommandTable.Find(["container", "ls", "-a"]).Command!.Spec.Path);
        Assert.Equal("ps", CommandTable.Find(["ps"]).Command!.Spec.Path);
        Assert.Equal("berth image ls [OPTIONS] [REPOSITORY[:TAG]]", CommandTable.Find(["image", "ls"]).Command!.Spec.Usage);
        Assert.Equal("berth images [OPTIONS] [REPOSITORY[:TAG]]", CommandTable.Find(["images"]).Command!.Spec.Usage);
        Assert.Equal((null, 0), CommandTable.Find(["frob"]));
    }
}
