using Berth.Content;
using Berth.Core;

namespace Berth.Content.Tests;

public sealed class PlatformsTests
{
    [Theory]
    [InlineData("linux/amd64", "linux/amd64")]
    [InlineData("linux/x86_64", "linux/amd64")]
    [InlineData("LINUX/AARCH64", "linux/arm64")]
    [InlineData("linux/arm64/v8", "linux/arm64")]
    [InlineData("linux/arm", "linux/arm/v7")]
    [InlineData("linux/armhf", "linux/arm/v7")]
    [InlineData("linux/arm/6", "linux/arm/v6")]
    [InlineData("linux/i386", "linux/386")]
    [InlineData("arm64", "linux/arm64")]
    public void PlatformsAreNormalisedAsContainerdDoes(string given, string normalised) =>
        Assert.Equal(normalised, Platforms.Format(given));

    [Theory]
    [InlineData("windows/amd64", "operating system is not supported")]
    [InlineData("linux//amd64", "unknown operating system or architecture")]
    [InlineData("linux/amd64/v2/x", "unknown operating system or architecture")]
    public void BadPlatformsAreRefused(string given, string message) =>
        Assert.Contains(message, Assert.Throws<BerthException>(() => Platforms.Parse(given)).Message);

    [Fact]
    public void NoPlatformIsThisMachines() => Assert.Equal($"linux/{Platforms.HostArch}", Platforms.Format(null));
}
