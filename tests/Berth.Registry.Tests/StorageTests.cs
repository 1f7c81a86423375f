using System.Security.Cryptography;
using System.Text;
using Berth.Core;
using Microsoft.Data.Sqlite;

namespace Berth.Registry.Tests;

/// <summary>A temp storage root under /tmp/berth-regunit-*, removed after the test.</summary>
public sealed class TempRoot : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine("/tmp", $"berth-regunit-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");

    public TempRoot() => Directory.CreateDirectory(Path);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

public sealed class BlobStoreTests : IDisposable
{
    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    private static MemoryStream Bytes(byte[] b) => new(b);

    [Fact]
    public async Task VerifiedUploadMovesIntoTheStore()
    {
        var store = new BlobStore(_root.Path);
        var data = RandomNumberGenerator.GetBytes(5000);
        var id = Guid.NewGuid().ToString("N");
        store.CreateUpload(id);
        Assert.Equal(2000, await store.AppendAsync(id, Bytes(data[..2000]), 2000, default));
        Assert.Equal(5000, await store.AppendAsync(id, Bytes(data[2000..]), null, default));
        var digest = Digest.FromBytes(data);
        Assert.Equal(5000, await store.CommitUploadAsync(id, digest, default));
        Assert.Equal(data, File.ReadAllBytes(store.BlobPath(digest)));
        Assert.StartsWith(Path.Combine(_root.Path, "blobs", "sha256", digest.Hex[..2]), store.BlobPath(digest));
        Assert.False(File.Exists(store.UploadPath(id)));
    }

    [Fact]
    public async Task WrongDigestStoresNothingAndEndsTheUpload()
    {
        var store = new BlobStore(_root.Path);
        var data = Encoding.UTF8.GetBytes("payload");
        var id = Guid.NewGuid().ToString("N");
        store.CreateUpload(id);
        await store.AppendAsync(id, Bytes(data), null, default);
        var wrong = Digest.FromBytes("other"u8);
        var e = await Assert.ThrowsAsync<RegistryException>(() => store.CommitUploadAsync(id, wrong, default));
        Assert.Equal(ErrorCodes.DigestInvalid, e.Code);
        Assert.False(store.Exists(wrong));
        Assert.False(store.Exists(Digest.FromBytes(data)));
        Assert.False(File.Exists(store.UploadPath(id)));
    }

    [Fact]
    public async Task UploadResumedByAnotherInstanceIsHashedFromItsFile()
    {
        var data = RandomNumberGenerator.GetBytes(70_000);
        var id = Guid.NewGuid().ToString("N");
        var first = new BlobStore(_root.Path);
        first.CreateUpload(id);
        await first.AppendAsync(id, Bytes(data[..30_000]), null, default);
        var second = new BlobStore(_root.Path); // a restarted registry: no running hash
        Assert.Equal(30_000, second.UploadSize(id));
        await second.AppendAsync(id, Bytes(data[30_000..]), null, default);
        Assert.Equal(70_000, await second.CommitUploadAsync(id, Digest.FromBytes(data), default));
        Assert.True(second.Exists(Digest.FromBytes(data)));
    }

    [Fact]
    public async Task ShortBodyAddsNothing()
    {
        var store = new BlobStore(_root.Path);
        var id = Guid.NewGuid().ToString("N");
        store.CreateUpload(id);
        await store.AppendAsync(id, Bytes([1, 2, 3]), 3, default);
        var e = await Assert.ThrowsAsync<RegistryException>(() => store.AppendAsync(id, Bytes([4, 5]), 10, default));
        Assert.Equal(ErrorCodes.SizeInvalid, e.Code);
        Assert.Equal(3, store.UploadSize(id));
        await store.AppendAsync(id, Bytes([4]), 1, default);
        Assert.Equal(4, await store.CommitUploadAsync(id, Digest.FromBytes([1, 2, 3, 4]), default));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("ABCDEF0123456789ABCDEF0123456789")]
    [InlineData("short")]
    public void UploadIdsThatAreNotOursAreUnknown(string id)
    {
        var store = new BlobStore(_root.Path);
        Assert.Equal(ErrorCodes.BlobUploadUnknown, Assert.Throws<RegistryException>(() => store.UploadPath(id)).Code);
    }
}

public sealed class MetadataStoreTests : IDisposable
{
    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    private MetadataStore Open() => new(Path.Combine(_root.Path, "registry.db"));

    private static Digest D(string s) => Digest.FromBytes(Encoding.UTF8.GetBytes(s));

    private static ParsedManifest M(string body, params ManifestReference[] refs) =>
        new("application/vnd.oci.image.manifest.v1+json", D(body), body.Length, refs, null, null, null);

    [Fact]
    public void DatabaseIsInWalMode()
    {
        Open();
        using var c = new SqliteConnection($"Data Source={Path.Combine(_root.Path, "registry.db")}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", cmd.ExecuteScalar());
    }

