using System.Formats.Tar;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Content;
using Berth.Core;

namespace Berth.Images.Tests;

public sealed class ImageArchiveTests : IDisposable
{
    private readonly StoreFixture _f = new();
    private static readonly byte[] RootfsTar = StoreFixture.Tar(("bin/", null), ("bin/hello", "#!/bin/sh\necho hi\n"), ("etc/motd", "welcome"));
    private static readonly byte[] TopTar = StoreFixture.Tar(("etc/motd", "changed"));

    public void Dispose() => _f.Dispose();

    private ImageArchiveWriter Writer => new(_f.Store, _f.Content);
    private ImageArchiveReader Reader => new(_f.Store, _f.Content);

    private static IEnumerable<ImageUse> NoUsers(string _) => [];

    private async Task<byte[]> Save(params string[] names)
    {
        var set = await Writer.PrepareAsync(names, CancellationToken.None);
        var ms = new MemoryStream();
        await Writer.WriteAsync(set, new NonSeekable(ms), CancellationToken.None);
        return ms.ToArray();
    }

    private Task<IReadOnlyList<LoadedImage>> Load(byte[] archive, List<LoadProgress>? progress = null) =>
        Reader.LoadAsync(new NonSeekable(new MemoryStream(archive)), progress is null ? null : p => { progress.Add(p); return ValueTask.CompletedTask; }, CancellationToken.None);

    private static Dictionary<string, byte[]> Entries(byte[] tar)
    {
        var d = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var r = new TarReader(new MemoryStream(tar));
        while (r.GetNextEntry() is { } e)
        {
            if (e.EntryType != TarEntryType.RegularFile) continue;
            var ms = new MemoryStream();
            e.DataStream?.CopyTo(ms);
            d[e.Name] = ms.ToArray();
        }
        return d;
    }

    private static JsonNode Json(byte[] b) => JsonNode.Parse(b)!;

    private (HashSet<Digest> Blobs, string Images) StoreState() =>
        (_f.Content.List().ToHashSet(), string.Join(";", _f.Store.List().Select(i => i.Id + "=" + string.Join(",", i.RepoTags))));

    // ---- save ----

    [Fact]
    public async Task Save_WritesOciLayoutAndDockerManifest_WithBlobsNamedByContent()
    {
        var img = await _f.Import(RootfsTar, "myimg:1");
        var files = Entries(await Save("myimg:1"));

        Assert.Equal("1.0.0", Json(files["oci-layout"])["imageLayoutVersion"]!.ToString());
        foreach (var (name, data) in files.Where(kv => kv.Key.StartsWith("blobs/sha256/", StringComparison.Ordinal)))
            Assert.Equal(name["blobs/sha256/".Length..], Digest.FromBytes(data).Hex);

        var item = Assert.Single(Json(files["manifest.json"]).AsArray())!;
        Assert.Equal($"blobs/sha256/{img.ConfigDigest.Hex}", item["Config"]!.ToString());
        Assert.Equal(["myimg:1"], item["RepoTags"]!.AsArray().Select(x => x!.ToString()));
        Assert.Equal([$"blobs/sha256/{img.Layers[0].Hex}"], item["Layers"]!.AsArray().Select(x => x!.ToString()));

        var desc = Assert.Single(Json(files["index.json"])["manifests"]!.AsArray())!;
        Assert.Equal("docker.io/library/myimg:1", desc["annotations"]!["io.containerd.image.name"]!.ToString());
        Assert.Equal("1", desc["annotations"]!["org.opencontainers.image.ref.name"]!.ToString());
        var manifest = ImageManifest.Parse(files[$"blobs/sha256/{Digest.Parse(desc["digest"]!.ToString()).Hex}"]);
        Assert.Equal(img.ConfigDigest.ToString(), manifest.Config.Digest);
        var layer = Assert.Single(manifest.Layers);
        Assert.Equal(MediaTypes.OciLayer, layer.MediaType);
        Assert.Equal(img.Layers[0].ToString(), layer.Digest);
        Assert.Equal(RootfsTar, files[$"blobs/sha256/{img.Layers[0].Hex}"]);
        Assert.Equal(img.Layers[0].Hex, Json(files["repositories"])["myimg"]!["1"]!.ToString());
    }

