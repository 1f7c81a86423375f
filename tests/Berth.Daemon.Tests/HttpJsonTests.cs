using System.Text;
using System.Text.Json;
using Berth.Api;
using Berth.Daemon.Http;

namespace Berth.Daemon.Tests;

public sealed class HttpJsonTests
{
    [Theory]
    [InlineData(false, "\n")]
    [InlineData(true, "\r\n")]
    public void LineIsTheSerializersJsonAndTheLineEndInOneBuffer(bool crlf, string end)
    {
        // Quotes, angle brackets and non-ASCII as the context escapes them (dockerd leaves "<" and "é" alone).
        var m = new JsonMessage { Stream = "Step 1/2 : RUN echo \"<é>\" && exit 7\n" };
        var expected = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(m, Wire.Json.JsonMessage)) + end;
        var line = Encoding.UTF8.GetString(HttpJson.Line(m, Wire.Json.JsonMessage, crlf).Span);
        Assert.Equal(expected, line);
        Assert.Contains("\\\"<é>\\\"", line);
    }

    [Fact]
    public void NullsReadAsGosZeroValues_WhileNullableFieldsStayUnset()
    {
        // docker-py sends every healthcheck field, the unset ones as null; dockerd's decoder leaves them zero.
        var create = HttpJson.Parse("""
            {"Image":"busybox","Tty":null,"StopTimeout":null,
             "Healthcheck":{"Test":["CMD","true"],"Interval":500000000,"Timeout":null,"Retries":null,"StartPeriod":null},
             "HostConfig":{"Memory":null,"CpuShares":"512","Privileged":null,"PidsLimit":null,"OomKillDisable":null,"MemorySwappiness":null}}
            """u8, Wire.Json.ContainerCreateRequest)!;
        Assert.Equal(500000000, create.Healthcheck!.Interval);
        Assert.Equal(0, create.Healthcheck.Timeout);
        Assert.Equal(0, create.Healthcheck.Retries);
        Assert.False(create.Tty);
        Assert.Null(create.StopTimeout);
        Assert.Equal(0, create.HostConfig!.Memory);
        Assert.Equal(512, create.HostConfig.CpuShares);
        Assert.False(create.HostConfig.Privileged);
        Assert.Null(create.HostConfig.PidsLimit);
        Assert.Null(create.HostConfig.OomKillDisable);
        Assert.Null(create.HostConfig.MemorySwappiness);
        // What is not a number stays a clear error.
        var e = Assert.Throws<Core.BerthException>(() => HttpJson.Parse("""{"HostConfig":{"Memory":"lots"}}"""u8, Wire.Json.ContainerCreateRequest));
        Assert.Contains("invalid JSON", e.Message);
        Assert.Throws<Core.BerthException>(() => HttpJson.Parse("""{"Tty":"yes"}"""u8, Wire.Json.ContainerCreateRequest));
    }
}
