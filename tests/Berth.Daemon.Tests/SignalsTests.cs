using Berth.Core;
using Berth.Daemon.Containers;

namespace Berth.Daemon.Tests;

public sealed class SignalsTests
{
    [Theory]
    [InlineData("SIGTERM", 15)]
    [InlineData("TERM", 15)]
    [InlineData("term", 15)]
    [InlineData("SigTerm", 15)]
    [InlineData("SIGKILL", 9)]
    [InlineData("KILL", 9)]
    [InlineData("HUP", 1)]
    [InlineData("SIGINT", 2)]
    [InlineData("QUIT", 3)]
    [InlineData("USR1", 10)]
    [InlineData("SIGUSR2", 12)]
    [InlineData("CHLD", 17)]
    [InlineData("STOP", 19)]
    [InlineData("WINCH", 28)]
    [InlineData("SIGSYS", 31)]
    public void Names_WithOrWithoutSigPrefix(string s, int expected)
    {
        Assert.Equal(expected, Signals.Parse(s));
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("9", 9)]
    [InlineData("15", 15)]
    [InlineData("64", 64)]
    public void Numbers(string s, int expected)
    {
        Assert.Equal(expected, Signals.Parse(s));
    }

    [Theory]
    [InlineData("RTMIN", 34)]
    [InlineData("SIGRTMIN", 34)]
    [InlineData("RTMIN+1", 35)]
    [InlineData("SIGRTMIN+15", 49)]
    [InlineData("RTMAX", 64)]
    [InlineData("RTMAX-1", 63)]
    [InlineData("SIGRTMAX-14", 50)]
    public void RealtimeSignals_AsGlibcNumbersThem(string s, int expected)
    {
        Assert.Equal(expected, Signals.Parse(s));
    }

    [Theory]
    [InlineData("")]
    [InlineData("SIG")]
    [InlineData("FOO")]
    [InlineData("SIGFOO")]
    [InlineData("0")]
    [InlineData("-9")]
    [InlineData("65")]
    [InlineData("RTMINX")]
    [InlineData("RTMIN+x")]
    [InlineData("SIG TERM")]
    public void Invalid_Throws(string s)
    {
        var ex = Assert.Throws<BerthException>(() => Signals.Parse(s));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal($"Invalid signal: {s}", ex.Message);
    }

    [Theory]
    [InlineData("RTMIN+31")]
    [InlineData("RTMAX+1")]
    [InlineData("RTMIN-1")]
    [InlineData("RTMAX-31")]
    public void Realtime_OffsetOutsideRealtimeRange_Throws(string s)
    {
        // Realtime signals on Linux/glibc are 34..64; an offset beyond them names no signal.
        var ex = Assert.Throws<BerthException>(() => Signals.Parse(s));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
    }

    [Theory]
    [InlineData(null, 15)]
    [InlineData("", 15)]
    [InlineData("SIGUSR1", 10)]
    [InlineData("CLD", 17)]
    [InlineData("65", 9)] // a build accepts it, as dockerd's; no kill can send it, so stop goes straight to SIGKILL
    public void StopSignal_DefaultsToTerm_AndFallsBackToKill(string? s, int expected) =>
        Assert.Equal(expected, Signals.ParseStop(s));
}
