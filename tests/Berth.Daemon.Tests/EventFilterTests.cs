using Berth.Api;
using Berth.Daemon.Events;

namespace Berth.Daemon.Tests;

/// <summary>dockerd's event filter rules, one by one.</summary>
public sealed class EventFilterTests
{
    private static readonly EventBus Bus = new();

    private static bool Match(string filters, EventMessage e) => EventFilter.From(Filters.Parse(filters)).Matches(e);

    private static EventMessage Container(string action = "start", string id = "abc123", string name = "/web", Dictionary<string, string>? labels = null) =>
        Bus.Container(action, EventBusTests.Record(id, name, labels));

    [Fact]
    public void EmptyFilterMatchesEverything()
    {
        Assert.True(Match("{}", Container()));
        Assert.True(Match("{}", Bus.Volume("create", "v")));
    }

    [Fact]
    public void TypeIsExact()
    {
        Assert.True(Match("{\"type\":[\"container\"]}", Container()));
        Assert.False(Match("{\"type\":[\"volume\"]}", Container()));
        Assert.True(Match("{\"type\":[\"volume\",\"container\"]}", Container()));
        Assert.False(Match("{\"type\":[\"contain\"]}", Container()));
    }

    [Fact]
    public void EventIsExactExceptForExecAndHealthPrefixes()
    {
        Assert.True(Match("{\"event\":[\"start\"]}", Container("start")));
        Assert.False(Match("{\"event\":[\"sta\"]}", Container("start")));
        var exec = Bus.ExecStarted(EventBusTests.Record(), "e", ["sh"]);
        Assert.True(Match("{\"event\":[\"exec_start\"]}", exec));
        Assert.False(Match("{\"event\":[\"exec_create\"]}", exec));
        Assert.True(Match("{\"event\":[\"exec_start: sh\"]}", exec));
    }

    [Fact]
    public void ContainerMatchesIdOrNameByPrefix()
    {
        var e = Container(id: "abc123", name: "/web");
        Assert.True(Match("{\"container\":[\"web\"]}", e));
        Assert.True(Match("{\"container\":[\"abc\"]}", e));
        Assert.True(Match("{\"container\":[\"we\"]}", e));
        Assert.False(Match("{\"container\":[\"db\"]}", e));
        Assert.True(Match("{\"container\":[\"db\",\"web\"]}", e));
        // Events of other objects do not name the container, so they are left out.
        Assert.False(Match("{\"container\":[\"web\"]}", Bus.Volume("create", "data")));
    }

    [Fact]
    public void VolumeAndNetworkMatchTheirActor()
    {
        Assert.True(Match("{\"volume\":[\"data\"]}", Bus.Volume("mount", "data", ("container", "x"))));
        Assert.False(Match("{\"volume\":[\"other\"]}", Bus.Volume("mount", "data")));
        var connect = Bus.Network("connect", "n1d", "bridge", "bridge", "cid");
        Assert.True(Match("{\"network\":[\"bridge\"]}", connect));
        Assert.True(Match("{\"network\":[\"n1\"]}", connect));
        Assert.False(Match("{\"network\":[\"host\"]}", connect));
    }

    [Fact]
    public void ImageMatchesNameWithOrWithoutTagAndId()
    {
        var tag = Bus.Image("tag", "sha256:" + new string('b', 64), "busybox:latest");
        Assert.True(Match("{\"image\":[\"busybox:latest\"]}", tag));
        Assert.True(Match("{\"image\":[\"busybox\"]}", tag));
        Assert.True(Match("{\"image\":[\"sha256:" + new string('b', 64) + "\"]}", tag));
        Assert.False(Match("{\"image\":[\"alpine\"]}", tag));
        // Container events match on the image the container was made from.
        Assert.True(Match("{\"image\":[\"busybox\"]}", Container()));
        Assert.False(Match("{\"image\":[\"alpine\"]}", Container()));
    }

    [Fact]
    public void LabelsMustAllMatch()
    {
        var e = Container(labels: new() { ["tier"] = "front", ["team"] = "a" });
        Assert.True(Match("{\"label\":[\"tier\"]}", e));
        Assert.True(Match("{\"label\":[\"tier=front\"]}", e));
        Assert.True(Match("{\"label\":[\"tier=front\",\"team=a\"]}", e));
        Assert.False(Match("{\"label\":[\"tier=back\"]}", e));
        Assert.False(Match("{\"label\":[\"tier=front\",\"team=b\"]}", e));
    }

    [Fact]
    public void ScopeAndCombinations()
    {
        Assert.True(Match("{\"scope\":[\"local\"]}", Container()));
        Assert.False(Match("{\"scope\":[\"swarm\"]}", Container()));
        Assert.True(Match("{\"type\":[\"container\"],\"event\":[\"die\"],\"container\":[\"web\"]}", Container("die")));
        Assert.False(Match("{\"type\":[\"container\"],\"event\":[\"die\"],\"container\":[\"web\"]}", Container("start")));
    }

    [Theory]
    [InlineData("1700000000", 1700000000_000000000L)]
    [InlineData("1700000000.5", 1700000000_500000000L)]
    [InlineData("1700000000.123456789", 1700000000_123456789L)]
    [InlineData("0", 0L)]
    [InlineData("2024-01-01T00:00:00Z", 1704067200_000000000L)]
    public void EventTimesParseToTheNanosecond(string text, long nanos) =>
        Assert.Equal(nanos, EventTime.Parse(text, DateTimeOffset.UnixEpoch));

    [Fact]
    public void EventTimeDurationsAreAgoAndGarbageIsRejected()
    {
        var now = new DateTimeOffset(2024, 1, 1, 0, 10, 0, TimeSpan.Zero);
        Assert.Equal(1704067200_000000000L, EventTime.Parse("10m", now));
        Assert.Null(EventTime.Parse("", now));
        var e = Assert.Throws<Core.BerthException>(() => EventTime.Parse("yesterday", now));
        Assert.Equal(Core.ErrorKind.InvalidArgument, e.Kind);
    }
}
