using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using static Berth.Registry.Tests.TestImages;

namespace Berth.Registry.Tests;

/// <summary>The Distribution API of a real berth-registry process, over HTTP.</summary>
public sealed class RegistryHttpTests(RegistryProcess registry) : IClassFixture<RegistryProcess>
{
    private HttpClient Http => registry.Http;

    private static string Repo(string prefix) => $"{prefix}/r{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

    private static void AssertApiVersion(HttpResponseMessage r) =>
        Assert.Equal("registry/2.0", Assert.Single(r.Headers.GetValues("Docker-Distribution-API-Version")));

    [Fact]
    public async Task BaseEndpointAnswersWithApiVersion()
    {
        using var r = await Http.GetAsync("/v2/");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        AssertApiVersion(r);
        using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2/"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        AssertApiVersion(head);
    }

    [Fact]
    public async Task PushedManifestPullsByTagAndDigestWithHeaders()
    {
        var repo = Repo("pull");
        var (manifest, config, layer) = await PushImageAsync(Http, repo, "v1");

        foreach (var reference in new[] { "v1", manifest.Digest })
        {
            var req = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/manifests/{reference}");
            req.Headers.Accept.ParseAdd(OciManifest);
            using var r = await Http.SendAsync(req);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            AssertApiVersion(r);
            Assert.Equal(OciManifest, r.Content.Headers.ContentType!.MediaType);
            Assert.Equal(manifest.Digest, Assert.Single(r.Headers.GetValues("Docker-Content-Digest")));
            Assert.Equal(manifest.Data, await r.Content.ReadAsByteArrayAsync());

            using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repo}/manifests/{reference}"));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(manifest.Data.Length, head.Content.Headers.ContentLength);
            Assert.Equal(manifest.Digest, Assert.Single(head.Headers.GetValues("Docker-Content-Digest")));
        }