    [Fact]
    public async Task Save_ById_HasNoNames_AndByRepository_EveryTag()
    {
        var img = await _f.Import(RootfsTar, "myimg:1");
        _f.Store.Tag("myimg:1", "myimg:2");
        _f.Store.Tag("myimg:1", "other:x");

        var byId = Entries(await Save(img.Id));
        var item = Assert.Single(Json(byId["manifest.json"]).AsArray())!;
        Assert.Null(item["RepoTags"]);
        Assert.Null(Assert.Single(Json(byId["index.json"])["manifests"]!.AsArray())!["annotations"]);
        Assert.False(byId.ContainsKey("repositories"));

        var byRepo = Entries(await Save("myimg"));
        item = Assert.Single(Json(byRepo["manifest.json"]).AsArray())!;
        Assert.Equal(["myimg:1", "myimg:2"], item["RepoTags"]!.AsArray().Select(x => x!.ToString()));
        Assert.Equal(2, Json(byRepo["index.json"])["manifests"]!.AsArray().Count);
    }

    [Fact]
    public async Task Save_SeveralImages_SharedLayerOnce()
    {
        var baseImg = await _f.Import(RootfsTar, "base:1");
        var top = await _f.Store.CommitAsync(baseImg, new MemoryStream(TopTar), new CommitOptions { Tag = "top:1" }, CancellationToken.None);
        var archive = await Save("base:1", "top:1", "base:1");
        int layerEntries = 0;
        using (var r = new TarReader(new MemoryStream(archive)))
            while (r.GetNextEntry() is { } e)
                if (e.Name == $"blobs/sha256/{baseImg.Layers[0].Hex}") layerEntries++;
        Assert.Equal(1, layerEntries);
        var items = Json(Entries(archive)["manifest.json"]).AsArray();
        Assert.Equal(2, items.Count);
        Assert.Equal(2, items[1]!["Layers"]!.AsArray().Count);

        await _f.Store.DeleteAsync("top:1", false, false, NoUsers, CancellationToken.None);
        await _f.Store.DeleteAsync("base:1", false, false, NoUsers, CancellationToken.None);
        Assert.Empty(_f.Content.List());
        var loaded = await Load(archive);
        Assert.Equal([baseImg.Id, top.Id], loaded.Select(l => l.Record.Id));
        Assert.Equal(["top:1"], _f.Store.Resolve("top:1")!.RepoTags);
    }

