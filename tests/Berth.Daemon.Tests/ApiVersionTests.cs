using Berth.Daemon.Http;

namespace Berth.Daemon.Tests;

public sealed class ApiVersionTests
{
    [Fact]
    public void NoPrefix_IsUnchanged()
    {
        Assert.Equal(("/containers/json", null, null), ApiVersion.Strip("/containers/json"));
        Assert.Equal(("/_ping", null, null), ApiVersion.Strip("/_ping"));
        Assert.Equal(("/version", null, null), ApiVersion.Strip("/version"));
    }

    [Theory]
    [InlineData("/v1.24/containers/json", 24, "/containers/json")]
    [InlineData("/v1.41/containers/abc/start", 41, "/containers/abc/start")]
    [InlineData("/v1.51/_ping", 51, "/_ping")]
    [InlineData("/v1.44/", 44, "/")]
    [InlineData("/v1.44", 44, "/")]
    public void InRange_StripsPrefix(string path, int minor, string rest)
    {
        var (p, v, err) = ApiVersion.Strip(path);
        Assert.Null(err);
        Assert.Equal(rest, p);
        Assert.Equal((1, minor), v);
    }

    [Fact]
    public void Current_IsInRange()
    {
        var (_, _, err) = ApiVersion.Strip($"/v{ApiVersion.Current}/info");
        Assert.Null(err);
        Assert.True(ApiVersion.Parse(ApiVersion.Min).CompareTo(ApiVersion.Parse(ApiVersion.Current)) < 0);
    }

    [Theory]
    [InlineData("/v1.23/info", "1.23")]
    [InlineData("/v1.12/info", "1.12")]
    [InlineData("/v0.99/info", "0.99")]
    [InlineData("/v1/info", "1")]
    public void TooOld(string path, string asked)
    {
        var (p, _, err) = ApiVersion.Strip(path);
        Assert.Equal("/info", p);
        Assert.Equal($"client version {asked} is too old. Minimum supported API version is {ApiVersion.Min}, please upgrade your client to a newer version", err);
    }

    [Theory]
    [InlineData("/v1.99/info", "1.99")]
    [InlineData("/v2.0/info", "2.0")]
    public void TooNew(string path, string asked)
    {
        var (p, _, err) = ApiVersion.Strip(path);
        Assert.Equal("/info", p);
        Assert.Equal($"client version {asked} is too new. Maximum supported API version is {ApiVersion.Current}", err);
    }

    [Fact]
    public void MinorComparedNumerically_NotAsText()
    {
        // 1.100 > 1.51 numerically although "100" < "51" as text.
        Assert.NotNull(ApiVersion.Strip("/v1.100/info").Error);
        Assert.Null(ApiVersion.Strip("/v1.041/info").Error);
    }

    [Theory]
    [InlineData("/v1.x/info")]
    [InlineData("/version/x")]
    [InlineData("/v1.41info")]
    public void NotAVersionPrefix_IsLeftAlone(string path)
    {
        Assert.Equal((path, null, null), ApiVersion.Strip(path));
    }

    [Fact]
    public void HugeVersionNumber_IsAnErrorNotAnException()
    {
        // An int overflow here would escape the middleware as a 500 instead of Docker's 400.
        var (_, _, err) = ApiVersion.Strip("/v99999999999.0/info");
        Assert.NotNull(err);
    }
}
