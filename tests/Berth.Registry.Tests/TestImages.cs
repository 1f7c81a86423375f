using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Registry.Tests;

/// <summary>One blob: its bytes and digest.</summary>
public sealed record Blob(byte[] Data, string MediaType)
{
    public string Digest { get; } = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Data));
    public string Descriptor(string? extra = null) =>
        $"{{\"mediaType\":\"{MediaType}\",\"digest\":\"{Digest}\",\"size\":{Data.Length}{(extra is null ? "" : "," + extra)}}}";
}

/// <summary>Tiny images made in the test: a gzip layer tar with one file, a config, an OCI manifest.</summary>
public static class TestImages
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

    public static Blob Layer(string content)
    {
        var tar = new MemoryStream();
        using (var w = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var e = new PaxTarEntry(TarEntryType.RegularFile, "hello.txt") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };
            w.WriteEntry(e);
        }
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(tar.ToArray());
        return new Blob(gz.ToArray(), OciLayerGzip);
    }

    public static Blob Config(string arch, string diffId = "sha256:0000000000000000000000000000000000000000000000000000000000000000") =>
        new(Encoding.UTF8.GetBytes($"{{\"architecture\":\"{arch}\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{diffId}\"]}},\"config\":{{}}}}"), OciConfig);

    public static Blob Manifest(Blob config, IEnumerable<Blob> layers, string? subject = null, string? artifactType = null, string? annotations = null)
    {
        var sb = new StringBuilder($"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\"");
        if (artifactType is not null) sb.Append($",\"artifactType\":\"{artifactType}\"");
        sb.Append($",\"config\":{config.Descriptor()},\"layers\":[{string.Join(',', layers.Select(l => l.Descriptor()))}]");
        if (subject is not null) sb.Append($",\"subject\":{subject}");
        if (annotations is not null) sb.Append($",\"annotations\":{annotations}");
        sb.Append('}');
        return new Blob(Encoding.UTF8.GetBytes(sb.ToString()), OciManifest);
    }

    public static Blob Index(IEnumerable<(Blob Manifest, string Arch)> manifests) =>
        new(Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{OciIndex}\",\"manifests\":[{string.Join(',', manifests.Select(m => m.Manifest.Descriptor($"\"platform\":{{\"architecture\":\"{m.Arch}\",\"os\":\"linux\"}}")))}]}}"), OciIndex);

    public static async Task PushBlobAsync(HttpClient http, string repo, Blob blob)
    {
        using var r = await http.PostAsync($"/v2/{repo}/blobs/uploads/?digest={blob.Digest}", new ByteArrayContent(blob.Data));
        Assert.True(r.StatusCode == HttpStatusCode.Created, $"push blob: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
    }

    public static async Task<HttpResponseMessage> PutManifestAsync(HttpClient http, string repo, string reference, Blob manifest)
    {
        var content = new ByteArrayContent(manifest.Data);
        content.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
        return await http.PutAsync($"/v2/{repo}/manifests/{reference}", content);
    }

    /// <summary>Pushes config, layers and the manifest under <paramref name="tag"/>; returns the manifest.</summary>
    public static async Task<(Blob Manifest, Blob Config, Blob Layer)> PushImageAsync(HttpClient http, string repo, string tag, string arch = "amd64", string content = "hi")
    {
        var layer = Layer(content + arch);
        var config = Config(arch);
        await PushBlobAsync(http, repo, layer);
        await PushBlobAsync(http, repo, config);
        var manifest = Manifest(config, [layer]);
        using var r = await PutManifestAsync(http, repo, tag, manifest);
        Assert.True(r.StatusCode == HttpStatusCode.Created, $"put manifest: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        return (manifest, config, layer);
    }

    /// <summary>The first error code of an OCI error body.</summary>
    public static async Task<string> ErrorCodeAsync(HttpResponseMessage r)
    {
        var body = await r.Content.ReadAsStringAsync();
        using var doc = System.Text.Json.JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("errors")[0].GetProperty("code").GetString()!;
    }
}
