using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Berth.Registry.Tests;

/// <summary>Upload sessions are a SQLite row and a file: they outlive the registry process.</summary>
public sealed class RegistryRestartTests : IAsyncLifetime
{
    private readonly RegistryProcess _registry = new();

    public Task InitializeAsync() => _registry.InitializeAsync();

    public Task DisposeAsync() => _registry.DisposeAsync();

    private async Task<HttpResponseMessage> PatchAsync(string location, byte[] chunk, long start)
    {
        var req = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(chunk) };
        req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        req.Content.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + chunk.Length - 1}");
        return await _registry.Http.SendAsync(req);
    }

    [Fact]
    public async Task ChunkedUploadContinuesAfterARestart()
    {
        var data = RandomNumberGenerator.GetBytes(3 * 256 * 1024 + 17);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
        int third = data.Length / 3;
        using var post = await _registry.Http.PostAsync("/v2/team/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var location = post.Headers.Location!.ToString();

        using (var p1 = await PatchAsync(location, data[..third], 0)) Assert.Equal(HttpStatusCode.Accepted, p1.StatusCode);
        using (var p2 = await PatchAsync(location, data[third..(2 * third)], third))
            Assert.Equal($"0-{2 * third - 1}", Assert.Single(p2.Headers.GetValues("Range")));

        var oldPid = _registry.Pid;
        await _registry.StopAsync();
        await _registry.StartAsync();
        Assert.NotEqual(oldPid, _registry.Pid);

        using (var status = await _registry.Http.GetAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
            Assert.Equal($"0-{2 * third - 1}", Assert.Single(status.Headers.GetValues("Range")));
        }
        using (var p3 = await PatchAsync(location, data[(2 * third)..], 2 * third))
            Assert.Equal($"0-{data.Length - 1}", Assert.Single(p3.Headers.GetValues("Range")));
        using var put = await _registry.Http.PutAsync($"{location}?digest={digest}", null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(data, await _registry.Http.GetByteArrayAsync($"/v2/team/app/blobs/{digest}"));
    }

    [Fact]
    public async Task SecondRegistryOnTheSameRootRefusesToStart()
    {
        var second = new RegistryProcess();
        var r = await _registry.RunAsync(Path.Combine(_registry.RepoRoot, "out", "berth-registry"),
            ["--listen", second.Host, "--root", _registry.Storage]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("in use", r.Stderr);
        await second.DisposeAsync();
    }

    [Fact]
    public async Task ReadOnlyFromAConfigFileRefusesPushes()
    {
        var ro = new RegistryProcess();
        try
        {
            Directory.CreateDirectory(ro.Root);
            var config = Path.Combine(ro.Root, "config.yaml");
            await File.WriteAllTextAsync(config, "# berth-registry\nreadonly: true\nlog-level: warn\n");
            await ro.StartAsync("--config", config);
            using var post = await ro.Http.PostAsync("/v2/team/app/blobs/uploads/", null);
            Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
            Assert.Equal("UNSUPPORTED", await TestImages.ErrorCodeAsync(post));
            using var get = await ro.Http.GetAsync("/v2/team/app/tags/list");
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        }
        finally
        {
            await ro.DisposeAsync();
        }
    }

    [Fact]
    public async Task BadFlagsAndConfigExitWithUsageErrors()
    {
        var exe = Path.Combine(_registry.RepoRoot, "out", "berth-registry");
        var r = await _registry.RunAsync(exe, ["--no-such-flag"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown flag: --no-such-flag", r.Stderr);
        var bad = Path.Combine(_registry.Root, "bad.json");
        await File.WriteAllTextAsync(bad, "{\"listen\": \"127.0.0.1:1\", \"colour\": \"red\"}");
        r = await _registry.RunAsync(exe, ["--config", bad]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown key \"colour\"", r.Stderr);
    }

    [Fact]
    public async Task AbandonedUploadsAreRemoved()
    {
        var janitor = new RegistryProcess();
        try
        {
            Directory.CreateDirectory(janitor.Root);
            await janitor.StartAsync("--upload-max-age", "2s");
            using var post = await janitor.Http.PostAsync("/v2/team/app/blobs/uploads/", null);
            var location = post.Headers.Location!.ToString();
            using (var p = await PatchWith(janitor, location, [1, 2, 3])) Assert.Equal(HttpStatusCode.Accepted, p.StatusCode);
            var file = Path.Combine(janitor.Storage, "uploads", location.Split('/')[^1]);
            Assert.True(File.Exists(file));
            // An upload file without a session (as a crash mid-way through a monolithic upload leaves) goes too.
            var orphan = Path.Combine(janitor.Storage, "uploads", Guid.NewGuid().ToString("N"));
            await File.WriteAllBytesAsync(orphan, [7]);
            string? code = null;
            for (int i = 0; i < 300 && (code != "BLOB_UPLOAD_UNKNOWN" || File.Exists(orphan)); i++)
            {
                await Task.Delay(100);
                using var status = await janitor.Http.GetAsync(location);
                code = status.StatusCode == HttpStatusCode.NotFound ? await TestImages.ErrorCodeAsync(status) : null;
            }
            Assert.Equal("BLOB_UPLOAD_UNKNOWN", code);
            Assert.False(File.Exists(file));
            Assert.False(File.Exists(orphan));
        }
        finally
        {
            await janitor.DisposeAsync();
        }
    }

    private static Task<HttpResponseMessage> PatchWith(RegistryProcess r, string location, byte[] chunk)
    {
        var req = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(chunk) };
        req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return r.Http.SendAsync(req);
    }
}
