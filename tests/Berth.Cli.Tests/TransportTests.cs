using System.Text;
using Berth.Client;

namespace Berth.Cli.Tests;

public sealed class TransportTests
{
    internal static async Task UpgradeAsync(FakeDaemon.Connection c)
    {
        await c.Stream.WriteAsync("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"u8.ToArray());
    }

    [Fact]
    public async Task NegotiatesDownToOlderDaemon()
    {
        await using var daemon = new FakeDaemon(async (req, c) =>
        {
            if (req.Path == "/_ping")
            {
                await c.RespondAsync(200, null, new() { ["Api-Version"] = "1.44", ["OSType"] = "linux" });
                return true;
            }
            await c.RespondAsync(200, "{\"Version\":\"x\"}");
            return true;
        });
        using var client = new BerthClient(BerthHost.Parse(daemon.Host));
        var v = await client.ServerVersionAsync();
        Assert.Equal("x", v.Raw["Version"]!.ToString());
        Assert.Equal("1.44", client.ApiVersion);
        Assert.Contains("GET /v1.44/version", daemon.Log);
    }

    [Fact]
    public async Task KeepsOwnVersionWithNewerDaemon()
    {
        await using var daemon = new FakeDaemon(async (req, c) =>
        {
            await c.RespondAsync(200, req.Path == "/_ping" ? null : "[]", new() { ["Api-Version"] = "1.56" });
            return true;
        });
        using var client = new BerthClient(BerthHost.Parse(daemon.Host));
        await client.ContainerListAsync();
        Assert.Equal(BerthClient.MaxApiVersion, client.ApiVersion);
        Assert.Contains("GET /v1.51/containers/json", daemon.Log);
    }

    [Fact]
    public async Task ErrorBodyBecomesException()
    {
        await using var daemon = new FakeDaemon(async (req, c) =>
        {
            if (req.Path == "/_ping")
            {
                await c.RespondAsync(200);
                return true;
            }
            await c.RespondAsync(404, "{\"message\":\"No such container: nope\"}");
            return true;
        });
        using var client = new BerthClient(BerthHost.Parse(daemon.Host));
        var e = await Assert.ThrowsAsync<DockerApiException>(() => client.ContainerInspectAsync("nope"));
        Assert.Equal(404, e.StatusCode);
        Assert.Equal("No such container: nope", e.Message);
    }

