using Berth.Core;
using Berth.Daemon.Containers;

namespace Berth.Daemon.Tests;

public sealed class ParseSizeTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("100", 100L)]
    [InlineData("100b", 100L)]
    [InlineData("500k", 500L * 1024)]
    [InlineData("500kb", 500L * 1024)]
    [InlineData("10m", 10L * 1024 * 1024)]
    [InlineData("10M", 10L * 1024 * 1024)]
    [InlineData("10MB", 10L * 1024 * 1024)]
    [InlineData("1g", 1024L * 1024 * 1024)]
    [InlineData("3G", 3L * 1024 * 1024 * 1024)]
    [InlineData(" 2m ", 2L * 1024 * 1024)]
    public void Parses_BinaryUnits(string s, long expected)
    {
        Assert.Equal(expected, ContainerValidation.ParseSize(s));
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("abc")]
    [InlineData("10x")]
    [InlineData("-5m")]
    public void Invalid_Throws(string s)
    {
        var ex = Assert.Throws<BerthException>(() => ContainerValidation.ParseSize(s));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
    }

    [Fact]
    public void Overflow_Throws()
    {
        var ex = Assert.Throws<BerthException>(() => ContainerValidation.ParseSize("10000000000g"));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
    }
}
