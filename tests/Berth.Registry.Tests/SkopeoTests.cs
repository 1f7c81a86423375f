using System.Net;
using System.Text;
using System.Text.Json;
using static Berth.Registry.Tests.TestImages;

namespace Berth.Registry.Tests;

/// <summary>The real skopeo (Debian's) against a real berth-registry: copy in and out of OCI layouts, inspect, list, delete.</summary>
public sealed class SkopeoTests(RegistryProcess registry) : IClassFixture<RegistryProcess>
{
    private string Policy
    {
        get
        {
            var p = Path.Combine(registry.Root, "policy.json");
            if (!File.Exists(p)) File.WriteAllText(p, "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}");
            return p;
        }
    }

    private async Task<CommandResult> SkopeoAsync(params string[] args)
    {
        var r = await registry.RunAsync("skopeo", new[] { "--policy", Policy }.Concat(args));
        Assert.True(r.ExitCode == 0, $"skopeo {string.Join(' ', args)}: {r}\nregistry log:\n{registry.Log}");
        return r;
    }

    /// <summary>An OCI image layout with <paramref name="blobs"/> and one entry in index.json naming <paramref name="top"/>.</summary>
    private string Layout(string name, Blob top, string refName, params Blob[] blobs)
    {
        var dir = Path.Combine(registry.Root, name);
        Directory.CreateDirectory(Path.Combine(dir, "blobs", "sha256"));
        File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        foreach (var b in blobs.Append(top)) File.WriteAllBytes(Path.Combine(dir, "blobs", "sha256", b.Digest["sha256:".Length..]), b.Data);
        File.WriteAllText(Path.Combine(dir, "index.json"),
            $"{{\"schemaVersion\":2,\"manifests\":[{top.Descriptor($"\"annotations\":{{\"org.opencontainers.image.ref.name\":\"{refName}\"}}")}]}}");
        return dir;
    }

    [Fact]
    public async Task CopiesAnOciLayoutInAndBackInspectsListsAndDeletes()
    {
        var layer = Layer("hello from skopeo");
        var config = Config("amd64");
        var manifest = Manifest(config, [layer]);
        var src = Layout("src-single", manifest, "v1", layer, config);
        var dest = $"docker://{registry.Host}/skopeo/one/img";

        await SkopeoAsync("copy", $"oci:{src}:v1", $"{dest}:v1", "--dest-tls-verify=false");
        await SkopeoAsync("copy", $"oci:{src}:v1", $"{dest}:v2", "--dest-tls-verify=false");

        var inspect = await SkopeoAsync("inspect", "--tls-verify=false", $"{dest}:v1");
        using (var doc = JsonDocument.Parse(inspect.Stdout))
        {
            Assert.Equal(manifest.Digest, doc.RootElement.GetProperty("Digest").GetString());
            Assert.Equal(layer.Digest, Assert.Single(doc.RootElement.GetProperty("Layers").EnumerateArray().ToList()).GetString());
        }
        var raw = await SkopeoAsync("inspect", "--raw", "--tls-verify=false", $"{dest}:v1");
        Assert.Equal(Encoding.UTF8.GetString(manifest.Data), raw.Stdout.TrimEnd('\n'));

        var tags = await SkopeoAsync("list-tags", "--tls-verify=false", dest);
        using (var doc = JsonDocument.Parse(tags.Stdout))
            Assert.Equal(["v1", "v2"], doc.RootElement.GetProperty("Tags").EnumerateArray().Select(e => e.GetString()!).Order());

        var back = Path.Combine(registry.Root, "back-single");
        await SkopeoAsync("copy", "--src-tls-verify=false", $"{dest}:v1", $"oci:{back}:v1");
        Assert.Equal(layer.Data, File.ReadAllBytes(Path.Combine(back, "blobs", "sha256", layer.Digest[7..])));
        Assert.Equal(config.Data, File.ReadAllBytes(Path.Combine(back, "blobs", "sha256", config.Digest[7..])));
        Assert.Equal(manifest.Data, File.ReadAllBytes(Path.Combine(back, "blobs", "sha256", manifest.Digest[7..])));

        // skopeo delete removes the manifest by digest: every tag that named it goes with it.
        await SkopeoAsync("delete", "--tls-verify=false", $"{dest}:v1");
        using var gone = await registry.Http.GetAsync($"/v2/skopeo/one/img/manifests/{manifest.Digest}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        var after = await SkopeoAsync("list-tags", "--tls-verify=false", dest);
        using (var doc = JsonDocument.Parse(after.Stdout))
            Assert.Empty(doc.RootElement.GetProperty("Tags").EnumerateArray());
        var failed = await registry.RunAsync("skopeo", ["--policy", Policy, "inspect", "--tls-verify=false", $"{dest}:v2"]);
        Assert.NotEqual(0, failed.ExitCode);
    }

    [Fact]
    public async Task IndexWithTwoPlatformsRoundTripsAndPullsByteIdentical()
    {
        var amdLayer = Layer("amd64 bits");
        var armLayer = Layer("arm64 bits");
        var amdConfig = Config("amd64");
        var armConfig = Config("arm64");
        var amd = Manifest(amdConfig, [amdLayer]);
        var arm = Manifest(armConfig, [armLayer]);
        var index = Index([(amd, "amd64"), (arm, "arm64")]);
        var src = Layout("src-multi", index, "multi", amdLayer, armLayer, amdConfig, armConfig, amd, arm);
        var dest = $"docker://{registry.Host}/skopeo/multi";

        await SkopeoAsync("copy", "--all", $"oci:{src}:multi", $"{dest}:multi", "--dest-tls-verify=false");

        var byTag = await SkopeoAsync("inspect", "--raw", "--tls-verify=false", $"{dest}:multi");
        var byDigest = await SkopeoAsync("inspect", "--raw", "--tls-verify=false", $"{dest}@{index.Digest}");
        Assert.Equal(Encoding.UTF8.GetString(index.Data), byTag.Stdout.TrimEnd('\n'));
        Assert.Equal(byTag.Stdout, byDigest.Stdout);
        var armRaw = await SkopeoAsync("inspect", "--raw", "--tls-verify=false", $"{dest}@{arm.Digest}");
        Assert.Equal(Encoding.UTF8.GetString(arm.Data), armRaw.Stdout.TrimEnd('\n'));

        // Over plain HTTP too: the same bytes by tag and by digest.
        var t = await GetManifestBytes("/v2/skopeo/multi/manifests/multi");
        var d = await GetManifestBytes($"/v2/skopeo/multi/manifests/{index.Digest}");
        Assert.Equal(index.Data, t);
        Assert.Equal(t, d);

        var back = Path.Combine(registry.Root, "back-multi");
        await SkopeoAsync("copy", "--all", "--src-tls-verify=false", $"{dest}:multi", $"oci:{back}:multi");
        foreach (var b in new[] { index, amd, arm, amdLayer, armLayer, amdConfig, armConfig })
            Assert.Equal(b.Data, File.ReadAllBytes(Path.Combine(back, "blobs", "sha256", b.Digest[7..])));
    }

    private async Task<byte[]> GetManifestBytes(string path)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, path);
        req.Headers.Accept.ParseAdd(OciIndex);
        using var r = await registry.Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return await r.Content.ReadAsByteArrayAsync();
    }
}
