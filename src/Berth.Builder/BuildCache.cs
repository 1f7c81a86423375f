namespace Berth.Builder;

/// <summary>
/// One build-cache record as <c>docker system df</c> lists it: BuildKit's record types, which is what the builder keeps
/// besides images (the legacy builder's step cache is images): cache mounts (<c>exec.cachemount</c>) and unpacked
/// contexts (<c>source.local</c>).
/// </summary>
public sealed record BuildCacheItem(string Id, string Type, string Description, bool InUse, long Size,
    DateTimeOffset CreatedAt, DateTimeOffset LastUsedAt, long UsageCount);

/// <summary>A kind of build cache that <c>docker system df</c> lists and <c>docker builder prune</c> empties.</summary>
public interface IBuildCacheStore
{
    List<BuildCacheItem> List();

    /// <summary>Removes record <paramref name="id"/> unless a build uses it; false when it stays.</summary>
    bool TryRemove(string id);
}

/// <summary>What <c>docker builder prune</c> asks for, translated from its query.</summary>
public sealed record BuildCachePruneOptions
{
    /// <summary>Only records of these types (<c>type</c>); empty: any.</summary>
    public IReadOnlyList<string> Types { get; init; } = [];

    /// <summary>Only records last used before this (<c>until</c>, <c>unused-for</c>).</summary>
    public DateTimeOffset? UnusedSince { get; init; }

    /// <summary>Only records whose ID starts with one of these (<c>id</c>); empty: any.</summary>
    public IReadOnlyList<string> Ids { get; init; } = [];

    /// <summary>Only records whose description is one of these (<c>description</c>); empty: any.</summary>
    public IReadOnlyList<string> Descriptions { get; init; } = [];

    /// <summary>Stop once the records left take no more than this many bytes (<c>reserved-space</c>, <c>keep-storage</c>, <c>max-used-space</c>).</summary>
    public long? KeepBytes { get; init; }

    /// <summary>Stop once the file system has this many bytes free (<c>min-free-space</c>).</summary>
    public long? MinFreeBytes { get; init; }
}

/// <summary><c>docker builder prune</c> over every build-cache store: least recently used first, in-use records kept.</summary>
public static class BuildCachePruner
{
    public static List<BuildCacheItem> Prune(IReadOnlyList<IBuildCacheStore> stores, BuildCachePruneOptions options, Func<long> freeBytes)
    {
        var all = stores.SelectMany(s => s.List().Select(r => (Store: s, Item: r))).OrderBy(x => x.Item.LastUsedAt).ToList();
        long kept = all.Sum(x => x.Item.Size);
        var removed = new List<BuildCacheItem>();
        foreach (var (store, r) in all)
        {
            if (options.KeepBytes is { } keep && kept <= keep) break;
            if (options.MinFreeBytes is { } free && freeBytes() >= free) break;
            if (r.InUse) continue;
            if (options.Types.Count > 0 && !options.Types.Contains(r.Type, StringComparer.Ordinal)) continue;
            if (options.UnusedSince is { } since && r.LastUsedAt >= since) continue;
            if (options.Ids.Count > 0 && !options.Ids.Any(i => r.Id.StartsWith(i, StringComparison.Ordinal))) continue;
            if (options.Descriptions.Count > 0 && !options.Descriptions.Contains(r.Description, StringComparer.Ordinal)) continue;
            if (!store.TryRemove(r.Id)) continue;
            kept -= r.Size;
            removed.Add(r);
        }
        return removed;
    }
}
