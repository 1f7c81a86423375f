using Berth.Core;
using Berth.Daemon.Containers;

namespace Berth.Daemon.Tests;

public sealed class ParseBindTests
{
    [Fact]
    public void HostPath_IsBind_ReadWrite_RPrivate()
    {
        var m = ContainerValidation.ParseBind("/srv/data:/data");
        Assert.Equal("bind", m.Type);
        Assert.Equal("/srv/data", m.Source);
        Assert.Equal("/data", m.Destination);
        Assert.True(m.RW);
        Assert.Equal("", m.Mode);
        Assert.Equal("rprivate", m.Propagation);
        Assert.Null(m.Name);
    }

    [Fact]
    public void HostPath_ReadOnly()
    {
        var m = ContainerValidation.ParseBind("/srv/data:/data:ro");
        Assert.Equal("bind", m.Type);
        Assert.False(m.RW);
        Assert.Equal("ro", m.Mode);
    }

    [Fact]
    public void HostPath_ExplicitRw_AndPropagation()
    {
        var m = ContainerValidation.ParseBind("/srv/data:/data:rw,rshared");
        Assert.True(m.RW);
        Assert.Equal("rshared", m.Propagation);
        Assert.Equal("rw,rshared", m.Mode);
    }

    [Theory]
    [InlineData("z")]
    [InlineData("Z")]
    [InlineData("ro,z")]
    [InlineData("cached")]
    [InlineData("delegated")]
    [InlineData("consistent")]
    public void HostPath_AcceptsDockerCompatModes(string mode)
    {
        var m = ContainerValidation.ParseBind($"/srv:/srv:{mode}");
        Assert.Equal("bind", m.Type);
        Assert.Equal(!mode.Contains("ro"), m.RW);
    }

    [Fact]
    public void NamedVolume()
    {
        var m = ContainerValidation.ParseBind("pgdata:/var/lib/postgresql");
        Assert.Equal("volume", m.Type);
        Assert.Equal("pgdata", m.Name);
        Assert.Equal("/var/lib/postgresql", m.Destination);
        Assert.True(m.RW);
    }

    [Fact]
    public void NamedVolume_ReadOnly_NoCopy()
    {
        var m = ContainerValidation.ParseBind("my_vol.1-x:/data:ro,nocopy");
        Assert.Equal("volume", m.Type);
        Assert.Equal("my_vol.1-x", m.Name);
        Assert.False(m.RW);
    }

    [Fact]
    public void Anonymous()
    {
        var m = ContainerValidation.ParseBind("/data");
        Assert.Equal("volume", m.Type);
        Assert.Null(m.Name);
        Assert.Equal("/data", m.Destination);
        Assert.True(m.RW);
    }

    [Fact]
    public void Anonymous_WithMode()
    {
        var m = ContainerValidation.ParseBind("/data:ro");
        Assert.Equal("volume", m.Type);
        Assert.Null(m.Name);
        Assert.Equal("/data", m.Destination);
        Assert.False(m.RW);
    }

    [Theory]
    [InlineData("")]
    [InlineData("data")]                       // destination not absolute
    [InlineData("vol:data")]                   // destination not absolute
    [InlineData("/host:/")]                    // destination is the root
    [InlineData("/")]
    [InlineData("/host:/data:bogus")]          // unknown mode
    [InlineData("/host:/data:ro,bogus")]
    [InlineData("/a:/b:ro:extra")]             // too many fields
    [InlineData("rel/path:/data")]             // neither absolute host path nor volume name
    [InlineData("./data:/data")]
    [InlineData("x:/data")]                    // volume names have at least two characters
    [InlineData(":/data")]                     // empty source
    public void Invalid_ThrowsInvalidArgument(string spec)
    {
        var ex = Assert.Throws<BerthException>(() => ContainerValidation.ParseBind(spec));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
    }

    [Fact]
    public void EmptyModeField_IsAccepted()
    {
        // moby's linuxValidMountMode("") is true: "/host:/data:" is a plain read-write bind.
        var m = ContainerValidation.ParseBind("/host:/data:");
        Assert.Equal("bind", m.Type);
        Assert.True(m.RW);
    }

    [Fact]
    public void Invalid_Message_NamesTheSpec()
    {
        var ex = Assert.Throws<BerthException>(() => ContainerValidation.ParseBind("vol:data"));
        Assert.Contains("invalid volume specification: 'vol:data'", ex.Message);
        Assert.Contains("must be absolute", ex.Message);
    }

    [Theory]
    [InlineData("/host:/data:ro,rw")]
    [InlineData("/host:/data:rshared,rslave")]
    public void ConflictingModes_Throw(string spec)
    {
        // moby's ValidMountMode allows at most one rw mode and one propagation mode.
        var ex = Assert.Throws<BerthException>(() => ContainerValidation.ParseBind(spec));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
    }
}
