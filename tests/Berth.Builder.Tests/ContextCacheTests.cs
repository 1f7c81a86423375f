using System.Formats.Tar;
using System.Text;
using Berth.Builder;

namespace Berth.Builder.Tests;

public sealed class ContextCacheTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "berth-contexts-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    /// <summary>A context unpacked into the cache's fresh directory and added under <paramref name="key"/>.</summary>
    private static BuildContext Add(ContextCache cache, string key, string content, long bytes = 100)
    {
        using var tar = new MemoryStream();
        using (var w = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "Dockerfile") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
        }
        tar.Position = 0;
        var unpacked = BuildContext.Extract(tar, cache.NewDir(), CancellationToken.None);
        return cache.Add(key, unpacked, content, bytes);
    }

    [Fact]
    public void A_context_sent_again_is_found_unpacked_with_its_dockerfile()
    {
        var cache = new ContextCache(_root);
        var key = ContextCache.KeyOf(new byte[32], "Dockerfile");
        Assert.Null(cache.TryOpen(key));
        string dir;
        using (var first = Add(cache, key, "FROM busybox\n"))
        {
            dir = first.Dir;
            Assert.Equal("FROM busybox\n", first.ReadText("Dockerfile"));
        }
        var (again, dockerfile) = cache.TryOpen(key)!.Value;
        using (again)
        {
            Assert.Equal(dir, again.Dir);
            Assert.Equal("FROM busybox\n", dockerfile);
        }
        // Disposing a borrowed context twice releases it once, and never deletes it.
        again.Dispose();
        Assert.True(Directory.Exists(dir));
        var item = Assert.Single(cache.List());
        Assert.Equal((key, ContextCache.Type, false, 2L), (item.Id, item.Type, item.InUse, item.UsageCount));
        // Another Dockerfile name is another key.
        Assert.NotEqual(key, ContextCache.KeyOf(new byte[32], "other.Dockerfile"));
    }

    [Fact]
    public void Only_the_newest_few_are_kept_and_one_in_use_is_never_removed()
    {
        var cache = new ContextCache(_root, keep: 2);
        var held = Add(cache, "a", "FROM a\n");
        Add(cache, "b", "FROM b\n").Dispose();
        Add(cache, "c", "FROM c\n").Dispose();
        Add(cache, "d", "FROM d\n").Dispose();
        // "a" is the oldest but still held: it stays on disk until released, while no new build may open it.
        Assert.True(Directory.Exists(held.Dir));
        Assert.Null(cache.TryOpen("a"));
        Assert.Null(cache.TryOpen("b"));
        Assert.Equal(["c", "d"], cache.List().Select(i => i.Id).Order());
        held.Dispose();
        Assert.False(Directory.Exists(held.Dir));
        Assert.Equal(2, Directory.EnumerateDirectories(_root).Count());
    }

    [Fact]
    public void A_context_too_big_to_keep_is_deleted_after_its_build_and_prune_removes_only_unused_ones()
    {
        var cache = new ContextCache(_root, keep: 3, maxBytes: 1000);
        var big = Add(cache, "big", "FROM big\n", bytes: 5000);
        big.Dispose();
        Assert.False(Directory.Exists(big.Dir));
        Assert.Null(cache.TryOpen("big"));

        using var busy = Add(cache, "busy", "FROM busy\n");
        Add(cache, "idle", "FROM idle\n").Dispose();
        var removed = BuildCachePruner.Prune([cache], new BuildCachePruneOptions(), () => 0);
        Assert.Equal(["idle"], removed.Select(r => r.Id));
        Assert.Equal(["busy"], cache.List().Select(i => i.Id));
        Assert.True(Directory.Exists(busy.Dir));
    }

    [Fact]
    public void What_a_previous_daemon_left_is_removed_at_start()
    {
        Directory.CreateDirectory(Path.Combine(_root, "leftover", "x"));
        var cache = new ContextCache(_root);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
        Assert.Empty(cache.List());
    }
}
