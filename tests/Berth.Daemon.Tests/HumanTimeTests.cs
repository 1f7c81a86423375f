using Berth.Daemon.Containers;

namespace Berth.Daemon.Tests;

public sealed class HumanTimeTests
{
    [Theory]
    [InlineData(0, "Less than a second")]
    [InlineData(0.5, "Less than a second")]
    [InlineData(1, "1 second")]
    [InlineData(1.9, "1 second")]
    [InlineData(2, "2 seconds")]
    [InlineData(59, "59 seconds")]
    [InlineData(60, "About a minute")]
    [InlineData(119, "About a minute")]
    [InlineData(120, "2 minutes")]
    [InlineData(59 * 60, "59 minutes")]
    [InlineData(60 * 60, "About an hour")]
    [InlineData(89 * 60, "About an hour")]
    [InlineData(3 * 3600, "3 hours")]
    [InlineData(47 * 3600, "47 hours")]
    [InlineData(3 * 86400, "3 days")]
    [InlineData(13 * 86400, "13 days")]
    [InlineData(14 * 86400, "2 weeks")]
    [InlineData(59 * 86400, "8 weeks")]
    [InlineData(60 * 86400, "2 months")]
    [InlineData(700 * 86400, "23 months")]
    [InlineData(730 * 86400, "2 years")]
    [InlineData(1100 * 86400, "3 years")]
    public void Duration_MatchesGoUnitsHumanDuration(double seconds, string expected)
    {
        Assert.Equal(expected, HumanTime.Duration(TimeSpan.FromSeconds(seconds)));
    }

    [Theory]
    [InlineData(150 * 60, "3 hours")]      // go-units rounds hours with int(h + 0.5): 2.5h → 3
    [InlineData(210 * 60, "4 hours")]      // 3.5h → 4
    [InlineData(47.6 * 3600, "2 days")]    // rounded hours (48) are compared, then divided: 48/24 = 2 days
    [InlineData(71.6 * 3600, "3 days")]    // 72/24
    public void Duration_RoundsHoursLikeGoUnits(double seconds, string expected)
    {
        Assert.Equal(expected, HumanTime.Duration(TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public void Rfc3339Nano_TrimsTrailingZeros()
    {
        var t = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1_234_567);
        Assert.Equal("2024-01-02T03:04:05.1234567Z", HumanTime.Rfc3339Nano(t));
        Assert.Equal("2024-01-02T03:04:05.5Z", HumanTime.Rfc3339Nano(new DateTimeOffset(2024, 1, 2, 3, 4, 5, 500, TimeSpan.Zero)));
        Assert.Equal("2024-01-02T03:04:05.0000001Z", HumanTime.Rfc3339Nano(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1)));
    }

    [Fact]
    public void Rfc3339Nano_WholeSecond_HasNoFraction()
    {
        Assert.Equal("2024-01-02T03:04:05Z", HumanTime.Rfc3339Nano(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero)));
    }

    [Fact]
    public void Rfc3339Nano_ConvertsToUtc()
    {
        var t = new DateTimeOffset(2024, 1, 2, 5, 4, 5, 250, TimeSpan.FromHours(2));
        Assert.Equal("2024-01-02T03:04:05.25Z", HumanTime.Rfc3339Nano(t));
    }

    [Fact]
    public void Rfc3339_NullIsGoZeroTime()
    {
        Assert.Equal("0001-01-01T00:00:00Z", HumanTime.Rfc3339(null));
    }
}
