using Berth.Core;
using Berth.Daemon.Http;

namespace Berth.Daemon.Tests;

public sealed class TimeParamTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0")]
    public void Empty_OrZero_IsNoBound(string? s)
    {
        Assert.Null(TimeParam.Parse(s, Now));
    }

    [Fact]
    public void UnixSeconds()
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), TimeParam.Parse("1700000000", Now));
    }

    [Fact]
    public void UnixSeconds_WithFraction()
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_250), TimeParam.Parse("1700000000.25", Now));
        // docker sends nanosecond fractions (`--since 1700000000.000000001`); they must parse, at millisecond precision.
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), TimeParam.Parse("1700000000.000000001", Now));
    }

    [Fact]
    public void Rfc3339_Utc()
    {
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero), TimeParam.Parse("2024-01-02T03:04:05Z", Now));
    }

    [Fact]
    public void Rfc3339_WithOffsetAndFraction()
    {
        var t = TimeParam.Parse("2024-01-02T05:04:05.5+02:00", Now);
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, 500, TimeSpan.Zero), t);
    }

    [Theory]
    [InlineData("10m", 10 * 60)]
    [InlineData("1h30m", 90 * 60)]
    [InlineData("1h", 3600)]
    [InlineData("45s", 45)]
    [InlineData("1.5h", 90 * 60)]
    [InlineData("2h0m30s", 7230)]
    public void GoDuration_IsThatLongBeforeNow(string s, int secondsAgo)
    {
        Assert.Equal(Now.AddSeconds(-secondsAgo), TimeParam.Parse(s, Now));
    }

    [Fact]
    public void GoDuration_SubSecondUnits()
    {
        Assert.Equal(Now.AddMilliseconds(-1500), TimeParam.Parse("1s500ms", Now));
    }

    [Fact]
    public void GoDuration_WithoutNow_UsesCurrentTime()
    {
        var before = DateTimeOffset.UtcNow;
        var t = TimeParam.Parse("1h");
        var after = DateTimeOffset.UtcNow;
        Assert.NotNull(t);
        Assert.InRange(t.Value, before.AddHours(-1), after.AddHours(-1));
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("10x")]
    [InlineData("3d")]
    [InlineData("h")]
    [InlineData("1h-")]
    public void Invalid_Throws(string s)
    {
        var ex = Assert.Throws<BerthException>(() => TimeParam.Parse(s, Now));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains(s, ex.Message);
    }
}
