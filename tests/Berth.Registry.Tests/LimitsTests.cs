using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using static Berth.Registry.Tests.TestImages;

namespace Berth.Registry.Tests;

/// <summary>
/// Per-request limits on a real berth-registry with short settings: a half-sent request head, a stalled upload body and a
/// stalled manifest body are cut off; slow but steady uploads and normal pushes are not. Each wait is bounded below the
/// defaults (30s headers, 20s rate window, 5m request timeout), so a flag that did not take effect fails the test.
/// </summary>
public sealed class LimitsTests : IAsyncLifetime
{
    private const int MinRate = 1000; // bytes/s per 2s window: 2000 bytes every window
    private readonly RegistryProcess _registry = new();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_registry.Root);
        var config = Path.Combine(_registry.Root, "limits.yaml");
        await File.WriteAllTextAsync(config, $"request-headers-timeout: 2s\nkeep-alive-timeout: 3s\nmin-body-rate: {MinRate}\n");
        await _registry.StartAsync("--config", config, "--body-grace", "2s", "--request-timeout", "3s");
    }

    public Task DisposeAsync() => _registry.DisposeAsync();

    private async Task<Socket> ConnectAsync()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await s.ConnectAsync(IPAddress.Loopback, _registry.Port);
        return s;
    }

    /// <summary>Reads until the server closes the connection (true, with what it sent) or <paramref name="bound"/> passes (false).</summary>
    private static async Task<(bool Closed, string Received)> ReadUntilClosedAsync(Socket s, TimeSpan bound)
    {
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(bound);
        try
        {
            while (true)
            {
                int n = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) return (true, received.ToString());
                received.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (SocketException) { return (true, received.ToString()); } // reset: closed too
        catch (OperationCanceledException) { return (false, received.ToString()); }
    }

    private static string Head(string method, string target, int contentLength, string? extra = null) =>
        $"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {contentLength}\r\n{extra}\r\n";

    private Task<HttpResponseMessage> PatchAsync(string location, byte[] chunk, long start)
    {
        var req = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(chunk) };
        req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        req.Content.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + chunk.Length - 1}");
        return _registry.Http.SendAsync(req);
    }

    private async Task<string> UploadRangeAsync(string location)
    {
        using var status = await _registry.Http.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        return Assert.Single(status.Headers.GetValues("Range"));
    }

    [Fact]
    public async Task HalfARequestHeadIsClosedAfterTheHeadersTimeout()
    {
        using var s = await ConnectAsync();
        await s.SendAsync(Encoding.ASCII.GetBytes("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: appl"));
        var (closed, received) = await ReadUntilClosedAsync(s, TimeSpan.FromSeconds(20));
        Assert.True(closed, $"connection still open; received: {received}");
        Assert.DoesNotContain("200 OK", received);
        // And an idle kept-alive connection is closed too.
        using var idle = await ConnectAsync();
        await idle.SendAsync(Encoding.ASCII.GetBytes("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        var (idleClosed, reply) = await ReadUntilClosedAsync(idle, TimeSpan.FromSeconds(25));
        Assert.StartsWith("HTTP/1.1 200", reply);
        Assert.True(idleClosed, "an idle connection was kept past the keep-alive timeout");
    }

    [Fact]
    public async Task AStalledPatchIsCutOffAndTheUploadResumesFromItsOffset()
    {
        var data = RandomNumberGenerator.GetBytes(3 * 256 * 1024);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
        int chunk = 256 * 1024;
        using var post = await _registry.Http.PostAsync("/v2/team/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var location = post.Headers.Location!.ToString();
        using (var p1 = await PatchAsync(location, data[..chunk], 0)) Assert.Equal(HttpStatusCode.Accepted, p1.StatusCode);

        // The second chunk: 200 KB at once (far above the rate on average, so only a per-window check notices), then nothing.
        using (var s = await ConnectAsync())
        {
            await s.SendAsync(Encoding.ASCII.GetBytes(Head("PATCH", location, chunk, $"Content-Range: {chunk}-{2 * chunk - 1}\r\n")));
            await s.SendAsync(data.AsMemory(chunk, 200 * 1024));
            var (closed, received) = await ReadUntilClosedAsync(s, TimeSpan.FromSeconds(15));
            Assert.True(closed, $"stalled PATCH still connected; received: {received}\n{_registry.Log}");
            Assert.DoesNotContain("202 Accepted", received);
        }

        // What the cut-off PATCH wrote is cut back: the upload is where the first chunk left it.
        string range = "";
        for (int i = 0; i < 100 && range != $"0-{chunk - 1}"; i++)
        {
            if (i > 0) await Task.Delay(100);
            range = await UploadRangeAsync(location);
        }
        Assert.Equal($"0-{chunk - 1}", range);
        using (var p2 = await PatchAsync(location, data[chunk..(2 * chunk)], chunk))
        {
            Assert.Equal(HttpStatusCode.Accepted, p2.StatusCode);
            Assert.Equal($"0-{2 * chunk - 1}", Assert.Single(p2.Headers.GetValues("Range")));
        }
        using (var p3 = await PatchAsync(location, data[(2 * chunk)..], 2 * chunk)) Assert.Equal(HttpStatusCode.Accepted, p3.StatusCode);
        using var put = await _registry.Http.PutAsync($"{location}?digest={digest}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(data, await _registry.Http.GetByteArrayAsync($"/v2/team/app/blobs/{digest}"));
        Assert.Contains("cut off", _registry.Log);
    }

    [Fact]
    public async Task ASlowButSteadyUploadIsNotCutOff()
    {
        // 1000 bytes every 100 ms, for about three windows: ten times the minimum, and longer than the request timeout.
        var data = RandomNumberGenerator.GetBytes(40 * 1000);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
        using var s = await ConnectAsync();
        await s.SendAsync(Encoding.ASCII.GetBytes(Head("POST", $"/v2/team/slow/blobs/uploads/?digest={digest}", data.Length)));
        for (int off = 0; off < data.Length; off += 1000)
        {
            await s.SendAsync(data.AsMemory(off, 1000));
            await Task.Delay(100);
        }
        var buffer = new byte[4096];
        var reply = new StringBuilder();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!reply.ToString().Contains("\r\n\r\n"))
        {
            int n = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0) break;
            reply.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        Assert.StartsWith("HTTP/1.1 201", reply.ToString());
        Assert.Equal(data, await _registry.Http.GetByteArrayAsync($"/v2/team/slow/blobs/{digest}"));
    }

    [Fact]
    public async Task AStalledManifestPutTimesOutWithUnavailable()
    {
        using var s = await ConnectAsync();
        await s.SendAsync(Encoding.ASCII.GetBytes(Head("PUT", "/v2/team/app/manifests/v1", 10000).Replace("application/octet-stream", OciManifest)));
        // Enough bytes to keep Kestrel's average body rate (1000 bytes/s) satisfied for 8 s: the request timeout (3s) ends it.
        await s.SendAsync(new byte[8000]);
        var buffer = new byte[4096];
        var reply = new StringBuilder();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (!reply.ToString().Contains("UNAVAILABLE"))
            {
                int n = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) break;
                reply.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException) { }
        Assert.True(reply.ToString().StartsWith("HTTP/1.1 503"), reply + "\n" + _registry.Log);
        Assert.True(reply.ToString().Contains("\"code\":\"UNAVAILABLE\""), reply + "\n" + _registry.Log);
        using var tags = await _registry.Http.GetAsync("/v2/team/app/tags/list");
        Assert.Equal(HttpStatusCode.NotFound, tags.StatusCode);
    }

    [Fact]
    public async Task BadLimitSettingsAreUsageErrors()
    {
        var exe = Path.Combine(_registry.RepoRoot, "out", "berth-registry");
        var r = await _registry.RunAsync(exe, ["--body-grace", "1s"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--body-grace must be more than 1s", r.Stderr);
        r = await _registry.RunAsync(exe, ["--min-body-rate", "-5"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("invalid rate \"-5\"", r.Stderr);
        var bad = Path.Combine(_registry.Root, "bad.yaml");
        await File.WriteAllTextAsync(bad, "request-timeout: soon\n");
        r = await _registry.RunAsync(exe, ["--config", bad]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("invalid duration \"soon\"", r.Stderr);
    }

    [Fact]
    public async Task ANormalPushStillWorksWithTheSameSettings()
    {
        var (manifest, _, layer) = await PushImageAsync(_registry.Http, "team/normal", "v1");
        Assert.Equal(manifest.Data, await _registry.Http.GetByteArrayAsync("/v2/team/normal/manifests/v1"));
        Assert.Equal(layer.Data, await _registry.Http.GetByteArrayAsync($"/v2/team/normal/blobs/{layer.Digest}"));
        // A 4 MiB blob in one request, at loopback speed.
        var big = RandomNumberGenerator.GetBytes(4 << 20);
        var blob = new Blob(big, OciLayerGzip);
        await PushBlobAsync(_registry.Http, "team/normal", blob);
        using var head = await _registry.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/team/normal/blobs/{blob.Digest}"));
        Assert.Equal(big.Length, head.Content.Headers.ContentLength);
    }
}
