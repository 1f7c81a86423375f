using System.Text.Json.Nodes;
using Berth.Cli.Commands;

namespace Berth.Cli.Tests;

/// <summary>docker's renderings that berth events, system df and port copy.</summary>
public sealed class EventsFormatTests
{
    [Fact]
    public void EventTimesAreGoRfc3339WithNineDigits()
    {
        Assert.Equal("2024-01-01T00:00:00.000000001Z", EventsCommands.FormatTime(1704067200_000000001L, TimeZoneInfo.Utc));
        var plus2 = TimeZoneInfo.CreateCustomTimeZone("p2", TimeSpan.FromHours(2), "p2", "p2");
        Assert.Equal("2024-01-01T02:00:00.123456789+02:00", EventsCommands.FormatTime(1704067200_123456789L, plus2));
        var minus = TimeZoneInfo.CreateCustomTimeZone("m", TimeSpan.FromMinutes(-90), "m", "m");
        Assert.Equal("2023-12-31T22:30:00.500000000-01:30", EventsCommands.FormatTime(1704067200_500000000L, minus));
    }

    [Fact]
    public void PrettyEventSortsAttributes()
    {
        var e = JsonNode.Parse("""{"Type":"container","Action":"create","Actor":{"ID":"abc","Attributes":{"name":"x","image":"busybox","a":"1"}},"scope":"local","time":1704067200,"timeNano":1704067200000000000}""")!.AsObject();
        var line = EventsCommands.PrettyEvent(e);
        Assert.EndsWith(" container create abc (a=1, image=busybox, name=x)\n", line);
        var bare = JsonNode.Parse("""{"Type":"network","Action":"prune","Actor":{"ID":"","Attributes":{}},"time":0,"timeNano":0}""")!.AsObject();
        Assert.Equal("network prune \n", EventsCommands.PrettyEvent(bare));
    }

    [Fact]
    public void DfRowsComputeActiveAndReclaimableLikeDocker()
    {
        var images = new List<JsonObject>
        {
            JsonNode.Parse("""{"Size":3000000,"SharedSize":1000000,"Containers":1}""")!.AsObject(),
            JsonNode.Parse("""{"Size":2000000,"SharedSize":1000000,"Containers":0}""")!.AsObject(),
        };
        var row = EventsCommands.ImagesRow(4_000_000, images);
        Assert.Equal("2", row["TotalCount"]!.ToString());
        Assert.Equal("1", row["Active"]!.ToString());
        Assert.Equal("4MB", row["Size"]!.ToString());
        Assert.Equal("2MB (50%)", row["Reclaimable"]!.ToString());

        var containers = new List<JsonObject>
        {
            JsonNode.Parse("""{"State":"running","SizeRw":1000}""")!.AsObject(),
            JsonNode.Parse("""{"State":"exited","SizeRw":3000}""")!.AsObject(),
        };
        var c = EventsCommands.ContainersRow(containers);
        Assert.Equal("1", c["Active"]!.ToString());
        Assert.Equal("4kB", c["Size"]!.ToString());
        Assert.Equal("3kB (75%)", c["Reclaimable"]!.ToString());

        var volumes = new List<JsonObject>
        {
            JsonNode.Parse("""{"UsageData":{"Size":10,"RefCount":1}}""")!.AsObject(),
            JsonNode.Parse("""{"UsageData":{"Size":-1,"RefCount":0}}""")!.AsObject(),
        };
        var v = EventsCommands.VolumesRow(volumes);
        Assert.Equal("2", v["TotalCount"]!.ToString());
        Assert.Equal("1", v["Active"]!.ToString());
        Assert.Equal("10B", v["Size"]!.ToString());
        Assert.Equal("0B (0%)", v["Reclaimable"]!.ToString());
    }

    [Fact]
    public void PortsSortNaturally()
    {
        var list = new List<string> { "8080/tcp -> 0.0.0.0:1", "80/tcp -> 0.0.0.0:2", "443/tcp -> 0.0.0.0:3" };
        list.Sort(EventsCommands.NaturalCompare);
        Assert.Equal(["80/tcp -> 0.0.0.0:2", "443/tcp -> 0.0.0.0:3", "8080/tcp -> 0.0.0.0:1"], list);
    }
}
