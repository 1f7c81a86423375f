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
}
