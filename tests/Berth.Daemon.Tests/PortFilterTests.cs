using Berth.Core;
using Berth.Daemon.Containers;

namespace Berth.Daemon.Tests;

public sealed class PortFilterTests
{
    [Fact]
    public void Values_ExpandToContainerPortKeys()
    {
        Assert.Equal(["80/tcp"], ContainerPortFilters.Parse("publish", ["80"]));
        Assert.Equal(["53/udp", "54/udp"], ContainerPortFilters.Parse("expose", ["53-54/udp"]));
    }

    [Fact]
    public void Matching_DefaultsKeysToTcp()
    {
        var wanted = ContainerPortFilters.Parse("publish", ["8000-8002"]);
        Assert.True(ContainerPortFilters.Matches(["8001/tcp"], wanted));
        Assert.True(ContainerPortFilters.Matches(["8002"], wanted));
        Assert.False(ContainerPortFilters.Matches(["8001/udp", "80/tcp"], wanted));
        Assert.False(ContainerPortFilters.Matches(null, wanted));
    }

    [Theory]
    [InlineData("0.0.0.0:80", "filter for 'publish' should not contain ':': 0.0.0.0:80")]
    [InlineData("http", "error while looking up for publish http")]
    [InlineData("90-80", "error while looking up for publish 90-80")]
    public void BadValues_Are400(string value, string message)
    {
        var e = Assert.Throws<BerthException>(() => ContainerPortFilters.Parse("publish", [value]));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.StartsWith(message, e.Message);
    }
}