    [Fact]
    public void BlobsAreServedOnlyByRepositoriesTheyAreLinkedTo()
    {
        var m = Open();
        m.LinkBlob("a/b", D("x"), 1);
        Assert.Equal(1, m.LinkedBlobSize("a/b", D("x")));
        Assert.Null(m.LinkedBlobSize("c/d", D("x")));
        Assert.False(m.MountBlob("c/d", "nope", D("x")));
        Assert.True(m.MountBlob("c/d", "a/b", D("x")));
        Assert.Equal(1, m.LinkedBlobSize("c/d", D("x")));
        Assert.True(m.UnlinkBlob("a/b", D("x")));
        Assert.Null(m.LinkedBlobSize("a/b", D("x")));
        Assert.Equal(1, m.LinkedBlobSize("c/d", D("x")));
    }

    [Fact]
    public void ManifestWithMissingReferenceWritesNothing()
    {
        var m = Open();
        m.LinkBlob("r", D("config"), 6);
        var manifest = M("m1", new ManifestReference(D("config"), false), new ManifestReference(D("layer"), false));
        var e = Assert.Throws<RegistryException>(() => m.PutManifest("r", manifest, "v1"));
        Assert.Equal(ErrorCodes.ManifestBlobUnknown, e.Code);
        Assert.Equal(D("layer").ToString(), e.Detail);
        Assert.Null(m.GetManifest("r", "v1"));
        Assert.Null(m.GetManifest("r", manifest.Digest.ToString()));

        m.LinkBlob("r", D("layer"), 5);
        m.PutManifest("r", manifest, "v1");
        Assert.Equal(manifest.Digest, m.GetManifest("r", "v1")!.Digest);

        var index = new ParsedManifest("application/vnd.oci.image.index.v1+json", D("idx"), 3,
            [new ManifestReference(manifest.Digest, true), new ManifestReference(D("absent"), true)], null, null, null);
        Assert.Equal(ErrorCodes.ManifestBlobUnknown, Assert.Throws<RegistryException>(() => m.PutManifest("r", index, "list")).Code);
    }

    [Fact]
    public void TagsPageInLexicalOrderAndDeletingAManifestDropsItsTags()
    {
        var m = Open();
        var man = M("m");
        foreach (var t in new[] { "b", "a", "c", "B" }) m.PutManifest("r", man, t);
        Assert.Equal(["B", "a", "b", "c"], m.ListTags("r", 100, null).Items);
        var (page, more) = m.ListTags("r", 2, "B");
        Assert.Equal(["a", "b"], page);
        Assert.True(more);
        Assert.False(m.ListTags("r", 2, "b").More);
        Assert.True(m.DeleteTag("r", "a"));
        Assert.False(m.DeleteTag("r", "a"));
        Assert.True(m.DeleteManifest("r", man.Digest));
        Assert.Empty(m.ListTags("r", 100, null).Items);
    }

    [Fact]
    public void ReferrersFilterByArtifactType()
    {
        var m = Open();
        var subject = D("subject");
        m.PutManifest("r", M("plain"), null);
        m.PutManifest("r", M("sig") with { Subject = subject, ArtifactType = "application/sig" }, null);
        m.PutManifest("r", M("sbom") with { Subject = subject, ArtifactType = "application/sbom", AnnotationsJson = "{\"a\":\"b\"}" }, null);
        Assert.Equal(2, m.Referrers("r", subject, null).Count);
        var sbom = Assert.Single(m.Referrers("r", subject, "application/sbom"));
        Assert.Equal("{\"a\":\"b\"}", sbom.AnnotationsJson);
        Assert.Empty(m.Referrers("other", subject, null));
    }

    [Fact]
    public void UploadSessionsAndTagsSurviveReopening()
    {
        var m = Open();
        m.CreateUpload("0123456789abcdef0123456789abcdef", "team/app");
        m.PutManifest("team/app", M("m"), "v1");
        SqliteConnection.ClearAllPools();
        var reopened = Open();
        Assert.Equal("team/app", reopened.GetUpload("0123456789abcdef0123456789abcdef")!.Repository);
        Assert.NotNull(reopened.GetManifest("team/app", "v1"));
        Assert.True(reopened.DeleteUpload("0123456789abcdef0123456789abcdef"));
        Assert.Null(reopened.GetUpload("0123456789abcdef0123456789abcdef"));
    }

    [Fact]
    public void CatalogPages()
    {
        var m = Open();
        foreach (var r in new[] { "b/x", "a", "c" }) m.LinkBlob(r, D(r), 1);
        Assert.Equal(["a", "b/x", "c"], m.ListRepositories(10, null).Items);
        var (items, more) = m.ListRepositories(1, "a");
        Assert.Equal(["b/x"], items);
        Assert.True(more);
    }
}
