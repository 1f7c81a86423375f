using Berth.Builder;

namespace Berth.Builder.Tests;

public sealed class CacheMountsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "berth-cachemounts-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly Clock _clock = new(DateTimeOffset.Parse("2026-11-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>One use of cache <paramref name="id"/> that writes <paramref name="bytes"/> bytes into it.</summary>
    private static void Use(CacheMounts store, string id, int bytes)
    {
        using var lease = store.Acquire(id, $"cached mount /c with id \"{id}\"");
        if (!lease.Exists) lease.Create(d => Directory.CreateDirectory(d));
        File.WriteAllBytes(Path.Combine(lease.Path, "data"), new byte[bytes]);
    }

    [Fact]
    public void A_used_cache_is_listed_with_its_size_uses_and_times_and_survives_a_restart()
    {
        var store = new CacheMounts(_root, _clock);
        Use(store, "pip", 100);
        _clock.Now = _clock.Now.AddMinutes(5);
        Use(store, "pip", 300);

        var r = Assert.Single(new CacheMounts(_root, _clock).List());
        Assert.Equal(CacheMounts.NameOf("pip"), r.Id);
        Assert.Equal("cached mount /c with id \"pip\"", r.Description);
        Assert.Equal((300L, 2L, false), (r.Size, r.UsageCount, r.InUse));
        Assert.Equal(_clock.Now.AddMinutes(-5), r.CreatedAt);
        Assert.Equal(_clock.Now, r.LastUsedAt);
    }

    [Fact]
    public void Prune_leaves_a_held_cache_and_removes_the_least_recently_used_first_until_the_space_kept_fits()
    {
        var store = new CacheMounts(_root, _clock);
        foreach (var id in new[] { "old", "middle", "new" })
        {
            Use(store, id, 1000);
            _clock.Now = _clock.Now.AddHours(1);
        }
        using (var held = store.Acquire("old", "held"))
        {
            Assert.True(store.List().Single(r => r.Id == CacheMounts.NameOf("old")).InUse);
            // Keep at most 1500 bytes: "old" is held, so "middle" goes and then the total (2000) still exceeds it, so "new" goes too.
            var removed = BuildCachePruner.Prune([store], new BuildCachePruneOptions { KeepBytes = 1500 }, () => 0);
            Assert.Equal([CacheMounts.NameOf("middle"), CacheMounts.NameOf("new")], removed.Select(r => r.Id));
            Assert.Equal(2000, removed.Sum(r => r.Size));
            Assert.True(Directory.Exists(held.Path));
        }
        Assert.Equal([CacheMounts.NameOf("old")], store.List().Select(r => r.Id));
        Assert.Equal([Path.Combine(_root, CacheMounts.NameOf("old") + ".meta")], Directory.EnumerateFiles(_root, "*.meta"));
    }

    [Fact]
    public void Prune_filters_by_last_use_and_id_prefix()
    {
        var store = new CacheMounts(_root, _clock);
        Use(store, "a", 10);
        _clock.Now = _clock.Now.AddHours(2);
        Use(store, "b", 10);
        Use(store, "c", 10);

        // Unused for an hour: only "a".
        var removed = BuildCachePruner.Prune([store], new BuildCachePruneOptions { UnusedSince = _clock.Now.AddHours(-1) }, () => 0);
        Assert.Equal([CacheMounts.NameOf("a")], removed.Select(r => r.Id));

        var c = CacheMounts.NameOf("c");
        removed = BuildCachePruner.Prune([store], new BuildCachePruneOptions { Ids = [c[..12]] }, () => 0);
        Assert.Equal([c], removed.Select(r => r.Id));
        Assert.Equal([CacheMounts.NameOf("b")], store.List().Select(r => r.Id));
    }

    [Fact]
    public void A_lease_that_finds_the_cache_made_meanwhile_keeps_the_first_and_drops_its_own()
    {
        var store = new CacheMounts(_root, _clock);
        using var first = store.Acquire("x", "first");
        using var second = store.Acquire("x", "second");
        Assert.False(first.Busy);
        Assert.True(second.Busy);
        first.Create(d => { Directory.CreateDirectory(d); File.WriteAllText(Path.Combine(d, "who"), "first"); });
        second.Create(d => { Directory.CreateDirectory(d); File.WriteAllText(Path.Combine(d, "who"), "second"); });
        Assert.Equal("first", File.ReadAllText(Path.Combine(first.Path, "who")));
        Assert.Equal([CacheMounts.NameOf("x")], Directory.EnumerateDirectories(_root).Select(Path.GetFileName));
    }

    [Fact]
    public void Leftovers_of_a_crash_are_removed_at_start_and_never_listed()
    {
        var store = new CacheMounts(_root, _clock);
        Use(store, "kept", 5);
        var kept = CacheMounts.NameOf("kept");
        Directory.CreateDirectory(Path.Combine(_root, kept + ".pruning-0123"));
        Directory.CreateDirectory(Path.Combine(_root, kept + ".new-4567"));
        Assert.Equal([kept], store.List().Select(r => r.Id));

        _ = new CacheMounts(_root, _clock);
        Assert.Equal([kept], Directory.EnumerateDirectories(_root).Select(Path.GetFileName));
    }
}