    [Fact]
    public async Task UnreachableDaemon()
    {
        var path = Path.Combine(Path.GetTempPath(), "berth-test-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        using var client = new BerthClient(BerthHost.Parse("unix://" + path));
        var e = await Assert.ThrowsAsync<DaemonUnreachableException>(() => client.PingAsync());
        Assert.Equal($"Cannot connect to the Berth daemon at unix://{path}. Is the berth daemon running?", e.Message);
    }

    [Fact]
    public async Task HijackedAttachDemultiplexesAndHalfCloses()
    {
        await using var daemon = new FakeDaemon(async (req, c) =>
        {
            if (req.Path == "/_ping")
            {
                await c.RespondAsync(200);
                return true;
            }
            Assert.Equal("POST", req.Method);
            Assert.Equal("/v1.51/containers/c1/attach", req.Path);
            Assert.Equal("Upgrade", req.Headers["Connection"]);
            Assert.Equal("tcp", req.Headers["Upgrade"]);
            await UpgradeAsync(c);
            await c.Stream.WriteAsync(StdCopy.Frame(StdStream.Stdout, "out1\n"u8));
            await c.Stream.WriteAsync(StdCopy.Frame(StdStream.Stderr, "err1\n"u8));
            // Echo stdin back until the client half-closes, proving shutdown(SHUT_WR) reaches us.
            var input = new MemoryStream();
            var buf = new byte[256];
            for (var i = 0; i < 10_000; i++)
            {
                var n = await c.Stream.ReadAsync(buf);
                if (n == 0)
                {
                    break;
                }
                input.Write(buf, 0, n);
            }
            await c.Stream.WriteAsync(StdCopy.Frame(StdStream.Stdout, input.ToArray()));
            return false;
        });
        using var client = new BerthClient(BerthHost.Parse(daemon.Host));
        var attach = await client.ContainerAttachAsync("c1", new ContainerAttachOptions { Stdin = true });
        await using var conn = attach.Connection;
        await conn.Stream.WriteAsync("typed input"u8.ToArray());
        conn.CloseWrite();
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        await StdCopy.DemultiplexAsync(conn.Stream, stdout, stderr);
        Assert.Equal("out1\ntyped input", Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal("err1\n", Encoding.UTF8.GetString(stderr.ToArray()));
        Assert.Contains(daemon.Log, l => l.StartsWith("POST /v1.51/containers/c1/attach?stream=1&stdin=1&stdout=1&stderr=1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HijackErrorStatusCarriesMessage()
    {
        await using var daemon = new FakeDaemon(async (req, c) =>
        {
            if (req.Path == "/_ping")
            {
                await c.RespondAsync(200);
                return true;
            }
            await c.RespondAsync(409, "{\"message\":\"container c1 is not running\"}");
            return true;
        });
        using var client = new BerthClient(BerthHost.Parse(daemon.Host));
        var e = await Assert.ThrowsAsync<DockerApiException>(() => client.ContainerAttachAsync("c1", new ContainerAttachOptions()));
        Assert.Equal(409, e.StatusCode);
        Assert.Equal("container c1 is not running", e.Message);
    }

    [Fact]
    public void HostResolution()
    {
        Assert.Equal("/run/berth/berth.sock", BerthHost.Resolve(null, _ => null).SocketPath);
        Assert.Equal("/x.sock", BerthHost.Resolve(null, k => k == "DOCKER_HOST" ? "unix:///x.sock" : null).SocketPath);
        Assert.Equal("/b.sock", BerthHost.Resolve(null, k => k == "BERTH_HOST" ? "unix:///b.sock" : "unix:///d.sock").SocketPath);
        Assert.Equal("/h.sock", BerthHost.Resolve("unix:///h.sock", _ => "unix:///e.sock").SocketPath);
        var tcp = BerthHost.Parse("tcp://127.0.0.1:2375");
        Assert.Equal(("127.0.0.1", 2375), (tcp.TcpHost, tcp.TcpPort));
    }
}

public sealed class StdCopyTests
{
    // Hands out at most one byte per read, so frames and headers arrive split.
    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], cancellationToken);
    }

    [Fact]
    public async Task SplitsStreamsAcrossFragmentedReads()
    {
        var data = StdCopy.Frame(StdStream.Stdout, "hello "u8).Concat(StdCopy.Frame(StdStream.Stderr, "bad"u8))
            .Concat(StdCopy.Frame(StdStream.Stdout, "world"u8)).Concat(StdCopy.Frame(StdStream.Stdout, ReadOnlySpan<byte>.Empty)).ToArray();
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var n = await StdCopy.DemultiplexAsync(new TrickleStream(data), stdout, stderr);
        Assert.Equal("hello world", Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal("bad", Encoding.UTF8.GetString(stderr.ToArray()));
        Assert.Equal(14, n);
    }

    [Fact]
    public async Task LargeFrame()
    {
        var payload = new byte[200_000];
        Random.Shared.NextBytes(payload);
        var stdout = new MemoryStream();
        await StdCopy.DemultiplexAsync(new MemoryStream(StdCopy.Frame(StdStream.Stdout, payload)), stdout, Stream.Null);
        Assert.Equal(payload, stdout.ToArray());
    }

    [Fact]
    public async Task FrameHeaderLayout()
    {
        var f = StdCopy.Frame(StdStream.Stderr, new byte[258]);
        Assert.Equal(new byte[] { 2, 0, 0, 0, 0, 0, 1, 2 }, f[..8]);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task TruncatedFrameAndSystemErrorFail()
    {
        var truncated = StdCopy.Frame(StdStream.Stdout, "abcdef"u8)[..10];
        await Assert.ThrowsAsync<EndOfStreamException>(() => StdCopy.DemultiplexAsync(new MemoryStream(truncated), Stream.Null, Stream.Null));
        var sys = StdCopy.Frame(StdStream.SystemErr, "boom"u8);
        var e = await Assert.ThrowsAsync<DockerApiException>(() => StdCopy.DemultiplexAsync(new MemoryStream(sys), Stream.Null, Stream.Null));
        Assert.Contains("boom", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidDataException>(() => StdCopy.DemultiplexAsync(new MemoryStream([9, 0, 0, 0, 0, 0, 0, 0]), Stream.Null, Stream.Null));
    }
}
