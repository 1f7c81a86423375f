using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using static Berth.Registry.Tests.TestImages;

namespace Berth.Registry.Tests;

/// <summary>
/// Garbage collection while pushes go on: 20 concurrent pushes of images that share layers, the in-process collector and
/// repeated `berth-registry gc` runs deleting the blobs of deleted tags, and afterwards every pushed tag pulls whole.
/// </summary>
public sealed class GcUnderLoadTests : IAsyncLifetime
{
    private readonly RegistryProcess _registry = new();
    private const string Grace = "8s";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_registry.Root);
        await _registry.StartAsync("--gc-interval", "1s", "--gc-grace", Grace, "--delete-untagged");
    }

    public Task DisposeAsync() => _registry.DisposeAsync();

    private string BlobFile(string digest) => Path.Combine(_registry.Storage, "blobs", "sha256", digest[7..9], digest[7..]);

    private async Task PushChunkedAsync(HttpClient http, string repo, Blob blob)
    {
        using var post = await http.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var location = post.Headers.Location!.ToString();
        var half = blob.Data.Length / 2;
        var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(blob.Data[..half]) };
        patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using (var p = await http.SendAsync(patch)) Assert.Equal(HttpStatusCode.Accepted, p.StatusCode);
        using var put = await http.PutAsync($"{location}?digest={blob.Digest}", new ByteArrayContent(blob.Data[half..]));
        Assert.True(put.StatusCode == HttpStatusCode.Created, $"{(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task PushesSurviveConcurrentCollectionAndDeletedTagsAreCollected()
    {
        var http = _registry.Http;
        var shared = new[] { new Blob(RandomNumberGenerator.GetBytes(200_000), OciLayerGzip), new Blob(RandomNumberGenerator.GetBytes(50_000), OciLayerGzip) };

        // Old images whose tags the test deletes; they must be older than the grace period when the load starts.
        var old = new List<(Blob Manifest, Blob Unique, Blob Config)>();
        for (int i = 0; i < 5; i++)
        {
            var unique = new Blob(RandomNumberGenerator.GetBytes(30_000), OciLayerGzip);
            var config = Config($"old{i}");
            foreach (var b in shared.Append(unique).Append(config)) await PushBlobAsync(http, "load/app", b);
            var m = Manifest(config, [.. shared, unique]);
            using (var r = await PutManifestAsync(http, "load/app", $"old{i}", m)) Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            old.Add((m, unique, config));
        }
        await Task.Delay(TimeSpan.FromSeconds(9));
        foreach (var i in Enumerable.Range(0, 5))
            using (var r = await http.DeleteAsync($"/v2/load/app/manifests/old{i}")) Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);

        // Collect from outside too, repeatedly, while 20 pushes run.
        var exe = Path.Combine(_registry.RepoRoot, "out", "berth-registry");
        using var stop = new CancellationTokenSource();
        int gcRuns = 0;
        // Set when the old images' files are gone: the pushes hold their manifests back until then, so collections run
        // while their blobs are uploaded but not yet referenced by anything (what the grace period protects).
        var oldGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool OldFilesGone() => old.All(o => !File.Exists(BlobFile(o.Unique.Digest)) && !File.Exists(BlobFile(o.Manifest.Digest)));
        var collector = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && gcRuns < 200)
            {
                var r = await _registry.RunAsync(exe, ["gc", "--root", _registry.Storage, "--grace", Grace, "--delete-untagged"]);
                Assert.True(r.ExitCode == 0, r.ToString());
                Assert.Matches(@"removed \d+ manifests, \d+ blob links, \d+ blobs", r.Stdout);
                gcRuns++;
                if (OldFilesGone()) oldGone.TrySetResult();
            }
        });

        var pushes = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            using var client = new HttpClient { BaseAddress = http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            var unique = new Blob(RandomNumberGenerator.GetBytes(40_000 + i), OciLayerGzip);
            var config = Config($"arch{i}");
            foreach (var b in shared) await PushBlobAsync(client, "load/app", b); // the same layers, again and again
            if (i % 2 == 0) await PushChunkedAsync(client, "load/app", unique); else await PushBlobAsync(client, "load/app", unique);
            await PushBlobAsync(client, "load/app", config);
            await oldGone.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var m = Manifest(config, [.. shared, unique]);
            using var r = await PutManifestAsync(client, "load/app", $"t{i}", m);
            Assert.True(r.StatusCode == HttpStatusCode.Created, $"t{i}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            return (Tag: $"t{i}", Manifest: m, Blobs: new[] { shared[0], shared[1], unique, config });
        })).ToList();
        var pushed = await Task.WhenAll(pushes);
        stop.Cancel();
        await collector;
        Assert.True(oldGone.Task.IsCompletedSuccessfully);
        Assert.True(gcRuns > 0);

        // With nothing in flight, one last collection with no grace.
        var last = await _registry.RunAsync(exe, ["gc", "--root", _registry.Storage, "--grace", "0s", "--delete-untagged"]);
        Assert.True(last.ExitCode == 0, last.ToString());

        foreach (var (tag, manifest, blobs) in pushed)
        {
            var req = new HttpRequestMessage(HttpMethod.Get, $"/v2/load/app/manifests/{tag}");
            using var r = await http.SendAsync(req);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(manifest.Data, await r.Content.ReadAsByteArrayAsync());
            foreach (var b in blobs)
            {
                var data = await http.GetByteArrayAsync($"/v2/load/app/blobs/{b.Digest}");
                Assert.Equal(b.Digest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data)));
            }
        }
        foreach (var (m, unique, config) in old)
        {
            Assert.False(File.Exists(BlobFile(unique.Digest)), $"old layer {unique.Digest} is still there");
            Assert.False(File.Exists(BlobFile(config.Digest)));
            Assert.False(File.Exists(BlobFile(m.Digest)));
        }
        Assert.True(File.Exists(BlobFile(shared[0].Digest)));
        var dry = await _registry.RunAsync(exe, ["gc", "--root", _registry.Storage, "--grace", "0s", "--delete-untagged", "--dry-run"]);
        Assert.Contains("would remove 0 manifests, 0 blob links, 0 blobs", dry.Stdout);
    }
}