    [Fact]
    public async Task Save_UnknownName_IsNotFound()
    {
        await _f.Import(RootfsTar, "myimg:1");
        var e = await Assert.ThrowsAsync<BerthException>(() => Writer.PrepareAsync(["myimg:2"], CancellationToken.None));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        e = await Assert.ThrowsAsync<BerthException>(() => Writer.PrepareAsync(["nosuch"], CancellationToken.None));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task Save_CompressedLayer_IsWrittenUncompressed_WithAManifestToMatch()
    {
        var img = await RegisterGzipImage("gz:1");
        var files = Entries(await Save("gz:1"));
        Assert.Equal(RootfsTar, files[$"blobs/sha256/{img.Layers[0].Hex}"]);
        var desc = Assert.Single(Json(files["index.json"])["manifests"]!.AsArray())!;
        var manifest = ImageManifest.Parse(files[$"blobs/sha256/{Digest.Parse(desc["digest"]!.ToString()).Hex}"]);
        var layer = Assert.Single(manifest.Layers);
        Assert.Equal((MediaTypes.OciLayer, img.Layers[0].ToString(), (long)RootfsTar.Length), (layer.MediaType, layer.Digest, layer.Size));
    }

    private async Task<ImageRecord> RegisterGzipImage(string name)
    {
        var gz = StoreFixture.Gzip(RootfsTar);
        var layer = await _f.Content.WriteAsync(new MemoryStream(gz), MediaTypes.OciLayerGzip, null, CancellationToken.None);
        var config = new ImageConfig { RootFs = new RootFs { DiffIds = [Digest.FromBytes(RootfsTar).ToString()] } };
        var cd = _f.Content.WriteBytes(config.ToJsonBytes(), MediaTypes.OciConfig);
        var manifest = new ImageManifest { Config = OciDescriptor.From(cd), Layers = [OciDescriptor.From(layer)] };
        var md = _f.Content.WriteBytes(manifest.ToJsonBytes(), MediaTypes.OciManifest);
        return _f.Store.Register(md.Digest, [ImageReference.Parse(name)]);
    }

    // ---- load ----

    [Fact]
    public async Task Load_RoundTrip_RestoresTheImage_WithProgress()
    {
        var img = await _f.Import(RootfsTar, "myimg:1");
        var archive = await Save("myimg:1");
        await _f.Store.DeleteAsync("myimg:1", false, false, NoUsers, CancellationToken.None);
        Assert.Empty(_f.Content.List());

        var progress = new List<LoadProgress>();
        var loaded = Assert.Single(await Load(StoreFixture.Gzip(archive), progress));
        Assert.Equal(img.Id, loaded.Record.Id);
        Assert.Equal(["myimg:1"], loaded.Names);
        Assert.Equal(["myimg:1"], _f.Store.Resolve("myimg:1")!.RepoTags);
        Assert.Contains(progress, p => p.Id == img.Layers[0].Hex[..12] && p.Current == p.Total && p.Total == RootfsTar.Length);
        // Only what the image uses stays: config, manifest, layer; the archive's JSON files are gone again.
        Assert.Equal(3, _f.Content.List().Count());
        Assert.NotNull(await _f.Store.UnpackAsync(_f.Store.Resolve("myimg:1")!, CancellationToken.None));
    }

    [Fact]
    public async Task Load_ExistingImage_OnlyAddsTheName_AndReportsAMovedTag()
    {
        var img = await _f.Import(RootfsTar, "myimg:1");
        var other = await _f.Import(TopTar, "other:1");
        var archive = await Save("myimg:1");
        _f.Store.Tag("other:1", "myimg:1");
        var before = _f.Content.List().ToHashSet();
        var loaded = Assert.Single(await Load(archive));
        Assert.Equal([("myimg:1", other.Id)], loaded.Replaced);
        Assert.Equal(img.ManifestDigest, loaded.Record.ManifestDigest);
        Assert.Equal(before, _f.Content.List().ToHashSet());
    }

    [Fact]
    public async Task Load_LegacyDockerFormat_WithSymlinkedLayer()
    {
        var diffId = Digest.FromBytes(RootfsTar);
        var config = new ImageConfig { RootFs = new RootFs { DiffIds = [diffId.ToString()] } }.ToJsonBytes();
        var id = Digest.FromBytes(config);
        var archive = Tar(
            F($"{id.Hex}.json", config),
            F($"{diffId.Hex}.tar", RootfsTar),
            Dir("abc/"),
            Link("abc/layer.tar", $"../{diffId.Hex}.tar"),
            F("abc/VERSION", "1.0"u8.ToArray()),
            F("manifest.json", Encoding.UTF8.GetBytes($"[{{\"Config\":\"{id.Hex}.json\",\"RepoTags\":[\"docker.io/legacy/img:v1\"],\"Layers\":[\"abc/layer.tar\"]}}]")),
            F("repositories", "{}"u8.ToArray()));
        var loaded = Assert.Single(await Load(archive));
        Assert.Equal(id.ToString(), loaded.Record.Id);
        Assert.Equal(["legacy/img:v1"], loaded.Record.RepoTags);
        // Sized as its files' bytes at once, as dockerd shows a loaded layer, not as its tar until it is unpacked.
        Assert.Equal([25L], loaded.Record.LayerSizes);
    }

    [Fact]
    public async Task Load_OciLayout_WithGzipLayer_NamedByAnnotation()
    {
        var gz = StoreFixture.Gzip(RootfsTar);
        var config = new ImageConfig { RootFs = new RootFs { DiffIds = [Digest.FromBytes(RootfsTar).ToString()] } }.ToJsonBytes();
        var manifest = new ImageManifest
        {
            Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = Digest.FromBytes(config).ToString(), Size = config.Length },
            Layers = [new OciDescriptor { MediaType = MediaTypes.OciLayerGzip, Digest = Digest.FromBytes(gz).ToString(), Size = gz.Length }],
        }.ToJsonBytes();
        var md = Digest.FromBytes(manifest);
        var index = $"{{\"schemaVersion\":2,\"manifests\":[{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{md}\",\"size\":{manifest.Length},\"annotations\":{{\"org.opencontainers.image.ref.name\":\"oci/img:7\"}}}},"
            + $"{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{md}\",\"size\":{manifest.Length},\"annotations\":{{\"org.opencontainers.image.ref.name\":\"latest\"}}}}]}}";
        // Any order: the index first, blobs after.
        var archive = Tar(
            F("./index.json", Encoding.UTF8.GetBytes(index)),
            F("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray()),
            F(B(gz), gz), F(B(manifest), manifest), F(B(config), config));
        var loaded = Assert.Single(await Load(archive));
        Assert.Equal(["oci/img:7"], loaded.Names);
        Assert.Equal(md, loaded.Record.ManifestDigest);
        Assert.Equal(MediaTypes.OciLayerGzip, Assert.Single(loaded.Record.LayerBlobs).MediaType);
    }

    // ---- bad archives: a clean InvalidArgument, and the store as it was ----

    public static TheoryData<string, string> BadArchives() => new()
    {
        { "traversal", "points outside the archive" },
        { "absolute", "absolute path" },
        { "symlink-escape", "points outside the archive" },
        { "symlink-absolute", "absolute path" },
        { "hardlink-escape", "points outside the archive" },
        { "device", "unsupported type" },
        { "truncated-data", "unexpected EOF" },
        { "truncated-header", "unexpected EOF" },
        { "missing-layer", "is not in the archive" },
        { "missing-config", "is not in the archive" },
        { "oversize-manifest", "larger than" },
        { "diffid-mismatch", "does not match its diff ID" },
        { "blob-name-mismatch", "digest mismatch" },
        { "no-manifest", "neither manifest.json nor index.json" },
        { "garbage", "invalid archive" },
        { "bad-json", "invalid manifest.json" },
    };

    [Theory]
    [MemberData(nameof(BadArchives))]
    public async Task Load_BadArchive_IsRefused_AndLeavesTheStoreUnchanged(string kind, string message)
    {
        await _f.Import(TopTar, "keep:1");
        var good = await GoodArchive();
        var before = StoreState();
        var archive = BadArchive(kind, good);

        var e = await Assert.ThrowsAsync<BerthException>(() => Load(archive));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.StartsWith("invalid", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        var after = StoreState();
        Assert.Equal(before.Images, after.Images);
        Assert.Equal(before.Blobs, after.Blobs);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_f.DataRoot, "content", "ingest")));
        Assert.Equal("untouched", File.ReadAllText(_f.Sentinel));
    }

    /// <summary>A valid archive of an image not in the store, then removed again: its blobs are new to the store.</summary>
    private async Task<byte[]> GoodArchive()
    {
        await _f.Import(RootfsTar, "gone:1");
        var archive = await Save("gone:1");
        await _f.Store.DeleteAsync("gone:1", false, false, NoUsers, CancellationToken.None);
        return archive;
    }

    private static byte[] BadArchive(string kind, byte[] good)
    {
        var files = Entries(good);
        var manifest = Json(files["manifest.json"]).AsArray();
        var config = files[manifest[0]!["Config"]!.ToString()];
        var layerPath = manifest[0]!["Layers"]![0]!.ToString();
        var layer = files[layerPath];
        (string, byte[]) M(string json) => ("manifest.json", Encoding.UTF8.GetBytes(json));
        var cfgPath = manifest[0]!["Config"]!.ToString();
        string Item(string layers) => $"[{{\"Config\":\"{cfgPath}\",\"RepoTags\":[\"bad:1\"],\"Layers\":[{layers}]}}]";
        return kind switch
        {
            "traversal" => Tar(F(cfgPath, config), F("../../evil", "x"u8.ToArray()), F(layerPath, layer), F(M(Item($"\"{layerPath}\"")))),
            "absolute" => Tar(F(cfgPath, config), F(layerPath, layer), F("/manifest.json", Encoding.UTF8.GetBytes(Item($"\"{layerPath}\"")))),
            "symlink-escape" => Tar(F(cfgPath, config), Link("l/layer.tar", "../../../etc/passwd"), F(M(Item("\"l/layer.tar\"")))),
            "symlink-absolute" => Tar(F(cfgPath, config), Link("l/layer.tar", "/etc/passwd"), F(M(Item("\"l/layer.tar\"")))),
            "hardlink-escape" => Tar(F(cfgPath, config), HardLink("l/layer.tar", "../x"), F(M(Item("\"l/layer.tar\"")))),
            "device" => Tar(F(cfgPath, config), F(layerPath, layer), Device("dev/null"), F(M(Item($"\"{layerPath}\"")))),
            "truncated-data" => good[..(good.Length / 2)],
            // Cut 100 bytes into the second entry's header (a tar ends with two zero blocks).
            "truncated-header" => Tar(F(cfgPath, config), F(layerPath, layer))[..(Tar(F(cfgPath, config)).Length - 1024 + 100)],
            "missing-layer" => Tar(F(cfgPath, config), F(M(Item("\"blobs/sha256/" + new string('a', 64) + "\"")))),
            "missing-config" => Tar(F(layerPath, layer), F(M(Item($"\"{layerPath}\"")))),
            "oversize-manifest" => Tar(F(cfgPath, config), F(layerPath, layer), F(M(Item($"\"{layerPath}\"") + new string(' ', ImageStore.MaxDocumentSize)))),
            "diffid-mismatch" => Tar(F(cfgPath, config), F("other.tar", TopTar), F(M(Item("\"other.tar\"")))),
            "blob-name-mismatch" => Tar(F(cfgPath, config), F(layerPath, TopTar), F(M(Item($"\"{layerPath}\"")))),
            "no-manifest" => Tar(F(cfgPath, config), F(layerPath, layer)),
            "garbage" => Encoding.UTF8.GetBytes(new string('x', 2000)),
            "bad-json" => Tar(F(cfgPath, config), F(layerPath, layer), F(M("[{\"Config\": 12"))),
            _ => throw new ArgumentException(kind),
        };
    }

    // ---- tar building ----

    private static string B(byte[] data) => $"blobs/sha256/{Digest.FromBytes(data).Hex}";

    private static TarEntry F(string name, byte[] data) =>
        new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = (UnixFileMode)0b110_100_100 };

    private static TarEntry F((string Name, byte[] Data) f) => F(f.Name, f.Data);

    private static TarEntry Dir(string name) => new PaxTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)0b111_101_101 };

    private static TarEntry Link(string name, string target) => new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target };

    private static TarEntry HardLink(string name, string target) => new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target };

    private static TarEntry Device(string name) => new PaxTarEntry(TarEntryType.CharacterDevice, name) { DeviceMajor = 1, DeviceMinor = 3 };

    private static byte[] Tar(params TarEntry[] entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var e in entries) w.WriteEntry(e);
        return ms.ToArray();
    }

    /// <summary>A request body or response stream: it does not seek.</summary>
    private sealed class NonSeekable(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Flush() => inner.Flush();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
