using System.Formats.Tar;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Integration.Tests;

/// <summary>Acceptance 4: bad input gets Docker's 4xx with a message, never a crash, a hang or a write outside the data-root.</summary>
public sealed class BadInputTests(DaemonFixture d) : IClassFixture<DaemonFixture>, IDisposable
{
    private readonly EngineApi _api = new(d.Socket);

    public void Dispose() => _api.Dispose();

    [Fact]
    public async Task InvalidContainerNameIs400()
    {
        foreach (var name in new[] { "bad%2Fname", "-leadingdash", "sp%20ace", "a" + new string('!', 3) })
        {
            var r = await _api.PostAsync($"/containers/create?name={name}", """{"Image":"busybox","Cmd":["true"]}""");
            var message = EngineApi.AssertError(r, HttpStatusCode.BadRequest);
            Assert.Contains("Invalid container name", message);
        }
        var all = await _api.GetAsync("/containers/json?all=1");
        Assert.DoesNotContain(all.Json().EnumerateArray(), c => c.GetProperty("Names")[0].GetString()!.Contains("leadingdash", StringComparison.Ordinal));
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task FailedCreate_LeavesNoAnonymousVolume()
    {
        var before = (await _api.GetAsync("/volumes")).Json().GetProperty("Volumes").GetArrayLength();
        // The first bind makes an anonymous volume for /data; the second claims /data again and fails the create.
        var r = await _api.PostAsync("/containers/create", $$$"""{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["/data","{{{d.Root}}}:/data"]}}""");
        Assert.Contains("Duplicate mount point", EngineApi.AssertError(r, HttpStatusCode.BadRequest));
        var r2 = await _api.PostAsync("/containers/create", """{"Image":"busybox","Cmd":["true"],"HostConfig":{"Mounts":[{"Type":"volume","Target":"/v"},{"Type":"nosuch","Target":"/w"}]}}""");
        Assert.Contains("mount type unknown", EngineApi.AssertError(r2, HttpStatusCode.BadRequest));
        var after = (await _api.GetAsync("/volumes")).Json().GetProperty("Volumes").GetArrayLength();
        Assert.Equal(before, after);
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task UnknownImageIs404()
    {
        var r = await _api.PostAsync("/containers/create", $$"""{"Image":"nosuch{{d.Tag}}:latest","Cmd":["true"]}""");
        Assert.Contains($"nosuch{d.Tag}", EngineApi.AssertError(r, HttpStatusCode.NotFound));
        EngineApi.AssertError(await _api.GetAsync($"/images/nosuch{d.Tag}/json"), HttpStatusCode.NotFound);
        var cli = await d.DockerAsync("create", $"nosuch{d.Tag}");
        Assert.NotEqual(0, cli.ExitCode);
        await _api.AssertAliveAsync();
    }

    [Theory]
    [InlineData("{\"Image\":\"busybox\",")]
    [InlineData("not json at all")]
    [InlineData("[1,2,3]")]
    public async Task MalformedJsonIs400(string body)
    {
        var r = await _api.PostAsync("/containers/create", body);
        EngineApi.AssertError(r, HttpStatusCode.BadRequest);
        var v = await _api.PostAsync("/volumes/create", body);
        EngineApi.AssertError(v, HttpStatusCode.BadRequest);
        await _api.AssertAliveAsync();
    }

    [Theory]
    [InlineData("{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":\"lots\"}}")]
    [InlineData("{\"Image\":\"busybox\",\"Cmd\":{\"a\":1}}")]
    [InlineData("{\"Image\":\"busybox\",\"Labels\":[\"a\"]}")]
    public async Task WrongJsonTypesAre400(string body)
    {
        var r = await _api.PostAsync("/containers/create", body);
        if (r.Status == HttpStatusCode.Created) await _api.DeleteAsync($"/containers/{r.Json().GetProperty("Id").GetString()}?force=1");
        EngineApi.AssertError(r, HttpStatusCode.BadRequest);
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task EmptyCreateBodyIs400()
    {
        EngineApi.AssertError(await _api.PostAsync("/containers/create"), HttpStatusCode.BadRequest);
        await _api.AssertAliveAsync();
    }

    [Theory]
    [InlineData("\"Memory\":-1")]
    [InlineData("\"Memory\":-67108864")]
    [InlineData("\"NanoCpus\":-1")]
    [InlineData("\"CpuShares\":-5")]
    [InlineData("\"PidsLimit\":-5,\"Memory\":-4")]
    public async Task NegativeResourcesAre400(string resource)
    {
        var r = await _api.PostAsync("/containers/create", "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"HostConfig\":{" + resource + "}}");
        if (r.Status == HttpStatusCode.Created) await _api.DeleteAsync($"/containers/{r.Json().GetProperty("Id").GetString()}?force=1");
        EngineApi.AssertError(r, HttpStatusCode.BadRequest);
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task BodyOver4MiBIs400AndDaemonStillAnswers()
    {
        // A valid JSON document of 5 MiB: the size alone must refuse it, with or without a Content-Length.
        var big = "{\"Image\":\"busybox\",\"Env\":[\"X=" + new string('x', 5 * 1024 * 1024) + "\"]}";
        var withLength = await _api.PostAsync("/containers/create", big).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Contains("too large", EngineApi.AssertError(withLength, HttpStatusCode.BadRequest));

        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new("application/json");
        var req = _api.SendAsync(HttpMethod.Post, "/volumes/create", content: new ChunkedContent(chunked));
        var r2 = await req.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Contains("too large", EngineApi.AssertError(r2, HttpStatusCode.BadRequest));

        Assert.Empty((await d.DockerAsync("ps", "-aq")).Stdout.Trim());
        await _api.AssertAliveAsync();
    }

    [Theory]
    [InlineData("/build?t=broken:chunks")]
    [InlineData("/volumes/create")]
    public async Task BrokenChunkFramingIs400AndTheConnectionCloses(string target)
    {
        // The connection layer finds where each body ends; a chunk header that is not hex is HTTP's 400, and the
        // daemon ends that connection rather than waiting on it or failing without an answer.
        using var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        await s.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(d.Socket));
        await s.SendAsync(Encoding.ASCII.GetBytes(
            $"POST {target} HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{{}}\r\nzz\r\nabc\r\n0\r\n\r\n"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = new MemoryStream();
        var buf = new byte[4096];
        int n;
        while ((n = await s.ReceiveAsync(buf, System.Net.Sockets.SocketFlags.None, cts.Token)) > 0) answer.Write(buf, 0, n);
        var text = Encoding.ASCII.GetString(answer.ToArray());
        Assert.StartsWith("HTTP/1.1 400 ", text);
        Assert.Contains("\"message\":\"Bad chunk size data.\"", text);
        Assert.Empty((await d.DockerAsync("images", "-q", "broken:chunks")).Stdout.Trim());
        await _api.AssertAliveAsync();
    }

    /// <summary>Content without a known length, so HttpClient sends it chunked.</summary>
    private sealed class ChunkedContent(HttpContent inner) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => inner.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    [Fact]
    public async Task UnparsableQueryValuesAre400()
    {
        var id = await _api.CreateAsync("q" + d.Tag, """{"Image":"busybox","Cmd":["sleep","300"]}""");
        try
        {
            await _api.StartAsync(id);
            foreach (var (method, path) in new[]
                     {
                         (HttpMethod.Post, $"/containers/{id}/stop?t=abc"),
                         (HttpMethod.Post, $"/containers/{id}/restart?t=1.5"),
                         (HttpMethod.Get, "/containers/json?all=maybe"),
                         (HttpMethod.Get, "/containers/json?limit=ten"),
                         (HttpMethod.Get, "/containers/json?filters=%7Bnot-json"),
                         (HttpMethod.Get, $"/containers/{id}/logs?stdout=1&tail=lots"),
                         (HttpMethod.Get, $"/containers/{id}/logs?stdout=1&since=yesterday"),
                         (HttpMethod.Delete, $"/containers/{id}?force=perhaps"),
                         (HttpMethod.Get, "/images/json?filters=%7B%22dangling%22%3A%5B%22sometimes%22%5D%7D"),
                         (HttpMethod.Get, "/volumes?filters=%5B1%5D"),
                         (HttpMethod.Get, "/volumes?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D"),
                         (HttpMethod.Get, "/images/json?all=sometimes"),
                         (HttpMethod.Post, "/images/prune?filters=%7B%22until%22%3A%5B%22bogus%22%5D%7D"),
                         (HttpMethod.Post, "/volumes/prune?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D"),
                     })
            {
                var r = await _api.SendAsync(method, path);
                Assert.True(r.Status == HttpStatusCode.BadRequest, $"{method} {path}: {r}");
                EngineApi.AssertError(r, HttpStatusCode.BadRequest);
            }
            // None of the refused requests acted: the container still runs.
            var state = (await _api.GetAsync($"/containers/{id}/json")).Json().GetProperty("State").GetProperty("Status").GetString();
            Assert.Equal("running", state);
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{id}?force=1");
        }
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task RemovingRunningContainerWithoutForceIs409()
    {
        var id = await _api.CreateAsync("run409" + d.Tag, """{"Image":"busybox","Cmd":["sleep","300"]}""");
        try
        {
            await _api.StartAsync(id);
            var r = await _api.DeleteAsync($"/containers/{id}");
            Assert.Contains("stop the container before removing or force remove", EngineApi.AssertError(r, HttpStatusCode.Conflict));
            Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"/containers/{id}/json")).Status);
            Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync($"/containers/{id}?force=1")).Status);
            EngineApi.AssertError(await _api.GetAsync($"/containers/{id}/json"), HttpStatusCode.NotFound);
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{id}?force=1");
        }
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task OtherBadRequestsGetDockersCodes()
    {
        var t = d.Tag;
        EngineApi.AssertError(await _api.PostAsync($"/containers/nosuch{t}/start"), HttpStatusCode.NotFound);
        EngineApi.AssertError(await _api.PostAsync($"/containers/nosuch{t}/wait"), HttpStatusCode.NotFound);
        EngineApi.AssertError(await _api.DeleteAsync($"/containers/nosuch{t}"), HttpStatusCode.NotFound);
        EngineApi.AssertError(await _api.PostAsync("/volumes/create", """{"Name":"../../escape"}"""), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.PostAsync("/volumes/create", """{"Name":"x","Driver":"nosuchdriver"}"""), HttpStatusCode.NotFound);
        EngineApi.AssertError(await _api.PostAsync("/images/busybox/tag?repo=UPPER%20case"), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.PostAsync("/images/create"), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.PostAsync("/containers/create", """{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"nosuchnet"}}"""), HttpStatusCode.NotFound);
        EngineApi.AssertError(await _api.PostAsync("/containers/create", """{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["relative/path:/x"]}}"""), HttpStatusCode.BadRequest);

        // A name taken is a conflict.
        var name = "dup" + t;
        var id = await _api.CreateAsync(name, """{"Image":"busybox","Cmd":["true"]}""");
        try
        {
            var again = await _api.PostAsync($"/containers/create?name={name}", """{"Image":"busybox","Cmd":["true"]}""");
            Assert.Contains(id, EngineApi.AssertError(again, HttpStatusCode.Conflict));
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{id}?force=1");
        }
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task TraversalInObjectNamesFindsNothingAndRemovesNothing()
    {
        var vol = "trav" + d.Tag;
        Assert.Equal(HttpStatusCode.Created, (await _api.PostAsync("/volumes/create", "{\"Name\":\"" + vol + "\"}")).Status);
        try
        {
            foreach (var name in new[] { "..%2F..%2Fdata", "..%2F" + vol, "%2E%2E", $"{vol}%2F..%2F.." })
            {
                foreach (var (method, path) in new[]
                         {
                             (HttpMethod.Delete, $"/volumes/{name}"), (HttpMethod.Get, $"/volumes/{name}"),
                             (HttpMethod.Delete, $"/containers/{name}?force=1&v=1"), (HttpMethod.Get, $"/containers/{name}/json"),
                             (HttpMethod.Delete, $"/images/{name}?force=1"),
                         })
                {
                    var r = await _api.SendAsync(method, path);
                    Assert.True(r.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{method} {path}: {r}");
                    EngineApi.AssertError(r, r.Status);
                }
            }
            foreach (var name in new[] { "..", "a/../../b", "/abs", "." })
                EngineApi.AssertError(await _api.PostAsync("/volumes/create", "{\"Name\":\"" + name + "\"}"), HttpStatusCode.BadRequest);
            // Everything is where it was.
            Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"/volumes/{vol}")).Status);
            Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync("/images/busybox/json")).Status);
            foreach (var dir in new[] { "containers", "images", "volumes", "content" })
                Assert.True(Directory.Exists(Path.Combine(d.DataRoot, dir)), $"{dir} is gone from the data-root");
        }
        finally
        {
            await _api.DeleteAsync($"/volumes/{vol}");
        }
        await _api.AssertAliveAsync();
    }

    private static async Task<string> WriteTarAsync(string path, Action<TarWriter> entries)
    {
        await using (var f = File.Create(path))
        using (var w = new TarWriter(f, TarEntryFormat.Pax))
            entries(w);
        return path;
    }

    private static void AddFile(TarWriter w, string name, string content) =>
        w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)), Mode = (UnixFileMode)0x1A4 });

    /// <summary>
    /// Import only stores the layer; it is unpacked when a container is first made from the image, so both steps run here.
    /// Either step may refuse with a message, or the hostile entries stay inside the layer; in every case nothing
    /// lands on the host and the daemon goes on answering. Returns the create's answer (exit 0 when the layer unpacked).
    /// </summary>
    private async Task<CommandResult> ImportAndUnpackAsync(string tar, string reference, params string[] hostPaths)
    {
        var import = await d.ShellAsync($"/usr/local/bin/docker import - {reference} < {tar}");
        if (import.ExitCode != 0)
        {
            Assert.False(string.IsNullOrWhiteSpace(import.Stderr), import.ToString());
            AssertAbsent(import, hostPaths);
            await _api.AssertAliveAsync();
            return import;
        }
        var name = "u" + reference;
        var create = await d.DockerAsync("create", "--name", name, reference, "/none");
        try
        {
            if (create.ExitCode != 0) Assert.Contains("Error response from daemon", create.Stderr);
            AssertAbsent(create, hostPaths);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
            await d.DockerAsync("rmi", reference);
        }
        await _api.AssertAliveAsync();
        return create;
    }

    private static void AssertAbsent(CommandResult r, string[] hostPaths)
    {
        foreach (var p in hostPaths)
            Assert.False(Path.Exists(p), $"an archive entry was written outside the data-root: {p} exists ({r})");
    }

    [Fact]
    public async Task ImportWithDotDotEntriesStaysInside()
    {
        var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var target = $"/tmp/berth-escape-{tag}";
        var up = string.Concat(Enumerable.Repeat("../", 24));
        var tar = await WriteTarAsync(Path.Combine(d.Root, "dotdot.tar"), w =>
        {
            AddFile(w, "ok.txt", "fine\n");
            AddFile(w, $"../../berth-escape-{tag}", "escaped\n");
            AddFile(w, $"{up}tmp/berth-escape-{tag}", "escaped\n");
            AddFile(w, $"a/{up}tmp/berth-escape-{tag}-nested", "escaped\n");
            AddFile(w, $"/tmp/berth-escape-{tag}-abs", "escaped\n");
        });
        try
        {
            await ImportAndUnpackAsync(tar, $"dotdot{tag}", target, target + "-nested", target + "-abs",
                Path.Combine(Path.GetDirectoryName(d.DataRoot)!, $"berth-escape-{tag}"));
            // Nor anywhere else under the daemon's root: only inside a layer's own tree (snapshots/<id>/fs/...) is fine.
            var stray = Directory.EnumerateFiles(d.Root, $"berth-escape-{tag}*", SearchOption.AllDirectories)
                .Where(p => !System.Text.RegularExpressions.Regex.IsMatch(p, @"/snapshots/\d+/fs/")).ToList();
            Assert.True(stray.Count == 0, $"entries landed outside the layer: {string.Join(", ", stray)}");
        }
        finally
        {
            foreach (var p in new[] { target, target + "-nested", target + "-abs" }) System.IO.File.Delete(p);
        }
    }

    [Fact]
    public async Task ImportWithSymlinkToRootStaysInside()
    {
        var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var target = $"/tmp/berth-symlink-{tag}";
        var tar = await WriteTarAsync(Path.Combine(d.Root, "symlink.tar"), w =>
        {
            w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "root") { LinkName = "/" });
            AddFile(w, $"root/tmp/berth-symlink-{tag}", "escaped\n");
            w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "up") { LinkName = string.Concat(Enumerable.Repeat("../", 24)) + "tmp" });
            AddFile(w, $"up/berth-symlink-{tag}-rel", "escaped\n");
            // A directory symlink followed by a directory entry then a file beneath it.
            w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "d") { LinkName = "/tmp" });
            w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, $"d/berth-symlink-{tag}-dir/") { Mode = (UnixFileMode)0x1ED });
            AddFile(w, $"d/berth-symlink-{tag}-dir/f", "escaped\n");
        });
        try
        {
            var create = await ImportAndUnpackAsync(tar, $"symlink{tag}", target, target + "-rel", target + "-dir");
            Assert.True(create.ExitCode == 0, $"a symlink to / is legal in a layer, the entries under it resolve inside the layer: {create}");
        }
        finally
        {
            foreach (var p in new[] { target, target + "-rel" }) System.IO.File.Delete(p);
            if (Directory.Exists(target + "-dir")) Directory.Delete(target + "-dir", recursive: true);
        }
    }

    [Fact]
    public async Task ImportWithHardlinkOutsideDoesNotLinkHostFiles()
    {
        var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var secret = $"/tmp/berth-secret-{tag}";
        System.IO.File.WriteAllText(secret, "host secret " + tag + "\n");
        var tar = await WriteTarAsync(Path.Combine(d.Root, "hardlink.tar"), w =>
        {
            w.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, "leak") { LinkName = string.Concat(Enumerable.Repeat("../", 24)) + secret.TrimStart('/') });
            w.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, "leak-abs") { LinkName = secret });
        });
        try
        {
            var create = await ImportAndUnpackAsync(tar, $"hardlink{tag}");
            // A hard link to the host file would raise its link count (and hand the container a writable alias of it).
            Assert.True(LinkCount(secret) == 1, $"the host file gained a hard link ({create})");
        }
        finally
        {
            System.IO.File.Delete(secret);
        }
    }

    private static long LinkCount(string path)
    {
        var r = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%h", path]) { RedirectStandardOutput = true })!;
        var s = r.StandardOutput.ReadToEnd();
        r.WaitForExit();
        return long.Parse(s.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
