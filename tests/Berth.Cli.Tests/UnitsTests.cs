using Berth.Cli.Formatting;

namespace Berth.Cli.Tests;

public sealed class UnitsTests
{
    [Theory]
    [InlineData(0, "0B")]
    [InlineData(999, "999B")]
    [InlineData(1000, "1kB")]
    [InlineData(4_260_000, "4.26MB")]
    [InlineData(4_264_999, "4.26MB")]
    [InlineData(12_345, "12.3kB")]
    [InlineData(1_500_000_000, "1.5GB")]
    [InlineData(7_700_000, "7.7MB")]
    public void HumanSize(long size, string expected) => Assert.Equal(expected, Units.HumanSize(size));

    [Theory]
    [InlineData("64m", 64L * 1024 * 1024)]
    [InlineData("1g", 1L << 30)]
    [InlineData("1GB", 1L << 30)]
    [InlineData("512k", 512L * 1024)]
    [InlineData("100", 100L)]
    [InlineData("1.5m", 1572864L)]
    public void RamInBytes(string text, long expected)
    {
        Assert.True(Units.TryParseRamInBytes(text, out var b));
        Assert.Equal(expected, b);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("-1m")]
    [InlineData("1q")]
    public void RamInBytesRejects(string text) => Assert.False(Units.TryParseRamInBytes(text, out _));

    [Theory]
    [InlineData(0.5, "Less than a second")]
    [InlineData(1, "1 second")]
    [InlineData(3, "3 seconds")]
    [InlineData(59, "59 seconds")]
    [InlineData(60, "About a minute")]
    [InlineData(119, "About a minute")]
    [InlineData(120, "2 minutes")]
    [InlineData(3599, "59 minutes")]
    [InlineData(3600, "About an hour")]
    [InlineData(7200, "2 hours")]
    [InlineData(2 * 86400, "2 days")]
    [InlineData(15 * 86400, "2 weeks")]
    [InlineData(90 * 86400, "3 months")]
    [InlineData(800 * 86400, "2 years")]
    public void HumanDuration(double seconds, string expected) => Assert.Equal(expected, Units.HumanDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void ApiTimestamps()
    {
        var now = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);
        Assert.Equal("1704164645.000000000", Units.ToApiTimestamp("0s", now));
        Assert.Equal("1704162245.000000000", Units.ToApiTimestamp("40m", now));
        Assert.Equal("1704164645.000000000", Units.ToApiTimestamp("2024-01-02T03:04:05Z", now));
        Assert.Equal("12345", Units.ToApiTimestamp("12345", now));
    }

    [Fact]
    public void RowsHelpers()
    {
        Assert.Equal("0123456789ab", Rows.TruncateId("sha256:0123456789abcdef"));
        Assert.Equal("\"sh -c 'echo hi'\"", Rows.GoQuote("sh -c 'echo hi'"));
        Assert.Equal("0123456789012345678…", Rows.Ellipsis("0123456789012345678901", 20));
        Assert.Equal(("localhost:5000/a/b", "v1"), Rows.SplitTag("localhost:5000/a/b:v1"));
        Assert.Equal(("localhost:5000/a", "latest"), Rows.SplitTag("localhost:5000/a"));
        Assert.Equal("443/tcp, 0.0.0.0:8080->80/tcp", Rows.Ports(System.Text.Json.Nodes.JsonNode.Parse(
            "[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},{\"PrivatePort\":443,\"Type\":\"tcp\"}]") as System.Text.Json.Nodes.JsonArray));
    }
}