        using var blob = await Http.GetAsync($"/v2/{repo}/blobs/{layer.Digest}");
        Assert.Equal(HttpStatusCode.OK, blob.StatusCode);
        Assert.Equal(layer.Data, await blob.Content.ReadAsByteArrayAsync());
        Assert.Equal(layer.Digest, Assert.Single(blob.Headers.GetValues("Docker-Content-Digest")));
        using var cfg = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repo}/blobs/{config.Digest}"));
        Assert.Equal(HttpStatusCode.OK, cfg.StatusCode);
        Assert.Equal(config.Data.Length, cfg.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task AcceptHeaderWithoutTheStoredTypeIsRefused()
    {
        var repo = Repo("accept");
        await PushImageAsync(Http, repo, "v1");
        var req = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/manifests/v1");
        req.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.v2+json");
        using var r = await Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal("MANIFEST_UNKNOWN", await ErrorCodeAsync(r));
    }

    [Fact]
    public async Task BlobRangeRequestsAnswer206WithContentRange()
    {
        var repo = Repo("range");
        var blob = new Blob(Encoding.ASCII.GetBytes("0123456789"), "application/octet-stream");
        await PushBlobAsync(Http, repo, blob);

        var req = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/blobs/{blob.Digest}");
        req.Headers.Range = new RangeHeaderValue(2, 5);
        using var r = await Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.PartialContent, r.StatusCode);
        Assert.Equal("2345", await r.Content.ReadAsStringAsync());
        Assert.Equal("bytes 2-5/10", r.Content.Headers.ContentRange!.ToString());

        var tail = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/blobs/{blob.Digest}");
        tail.Headers.Range = new RangeHeaderValue(7, null);
        using var t = await Http.SendAsync(tail);
        Assert.Equal(HttpStatusCode.PartialContent, t.StatusCode);
        Assert.Equal("789", await t.Content.ReadAsStringAsync());

        var beyond = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/blobs/{blob.Digest}");
        beyond.Headers.Range = new RangeHeaderValue(10, 20);
        using var b = await Http.SendAsync(beyond);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, b.StatusCode);
        Assert.Equal("bytes */10", b.Content.Headers.ContentRange!.ToString());
    }

    [Fact]
    public async Task MissingThingsAnswer404WithTheirCodes()
    {
        var repo = Repo("missing");
        using var noRepo = await Http.GetAsync($"/v2/{repo}/manifests/latest");
        Assert.Equal(HttpStatusCode.NotFound, noRepo.StatusCode);
        Assert.Equal("NAME_UNKNOWN", await ErrorCodeAsync(noRepo));
        AssertApiVersion(noRepo);

        await PushImageAsync(Http, repo, "v1");
        using var noTag = await Http.GetAsync($"/v2/{repo}/manifests/v2");
        Assert.Equal("MANIFEST_UNKNOWN", await ErrorCodeAsync(noTag));
        using var noBlob = await Http.GetAsync($"/v2/{repo}/blobs/sha256:{new string('a', 64)}");
        Assert.Equal(HttpStatusCode.NotFound, noBlob.StatusCode);
        Assert.Equal("BLOB_UNKNOWN", await ErrorCodeAsync(noBlob));
    }

    [Fact]
    public async Task PostThenPutUploadStoresTheBlob()
    {
        var repo = Repo("postput");
        var blob = new Blob(RandomNumberGenerator.GetBytes(100_000), "application/octet-stream");
        using var post = await Http.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var location = post.Headers.Location!.ToString();
        Assert.StartsWith($"/v2/{repo}/blobs/uploads/", location);
        using var put = await Http.PutAsync($"{location}?digest={blob.Digest}", new ByteArrayContent(blob.Data));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal($"/v2/{repo}/blobs/{blob.Digest}", put.Headers.Location!.ToString());
        Assert.Equal(blob.Data, await Http.GetByteArrayAsync($"/v2/{repo}/blobs/{blob.Digest}"));
        // The session is over.
        using var status = await Http.GetAsync(location);
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", await ErrorCodeAsync(status));
    }

    [Fact]
    public async Task ChunkedUploadReportsRangesAndRefusesOutOfOrderChunks()
    {
        var repo = Repo("chunked");
        var data = RandomNumberGenerator.GetBytes(3000);
        var blob = new Blob(data, "application/octet-stream");
        using var post = await Http.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var location = post.Headers.Location!.ToString();

        using var p1 = await Patch(location, data[..1000], "0-999");
        Assert.Equal(HttpStatusCode.Accepted, p1.StatusCode);
        Assert.Equal("0-999", Assert.Single(p1.Headers.GetValues("Range")));
        Assert.Equal(location, p1.Headers.Location!.ToString());

        // A chunk that does not start where the upload ends: 416 with the current range, nothing appended.
        using var bad = await Patch(location, data[1500..2000], "1500-1999");
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, bad.StatusCode);
        Assert.Equal("BLOB_UPLOAD_INVALID", await ErrorCodeAsync(bad));
        Assert.Equal("0-999", Assert.Single(bad.Headers.GetValues("Range")));

        using var p2 = await Patch(location, data[1000..2000], "1000-1999");
        Assert.Equal("0-1999", Assert.Single(p2.Headers.GetValues("Range")));
        using var status = await Http.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-1999", Assert.Single(status.Headers.GetValues("Range")));

        using var put = await Http.PutAsync($"{location}?digest={blob.Digest}", new ByteArrayContent(data[2000..]));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(data, await Http.GetByteArrayAsync($"/v2/{repo}/blobs/{blob.Digest}"));
    }

    private Task<HttpResponseMessage> Patch(string location, byte[] chunk, string? contentRange)
    {
        var req = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(chunk) };
        req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (contentRange is not null) req.Content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        return Http.SendAsync(req);
    }

    [Fact]
    public async Task CancelledUploadIsGone()
    {
        var repo = Repo("cancel");
        using var post = await Http.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var location = post.Headers.Location!.ToString();
        using var p = await Patch(location, [1, 2, 3], null);
        Assert.Equal(HttpStatusCode.Accepted, p.StatusCode);
        using var del = await Http.DeleteAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, del.StatusCode);
        using var status = await Http.GetAsync(location);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", await ErrorCodeAsync(status));
        Assert.False(File.Exists(Path.Combine(registry.Storage, "uploads", location.Split('/')[^1])));
    }

    [Fact]
    public async Task WrongDigestIsRejectedAndNothingIsStored()
    {
        var repo = Repo("wrong");
        var data = Encoding.UTF8.GetBytes("these bytes are not what the digest says " + Guid.NewGuid());
        var real = new Blob(data, "application/octet-stream");
        var claimed = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("something else")));

        var uploadsBefore = Directory.GetFiles(Path.Combine(registry.Storage, "uploads")).ToHashSet();
        using var mono = await Http.PostAsync($"/v2/{repo}/blobs/uploads/?digest={claimed}", new ByteArrayContent(data));
        Assert.Equal(HttpStatusCode.BadRequest, mono.StatusCode);
        Assert.Equal("DIGEST_INVALID", await ErrorCodeAsync(mono));

        using var post = await Http.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        using var put = await Http.PutAsync($"{post.Headers.Location}?digest={claimed}", new ByteArrayContent(data));
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("DIGEST_INVALID", await ErrorCodeAsync(put));

        foreach (var d in new[] { claimed, real.Digest })
        {
            var hex = d["sha256:".Length..];
            Assert.False(File.Exists(Path.Combine(registry.Storage, "blobs", "sha256", hex[..2], hex)));
            using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repo}/blobs/{d}"));
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }
        Assert.Subset(uploadsBefore, Directory.GetFiles(Path.Combine(registry.Storage, "uploads")).ToHashSet());
        using var session = await Http.GetAsync(post.Headers.Location!.ToString());
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", await ErrorCodeAsync(session));
    }

    [Fact]
    public async Task CrossRepositoryMountLinksOnlyWhatTheSourceHas()
    {
        var from = Repo("mountsrc");
        var to = Repo("mountdst");
        var blob = new Blob(RandomNumberGenerator.GetBytes(500), "application/octet-stream");
        await PushBlobAsync(Http, from, blob);

        using var mounted = await Http.PostAsync($"/v2/{to}/blobs/uploads/?mount={blob.Digest}&from={from}", null);
        Assert.Equal(HttpStatusCode.Created, mounted.StatusCode);
        Assert.Equal($"/v2/{to}/blobs/{blob.Digest}", mounted.Headers.Location!.ToString());
        Assert.Equal(blob.Data, await Http.GetByteArrayAsync($"/v2/{to}/blobs/{blob.Digest}"));

        // A repository that does not hold the blob cannot lend it: a fresh upload starts instead.
        var other = Repo("mountother");
        var stranger = Repo("mountstranger");
        await PushBlobAsync(Http, stranger, new Blob([9, 9, 9], "application/octet-stream"));
        using var fresh = await Http.PostAsync($"/v2/{other}/blobs/uploads/?mount={blob.Digest}&from={stranger}", null);
        Assert.Equal(HttpStatusCode.Accepted, fresh.StatusCode);
        Assert.Contains("/blobs/uploads/", fresh.Headers.Location!.ToString());
        using var notLinked = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{other}/blobs/{blob.Digest}"));
        Assert.Equal(HttpStatusCode.NotFound, notLinked.StatusCode);
    }

    [Fact]
    public async Task ManifestWithMissingBlobsIsRefused()
    {
        var repo = Repo("missingblob");
        var layer = Layer("never pushed");
        var config = Config("amd64");
        await PushBlobAsync(Http, repo, config);
        using var r = await PutManifestAsync(Http, repo, "v1", Manifest(config, [layer]));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("MANIFEST_BLOB_UNKNOWN", await ErrorCodeAsync(r));

        // An index whose child manifest is not in the repository, likewise.
        var (m, _, _) = await PushImageAsync(Http, Repo("elsewhere"), "v1");
        using var idx = await PutManifestAsync(Http, repo, "list", Index([(m, "amd64")]));
        Assert.Equal("MANIFEST_BLOB_UNKNOWN", await ErrorCodeAsync(idx));
    }

    [Fact]
    public async Task IndexRoundTripsByteIdentical()
    {
        var repo = Repo("index");
        var (amd, _, _) = await PushImageAsync(Http, repo, "amd64", "amd64");
        var (arm, _, _) = await PushImageAsync(Http, repo, "arm64", "arm64");
        var index = Index([(amd, "amd64"), (arm, "arm64")]);
        using var put = await PutManifestAsync(Http, repo, "multi", index);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(index.Digest, Assert.Single(put.Headers.GetValues("Docker-Content-Digest")));
        foreach (var reference in new[] { "multi", index.Digest })
        {
            var req = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/manifests/{reference}");
            req.Headers.Accept.ParseAdd(OciIndex);
            req.Headers.Accept.ParseAdd(OciManifest);
            using var r = await Http.SendAsync(req);
            Assert.Equal(OciIndex, r.Content.Headers.ContentType!.MediaType);
            Assert.Equal(index.Data, await r.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task TagsListPaginatesWithLinkHeader()
    {
        var repo = Repo("tags");
        var (m, _, _) = await PushImageAsync(Http, repo, "c");
        foreach (var t in new[] { "a", "b", "d", "e" })
            (await PutManifestAsync(Http, repo, t, m)).Dispose();

        using var all = await Http.GetAsync($"/v2/{repo}/tags/list");
        Assert.Equal(["a", "b", "c", "d", "e"], Tags(await all.Content.ReadAsStringAsync()));
        Assert.False(all.Headers.Contains("Link"));

        using var page1 = await Http.GetAsync($"/v2/{repo}/tags/list?n=2");
        Assert.Equal(["a", "b"], Tags(await page1.Content.ReadAsStringAsync()));
        var link = Assert.Single(page1.Headers.GetValues("Link"));
        Assert.Equal($"</v2/{repo}/tags/list?n=2&last=b>; rel=\"next\"", link);
        using var page2 = await Http.GetAsync($"/v2/{repo}/tags/list?n=2&last=b");
        Assert.Equal(["c", "d"], Tags(await page2.Content.ReadAsStringAsync()));
        using var page3 = await Http.GetAsync($"/v2/{repo}/tags/list?n=2&last=d");
        Assert.Equal(["e"], Tags(await page3.Content.ReadAsStringAsync()));
        Assert.False(page3.Headers.Contains("Link"));

        using var unknown = await Http.GetAsync($"/v2/{Repo("nope")}/tags/list");
        Assert.Equal("NAME_UNKNOWN", await ErrorCodeAsync(unknown));
    }

    private static string[] Tags(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("tags").EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    [Fact]
    public async Task CatalogListsRepositoriesInPages()
    {
        var prefix = $"cat{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        foreach (var r in new[] { "x", "y/z" }) await PushImageAsync(Http, $"{prefix}/{r}", "v1");
        using var all = await Http.GetAsync("/v2/_catalog");
        var repos = Repositories(await all.Content.ReadAsStringAsync());
        Assert.Contains($"{prefix}/x", repos);
        Assert.Contains($"{prefix}/y/z", repos);
        Assert.Equal(repos.Order(StringComparer.Ordinal), repos);

        using var page = await Http.GetAsync($"/v2/_catalog?n=1&last={prefix}/x");
        Assert.Equal([$"{prefix}/y/z"], Repositories(await page.Content.ReadAsStringAsync()));
    }

    private static string[] Repositories(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("repositories").EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    [Fact]
    public async Task DeletesByTagByDigestAndBlobs()
    {
        var repo = Repo("delete");
        var (m, _, layer) = await PushImageAsync(Http, repo, "v1");
        (await PutManifestAsync(Http, repo, "v2", m)).Dispose();

        using var delTag = await Http.DeleteAsync($"/v2/{repo}/manifests/v1");
        Assert.Equal(HttpStatusCode.Accepted, delTag.StatusCode);
        using var gone = await Http.GetAsync($"/v2/{repo}/manifests/v1");
        Assert.Equal("MANIFEST_UNKNOWN", await ErrorCodeAsync(gone));
        using var stillThere = await Http.GetAsync($"/v2/{repo}/manifests/v2");
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);

        using var delDigest = await Http.DeleteAsync($"/v2/{repo}/manifests/{m.Digest}");
        Assert.Equal(HttpStatusCode.Accepted, delDigest.StatusCode);
        using var byDigest = await Http.GetAsync($"/v2/{repo}/manifests/{m.Digest}");
        Assert.Equal("MANIFEST_UNKNOWN", await ErrorCodeAsync(byDigest));
        using var v2 = await Http.GetAsync($"/v2/{repo}/manifests/v2");
        Assert.Equal("MANIFEST_UNKNOWN", await ErrorCodeAsync(v2));

        using var delBlob = await Http.DeleteAsync($"/v2/{repo}/blobs/{layer.Digest}");
        Assert.Equal(HttpStatusCode.Accepted, delBlob.StatusCode);
        using var blobGone = await Http.GetAsync($"/v2/{repo}/blobs/{layer.Digest}");
        Assert.Equal("BLOB_UNKNOWN", await ErrorCodeAsync(blobGone));
        using var again = await Http.DeleteAsync($"/v2/{repo}/blobs/{layer.Digest}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task ReferrersListManifestsWithThatSubject()
    {
        var repo = Repo("referrers");
        var (subject, _, _) = await PushImageAsync(Http, repo, "v1");
        var empty = new Blob("{}"u8.ToArray(), "application/vnd.oci.empty.v1+json");
        await PushBlobAsync(Http, repo, empty);
        var sig = Manifest(empty, [], subject.Descriptor(), "application/vnd.example.signature", "{\"k\":\"v\"}");
        var sbom = Manifest(empty, [], subject.Descriptor(), "application/vnd.example.sbom");

        using var put = await PutManifestAsync(Http, repo, sig.Digest, sig);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(subject.Digest, Assert.Single(put.Headers.GetValues("OCI-Subject")));
        (await PutManifestAsync(Http, repo, sbom.Digest, sbom)).Dispose();

        using var all = await Http.GetAsync($"/v2/{repo}/referrers/{subject.Digest}");
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal(OciIndex, all.Content.Headers.ContentType!.MediaType);
        using (var doc = JsonDocument.Parse(await all.Content.ReadAsStringAsync()))
        {
            var ms = doc.RootElement.GetProperty("manifests").EnumerateArray().ToList();
            Assert.Equal(2, ms.Count);
            var s = ms.Single(e => e.GetProperty("digest").GetString() == sig.Digest);
            Assert.Equal("application/vnd.example.signature", s.GetProperty("artifactType").GetString());
            Assert.Equal("v", s.GetProperty("annotations").GetProperty("k").GetString());
            Assert.Equal(sig.Data.Length, s.GetProperty("size").GetInt64());
        }
        Assert.False(all.Headers.Contains("OCI-Filters-Applied"));

        using var filtered = await Http.GetAsync($"/v2/{repo}/referrers/{subject.Digest}?artifactType=application/vnd.example.sbom");
        Assert.Equal("artifactType", Assert.Single(filtered.Headers.GetValues("OCI-Filters-Applied")));
        using (var doc = JsonDocument.Parse(await filtered.Content.ReadAsStringAsync()))
            Assert.Equal(sbom.Digest, Assert.Single(doc.RootElement.GetProperty("manifests").EnumerateArray().ToList()).GetProperty("digest").GetString());

        using var none = await Http.GetAsync($"/v2/{repo}/referrers/sha256:{new string('b', 64)}");
        Assert.Equal(HttpStatusCode.OK, none.StatusCode);
        using (var doc = JsonDocument.Parse(await none.Content.ReadAsStringAsync()))
            Assert.Empty(doc.RootElement.GetProperty("manifests").EnumerateArray());
    }

    [Theory]
    [InlineData("/v2/Upper/manifests/latest", "NAME_INVALID")]
    [InlineData("/v2/a..b/manifests/latest", "NAME_INVALID")]
    [InlineData("/v2/../x/manifests/latest", "NAME_INVALID")]
    [InlineData("/v2/a/../x/tags/list", "NAME_INVALID")]
    [InlineData("/v2/a%2Fb/tags/list", "NAME_INVALID")]
    [InlineData("/v2/-a/blobs/uploads/", "NAME_INVALID")]
    [InlineData("/v2/a/blobs/sha256:abc", "DIGEST_INVALID")]
    [InlineData("/v2/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", "DIGEST_INVALID")]
    [InlineData("/v2/a/manifests/sha256:XYZ", "DIGEST_INVALID")]
    [InlineData("/v2/a/referrers/nope:1", "DIGEST_INVALID")]
    [InlineData("/v2/a/tags/list?n=-1", "PAGINATION_NUMBER_INVALID")]
    public async Task BadNamesAndDigestsAnswer400WithSpecCodes(string target, string code)
    {
        // Raw HTTP: client libraries would resolve "..", which is exactly what must be refused.
        var (status, body) = await RawGetAsync(target);
        Assert.Equal(400, status);
        Assert.Contains($"\"code\":\"{code}\"", body);
    }

    private async Task<(int Status, string Body)> RawGetAsync(string target)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, registry.Port);
        var s = tcp.GetStream();
        var method = target.EndsWith("/uploads/", StringComparison.Ordinal) ? "POST" : "GET";
        await s.WriteAsync(Encoding.ASCII.GetBytes($"{method} {target} HTTP/1.1\r\nHost: {registry.Host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(s);
        var all = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var status = int.Parse(all.Split(' ', 3)[1]);
        return (status, all[(all.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
    }

    [Fact]
    public async Task BadManifestsAreRefusedAndTheRegistryKeepsServing()
    {
        var repo = Repo("badmanifest");
        var (good, config, layer) = await PushImageAsync(Http, repo, "v1");
        var cases = new (string Body, string ContentType, string Code)[]
        {
            ("{not json", OciManifest, "MANIFEST_INVALID"),
            ("[]", OciManifest, "MANIFEST_INVALID"),
            ($"{{\"schemaVersion\":1,\"mediaType\":\"{OciManifest}\",\"config\":{config.Descriptor()},\"layers\":[]}}", OciManifest, "MANIFEST_INVALID"),
            ($"{{\"schemaVersion\":2,\"mediaType\":\"application/x-bogus\",\"config\":{config.Descriptor()},\"layers\":[]}}", "application/x-bogus", "MANIFEST_INVALID"),
            ($"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"layers\":[]}}", OciManifest, "MANIFEST_INVALID"),
            ($"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{{\"mediaType\":\"{OciConfig}\",\"digest\":\"sha256:zz\",\"size\":1}},\"layers\":[]}}", OciManifest, "MANIFEST_INVALID"),
            ($"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{config.Descriptor()},\"layers\":[{layer.Descriptor()}]}}", OciIndex, "MANIFEST_INVALID"),
            ($"{{\"schemaVersion\":2,\"mediaType\":\"{OciIndex}\",\"manifests\":\"no\"}}", OciIndex, "MANIFEST_INVALID"),
        };
        foreach (var (body, ct, code) in cases)
        {
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            content.Headers.ContentType = new MediaTypeHeaderValue(ct);
            using var r = await Http.PutAsync($"/v2/{repo}/manifests/bad", content);
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{body}: {(int)r.StatusCode}");
            Assert.Equal(code, await ErrorCodeAsync(r));
        }

        // Over 4 MiB: refused with SIZE_INVALID before it is parsed.
        var huge = new byte[4 * 1024 * 1024 + 10];
        Array.Fill(huge, (byte)' ');
        var hc = new ByteArrayContent(huge);
        hc.Headers.ContentType = new MediaTypeHeaderValue(OciManifest);
        using (var r = await Http.PutAsync($"/v2/{repo}/manifests/huge", hc))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
            Assert.Equal("SIZE_INVALID", await ErrorCodeAsync(r));
        }

        // A digest reference that is not the body's digest.
        using (var r = await PutManifestAsync(Http, repo, $"sha256:{new string('c', 64)}", good))
            Assert.Equal("DIGEST_INVALID", await ErrorCodeAsync(r));

        using var tags = await Http.GetAsync($"/v2/{repo}/tags/list");
        Assert.Equal(["v1"], Tags(await tags.Content.ReadAsStringAsync()));
        using var still = await Http.GetAsync($"/v2/{repo}/manifests/v1");
        Assert.Equal(good.Data, await still.Content.ReadAsByteArrayAsync());
    }
}
