using Berth.Core;

namespace Berth.Content.Tests;

public sealed class ResumableIngestTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"berth-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static byte[] Data(int n) => Enumerable.Range(0, n).Select(i => (byte)(i * 7 + i / 251)).ToArray();

    [Fact]
    public async Task An_interrupted_write_continues_from_its_offset_in_a_new_store_instance()
    {
        var data = Data(300_000);
        var desc = new Descriptor(MediaTypes.OciLayer, Digest.FromBytes(data), data.Length);
        await using (var first = await new FileContentStore(_root).OpenResumableAsync(desc, CancellationToken.None))
        {
            Assert.Equal(0, first.Offset);
            await first.WriteAsync(data.AsMemory(0, 123_456), CancellationToken.None);
        } // no commit: the attempt failed

        var store = new FileContentStore(_root); // as after a daemon restart
        Assert.False(store.Exists(desc.Digest));
        await using var second = await store.OpenResumableAsync(desc, CancellationToken.None);
        Assert.Equal(123_456, second.Offset);
        await second.WriteAsync(data.AsMemory(123_456), CancellationToken.None);
        var committed = await second.CommitAsync(CancellationToken.None);
        Assert.Equal(desc.Digest, committed.Digest);
        Assert.True(store.Exists(desc.Digest));
        Assert.Equal(data, File.ReadAllBytes(store.BlobPath(desc.Digest)));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, "ingest")));
    }

    [Fact]
    public async Task A_partial_that_is_not_a_prefix_of_the_blob_is_refused_and_dropped()
    {
        var data = Data(50_000);
        var desc = new Descriptor(MediaTypes.OciLayer, Digest.FromBytes(data), data.Length);
        var store = new FileContentStore(_root);
        await using (var w = await store.OpenResumableAsync(desc, CancellationToken.None))
            await w.WriteAsync(new byte[10_000], CancellationToken.None); // wrong bytes
        await using (var w = await store.OpenResumableAsync(desc, CancellationToken.None))
        {
            await w.WriteAsync(data.AsMemory(10_000), CancellationToken.None);
            var e = await Assert.ThrowsAsync<BerthException>(() => w.CommitAsync(CancellationToken.None));
            Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        }
        Assert.False(store.Exists(desc.Digest));
        // The next attempt starts from zero and succeeds.
        await using (var w = await store.OpenResumableAsync(desc, CancellationToken.None))
        {
            Assert.Equal(0, w.Offset);
            await w.WriteAsync(data, CancellationToken.None);
            await w.CommitAsync(CancellationToken.None);
        }
        Assert.True(store.Exists(desc.Digest));
    }

    [Fact]
    public async Task Writing_past_the_size_fails_and_a_second_writer_is_a_conflict()
    {
        var data = Data(1000);
        var desc = new Descriptor(MediaTypes.OciLayer, Digest.FromBytes(data), data.Length);
        var store = new FileContentStore(_root);
        await using var w = await store.OpenResumableAsync(desc, CancellationToken.None);
        var conflict = await Assert.ThrowsAsync<BerthException>(() => store.OpenResumableAsync(desc, CancellationToken.None));
        Assert.Equal(ErrorKind.Conflict, conflict.Kind);
        var tooMuch = await Assert.ThrowsAsync<BerthException>(async () => await w.WriteAsync(new byte[1001], CancellationToken.None));
        Assert.Equal(ErrorKind.InvalidArgument, tooMuch.Kind);
        // Reset drops what was there.
        await w.WriteAsync(new byte[10], CancellationToken.None);
        w.Reset();
        Assert.Equal(0, w.Offset);
        await w.WriteAsync(data, CancellationToken.None);
        await w.CommitAsync(CancellationToken.None);
        Assert.True(store.Exists(desc.Digest));
        // Once closed, the blob can be opened again (and is simply there).
        await using var again = await store.OpenResumableAsync(desc, CancellationToken.None);
    }

    [Fact]
    public async Task Zstd_and_gzip_round_trip_through_CompressTo_and_Decompress()
    {
        var data = Data(200_000);
        foreach (var kind in new[] { LayerCompression.Gzip, LayerCompression.Zstd, LayerCompression.None })
        {
            using var packed = new MemoryStream();
            await using (var z = Compression.CompressTo(packed, kind))
                await z.WriteAsync(data);
            Assert.True(packed.CanWrite, "the output stays open");
            packed.Position = 0;
            var (detected, _) = Compression.Detect(new MemoryStream(packed.ToArray()));
            Assert.Equal(kind, detected);
            using var unpacked = Compression.Decompress(packed);
            using var ms = new MemoryStream();
            await unpacked.CopyToAsync(ms);
            Assert.Equal(data, ms.ToArray());
        }
    }

    [Fact]
    public void PruneIngest_removes_old_leftovers_but_not_live_writes()
    {
        var store = new FileContentStore(_root);
        var old = Path.Combine(_root, "ingest", "stale.partial");
        File.WriteAllText(old, "x");
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddDays(-3));
        var fresh = Path.Combine(_root, "ingest", "fresh.partial");
        File.WriteAllText(fresh, "y");
        store.PruneIngest(TimeSpan.FromDays(1), DateTimeOffset.UtcNow);
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(fresh));
    }
}
