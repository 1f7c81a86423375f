using System.Text;
using Berth.Core;

namespace Berth.Content.Tests;

public sealed class FileContentStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"berth-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task WriteAsync_StoresByDigest_AndVerifiesExpected()
    {
        var store = new FileContentStore(_root);
        var data = Encoding.UTF8.GetBytes("hello berth");
        var expected = Digest.FromBytes(data);
        var d = await store.WriteAsync(new MemoryStream(data), MediaTypes.OciLayer, expected, CancellationToken.None);
        Assert.Equal(expected, d.Digest);
        Assert.Equal(data.Length, d.Size);
        Assert.True(File.Exists(Path.Combine(_root, "blobs", "sha256", expected.Hex)));
        Assert.True(store.Exists(expected));
        Assert.Equal(data.Length, store.Size(expected));
        using (var s = store.OpenRead(expected))
        using (var r = new StreamReader(s))
            Assert.Equal("hello berth", r.ReadToEnd());
        Assert.Contains(expected, store.List());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_root, "ingest")));
    }

    [Fact]
    public async Task WriteAsync_DigestMismatch_LeavesStoreUnchanged()
    {
        var store = new FileContentStore(_root);
        var wrong = Digest.FromBytes("something else"u8);
        var ex = await Assert.ThrowsAsync<BerthException>(() =>
            store.WriteAsync(new MemoryStream("hello"u8.ToArray()), MediaTypes.OciLayer, wrong, CancellationToken.None));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("mismatch", ex.Message);
        Assert.Empty(store.List());
        Assert.False(store.Exists(Digest.FromBytes("hello"u8)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_root, "ingest")));
    }

    [Fact]
    public void WriteBytes_Delete_NotFound()
    {
        var store = new FileContentStore(_root);
        var d = store.WriteBytes("{}"u8, MediaTypes.OciEmpty);
        Assert.Equal(Digest.FromBytes("{}"u8), d.Digest);
        Assert.True(store.Exists(d.Digest));
        store.Delete(d.Digest);
        store.Delete(d.Digest);
        Assert.False(store.Exists(d.Digest));
        var ex = Assert.Throws<BerthException>(() => store.OpenRead(d.Digest));
        Assert.Equal(ErrorKind.NotFound, ex.Kind);
    }
}
