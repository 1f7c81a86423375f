using System.Text.Json;
using Berth.Api;
using Berth.Daemon.Containers;

namespace Berth.Daemon.Tests;

public sealed class FiltersTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{}")]
    public void Empty(string? json)
    {
        var f = Filters.Parse(json);
        Assert.True(f.IsEmpty);
        Assert.Empty(f.Keys);
        Assert.False(f.Has("label"));
        Assert.Empty(f.Get("label"));
    }

    [Fact]
    public void ArrayShape()
    {
        var f = Filters.Parse("""{"label":["a=b","c"],"status":["running"]}""");
        Assert.False(f.IsEmpty);
        Assert.Equal(["a=b", "c"], f.Get("label"));
        Assert.Equal(["running"], f.Get("status"));
        Assert.True(f.Has("status"));
        Assert.False(f.Has("name"));
    }

    [Fact]
    public void MapShape_OfOlderClients()
    {
        var f = Filters.Parse("""{"label":{"a=b":true,"c":true},"dangling":{"true":true}}""");
        Assert.Equal(["a=b", "c"], f.Get("label"));
        Assert.Equal(["true"], f.Get("dangling"));
    }

    [Fact]
    public void MapShape_FalseEntry_IsNotAnError()
    {
        var f = Filters.Parse("""{"label":{"a=b":true,"d":false}}""");
        Assert.Contains("a=b", f.Get("label"));
    }

    [Fact]
    public void EmptyArray_StillCountsAsPresent()
    {
        var f = Filters.Parse("""{"label":[]}""");
        Assert.True(f.Has("label"));
        Assert.Empty(f.Get("label"));
    }

    [Theory]
    [InlineData("""["label"]""")]
    [InlineData("\"label\"")]
    public void NotAnObject_ThrowsFormatException(string json)
    {
        Assert.Throws<FormatException>(() => Filters.Parse(json));
    }

    [Theory]
    [InlineData("""{"label":"a=b"}""")]
    [InlineData("""{"label":1}""")]
    [InlineData("""{"label":null}""")]
    public void WrongValueShape_ThrowsFormatException(string json)
    {
        Assert.Throws<FormatException>(() => Filters.Parse(json));
    }

    [Theory]
    [InlineData("{")]
    [InlineData("label=a")]
    public void NotJson_Throws(string json)
    {
        Assert.ThrowsAny<JsonException>(() => Filters.Parse(json));
    }

    [Fact]
    public void Validate_RejectsUnknownNames()
    {
        var f = Filters.Parse("""{"label":["a"],"colour":["red"]}""");
        var ex = Assert.Throws<FormatException>(() => f.Validate("label", "status"));
        Assert.Equal("invalid filter 'colour'", ex.Message);
        Filters.Parse("""{"label":["a"]}""").Validate("label", "status");
    }

    [Fact]
    public void ToJson_RoundTrips()
    {
        var f = new Filters();
        f.Add("label", "a=b");
        f.Add("label", "c");
        f.Add("name", "web");
        var back = Filters.Parse(f.ToJson());
        Assert.Equal(["a=b", "c"], back.Get("label"));
        Assert.Equal(["web"], back.Get("name"));
        Assert.Equal(2, back.Keys.Count);
    }
}

public sealed class LabelsMatchTests
{
    private static readonly Dictionary<string, string> Labels = new()
    {
        ["app"] = "web",
        ["tier"] = "",
        ["url"] = "http://x/?a=b",
    };

    [Fact]
    public void NoWantedLabels_MatchesAnything()
    {
        Assert.True(ContainerFilter.LabelsMatch(null, []));
        Assert.True(ContainerFilter.LabelsMatch(Labels, []));
    }

    [Fact]
    public void KeyOnly_MatchesAnyValue()
    {
        Assert.True(ContainerFilter.LabelsMatch(Labels, ["app"]));
        Assert.True(ContainerFilter.LabelsMatch(Labels, ["tier"]));
        Assert.False(ContainerFilter.LabelsMatch(Labels, ["missing"]));
        Assert.False(ContainerFilter.LabelsMatch(null, ["app"]));
    }

    [Fact]
    public void KeyEqualsValue_MatchesExactly()
    {
        Assert.True(ContainerFilter.LabelsMatch(Labels, ["app=web"]));
        Assert.False(ContainerFilter.LabelsMatch(Labels, ["app=db"]));
        Assert.False(ContainerFilter.LabelsMatch(Labels, ["app=WEB"]));
        Assert.False(ContainerFilter.LabelsMatch(Labels, ["app=we"]));
        Assert.False(ContainerFilter.LabelsMatch(null, ["app=web"]));
    }

    [Fact]
    public void EmptyValue_MatchesOnlyEmpty()
    {
        Assert.True(ContainerFilter.LabelsMatch(Labels, ["tier="]));
        Assert.False(ContainerFilter.LabelsMatch(Labels, ["app="]));
    }

    [Fact]
    public void ValueContainingEquals_SplitsAtFirstEquals()
    {
        Assert.True(ContainerFilter.LabelsMatch(Labels, ["url=http://x/?a=b"]));
        Assert.False(ContainerFilter.LabelsMatch(Labels, ["url=http://x/?a"]));
    }

    [Fact]
    public void SeveralWanted_AllMustMatch()
    {
        Assert.True(ContainerFilter.LabelsMatch(Labels, ["app=web", "tier"]));
        Assert.False(ContainerFilter.LabelsMatch(Labels, ["app=web", "missing"]));
        Assert.False(ContainerFilter.LabelsMatch(Labels, ["app=db", "tier"]));
    }
}
