using Berth.Builder;

namespace Berth.Builder.Tests;

public sealed class RunMountTests
{
    [Fact]
    public void SeveralMountFlagsOnOneRun()
    {
        var f = DockerfileParser.Parse(
            "FROM busybox\nRUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0700,uid=1000,gid=2 --mount=type=bind,source=src,target=/src,rw --mount=type=tmpfs,target=/t,size=64m make\n");
        var run = f.Instructions[1];
        Assert.Equal("make", run.Args);
        var mounts = run.Flags.Where(x => x.Key == "mount").Select(x => RunMount.Parse(x.Value)).ToList();
        Assert.Equal(3, mounts.Count);

        var cache = mounts[0];
        Assert.Equal(("cache", "/root/.cache", "pip", "locked"), (cache.Type, cache.Target, cache.Id, cache.Sharing));
        Assert.Equal((0x1C0u, 1000, 2, false), (cache.Mode, cache.Uid, cache.Gid, cache.ReadOnly));

        var bind = mounts[1];
        Assert.Equal(("bind", "/src", "src", false), (bind.Type, bind.Target, bind.Source, bind.ReadOnly));

        Assert.Equal(("tmpfs", "/t", 64L << 20), (mounts[2].Type, mounts[2].Target, mounts[2].Size));
    }

    [Fact]
    public void DefaultsFollowBuildKit()
    {
        var bind = RunMount.Parse("target=/x");
        Assert.Equal("bind", bind.Type);
        Assert.True(bind.ReadOnly); // a bind is read-only unless rw
        var fromStage = RunMount.Parse("type=bind,from=builder,source=/out,dst=/in");
        Assert.Equal(("builder", "/out", "/in"), (fromStage.From, fromStage.Source, fromStage.Target));

        var cache = RunMount.Parse("type=cache,target=/cache");
        Assert.Equal(("shared", 0x1EDu, false), (cache.Sharing, cache.Mode, cache.ReadOnly));
        Assert.Null(cache.Id);
        Assert.Equal("type=cache,target=/cache,id=/cache,sharing=shared,mode=755,uid=0,gid=0,rw", cache.Canonical());
        Assert.True(RunMount.Parse("type=cache,target=/c,ro").ReadOnly);
    }

    [Fact]
    public void CanonicalFormChangesWithEverySpec()
    {
        var a = RunMount.Parse("type=cache,target=/c").Canonical();
        Assert.NotEqual(a, RunMount.Parse("type=cache,target=/c,id=other").Canonical());
        Assert.NotEqual(a, RunMount.Parse("type=cache,target=/c,sharing=locked").Canonical());
        Assert.NotEqual(a, RunMount.Parse("type=cache,target=/d").Canonical());
        Assert.Equal(a, RunMount.Parse("target=/c,type=cache").Canonical());
    }

    [Theory]
    [InlineData("type=volume,target=/x", "unsupported mount type \"volume\"")]
    [InlineData("type=cache", "mount target is required")]
    [InlineData("type=cache,target=/x,colour=red", "unexpected key 'colour'")]
    [InlineData("type=tmpfs,target=/x,from=a", "option \"from\" is not valid for mount type tmpfs")]
    [InlineData("type=bind,target=/x,sharing=locked", "option \"sharing\" is not valid for mount type bind")]
    [InlineData("type=cache,target=/x,sharing=sometimes", "unsupported sharing value")]
    [InlineData("type=cache,target=/x,mode=999", "invalid mode")]
    [InlineData("type=cache,target=/x,uid=-1", "invalid uid")]
    [InlineData("type=tmpfs,target=/x,size=lots", "invalid size")]
    [InlineData("type=bind,target=/x,ro=maybe", "invalid value for ro")]
    public void BadMountsAreErrorsWithFileAndLine(string mount, string reason)
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse($"FROM busybox\n\nRUN --mount={mount} true\n"));
        Assert.Equal(3, e.Line);
        Assert.StartsWith("Dockerfile:3: --mount=", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void UnknownRunFlagIsAnError()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\nRUN --mont=type=cache,target=/x true\n"));
        Assert.Equal("Dockerfile:2: unknown flag: mont", e.Message);
    }
}
