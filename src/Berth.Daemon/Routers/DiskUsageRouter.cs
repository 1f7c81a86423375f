using Berth.Api;
using Berth.Builder;
using Berth.Core;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;
using Berth.Images;
using Berth.Storage;

namespace Berth.Daemon.Routers;

/// <summary>
/// GET /system/df (docker system df) and POST /build/prune (docker builder prune). The build cache that is not
/// images (the legacy builder's step cache is images, as dockerd's) is every <see cref="IBuildCacheStore"/>: the
/// <c>RUN --mount=type=cache</c> directories (BuildKit's <c>exec.cachemount</c> records) and the unpacked contexts kept
/// for rebuilds (<c>source.local</c>).
/// </summary>
internal static class DiskUsageRouter
{
    public static void Map(WebApplication app, ImageStore images, LocalVolumeStore volumes, ContainerService containers, IReadOnlyList<IBuildCacheStore> buildCaches, string dataRoot,
        Func<string> bridgeNetworkId, Func<ContainerRecord, (long? Rw, long? RootFs)> sizes)
    {
        app.MapGet("/system/df", (HttpContext ctx) =>
        {
            var (wantContainers, wantImages, wantVolumes, wantBuildCache) = Types(ctx);
            var usage = new SystemDataUsageResponse { BuildCache = wantBuildCache ? [.. buildCaches.SelectMany(c => c.List()).OrderByDescending(r => r.LastUsedAt).Select(Record)] : null };
            if (wantImages)
            {
                var (layersSize, list) = ImageUsage(images, containers);
                usage = usage with { LayersSize = layersSize, Images = list };
            }
            if (wantContainers)
            {
                var now = DateTimeOffset.UtcNow;
                usage = usage with
                {
                    Containers = containers.All.Select(c => c.Record).OrderByDescending(r => r.Created).Select(r =>
                    {
                        var (rw, rootfs) = sizes(r);
                        return ContainerViews.Summary(r, bridgeNetworkId(), now, rw, rootfs);
                    }).ToList(),
                };
            }
            if (wantVolumes)
            {
                usage = usage with
                {
                    Volumes = volumes.List().Select(v => VolumesRouter.View(v, new VolumeUsageData
                    {
                        Size = SafeSize(volumes, v.Name),
                        RefCount = containers.VolumeUsers(v.Name).Count,
                    })).ToList(),
                };
            }
            return HttpJson.WriteAsync(ctx, usage, Wire.Json.SystemDataUsageResponse);
        });

        app.MapPost("/build/prune", async (HttpContext ctx) =>
        {
            var f = ctx.Request.QueryFilters();
            f.Validate("until", "id", "parent", "type", "description", "inuse", "shared", "private", "unused-for", "unused_for", "label", "label!");
            var q = ctx.Request;
            // As dockerd (builder-next's prune filters): one value per filter, and until or unused-for, not both.
            foreach (var key in f.Keys)
                if (f.Get(key).Count > 1) throw BerthException.Invalid($"filters expect only one value per key: {key}");
            var ages = f.Get("until").Concat(f.Get("unused-for")).Concat(f.Get("unused_for")).ToList();
            if (ages.Count > 1) throw BerthException.Invalid("conflicting filters: \"until\" and \"unused-for\"");
            long? Bytes(params string[] names) =>
                names.Select(n => q.QueryLong(n)).Where(v => v > 0).Select(v => (long?)v).FirstOrDefault();
            // Every record is unshared, with no parent and no labels: those terms select none.
            bool none = f.Has("parent") || f.Has("inuse") || f.Has("shared") || f.Has("label");
            var options = new BuildCachePruneOptions
            {
                Types = f.Get("type"),
                // "0" is the epoch: nothing is older.
                UnusedSince = ages.Count == 0 ? null : TimeParam.Parse(ages[0]) ?? DateTimeOffset.UnixEpoch,
                Ids = f.Get("id"),
                Descriptions = f.Get("description"),
                KeepBytes = Bytes("reserved-space", "keep-storage", "max-used-space"),
                MinFreeBytes = Bytes("min-free-space"),
            };
            var removed = none ? [] : await Task.Run(() => BuildCachePruner.Prune(buildCaches, options, () => FreeBytes(dataRoot)));
            await HttpJson.WriteAsync(ctx, new BuildCachePruneReport
            {
                CachesDeleted = [.. removed.Select(r => r.Id)],
                SpaceReclaimed = removed.Sum(r => r.Size),
            }, Wire.Json.BuildCachePruneReport);
        });
    }

    private static long FreeBytes(string dir)
    {
        try { return new DriveInfo(dir).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or ArgumentException) { return long.MaxValue; }
    }

    private static BuildCacheRecord Record(BuildCacheItem r) => new()
    {
        ID = r.Id,
        Type = r.Type,
        Description = r.Description,
        InUse = r.InUse,
        Shared = false,
        Size = r.Size,
        CreatedAt = r.CreatedAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        LastUsedAt = r.LastUsedAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        UsageCount = r.UsageCount,
    };

    // dockerd: every type unless the request names some (API 1.42 and later); an unknown one is a bad request.
    private static (bool Containers, bool Images, bool Volumes, bool BuildCache) Types(HttpContext ctx)
    {
        var types = ctx.Request.Query["type"];
        if (types.Count == 0 || ApiVersion.Of(ctx).CompareTo((1, 42)) < 0) return (true, true, true, true);
        bool c = false, i = false, v = false, b = false;
        foreach (var t in types)
        {
            switch (t)
            {
                case "container": c = true; break;
                case "image": i = true; break;
                case "volume": v = true; break;
                case "build-cache": b = true; break;
                default: throw BerthException.Invalid($"unknown object type: {t}");
            }
        }
        return (c, i, v, b);
    }

    /// <summary>
    /// Images with what dockerd's df adds: how many containers use each, and SharedSize, the bytes of its layers that
    /// other images use too. LayersSize counts every distinct layer once.
    /// </summary>
    internal static (long LayersSize, List<ImageSummary> Images) ImageUsage(ImageStore images, ContainerService containers)
    {
        var all = images.List();
        var layerSize = new Dictionary<string, long>(StringComparer.Ordinal);
        var layerUsers = new Dictionary<string, int>(StringComparer.Ordinal);
        var chainsOf = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var img in all)
        {
            var chains = ImageStore.ChainIds(img.Layers);
            chainsOf[img.Id] = chains;
            for (int k = 0; k < chains.Count; k++)
            {
                layerSize[chains[k]] = k < img.LayerSizes.Count ? img.LayerSizes[k] : 0;
                // Shared among the images listed: an image shares its lower layers with its own step images.
                if (!img.IsIntermediate) layerUsers[chains[k]] = layerUsers.GetValueOrDefault(chains[k]) + 1;
            }
        }
        var users = containers.All.GroupBy(c => c.Record.ImageId).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        // As dockerd's df (images without all=1): the builder's intermediate images are not listed; their layers count.
        var list = all.Where(i => !i.IsIntermediate)
            .OrderByDescending(i => i.Created).Select(img => new ImageSummary
        {
            Id = img.Id,
            ParentId = img.Parent ?? "",
            RepoTags = img.RepoTags,
            RepoDigests = img.RepoDigests,
            Created = img.Created?.ToUnixTimeSeconds() ?? 0,
            Size = img.Size,
            SharedSize = chainsOf[img.Id].Where(ch => layerUsers.GetValueOrDefault(ch) > 1).Sum(ch => layerSize[ch]),
            Labels = img.Labels.ToDictionary(),
            Containers = users.GetValueOrDefault(img.Id),
        }).ToList();
        return (layerSize.Values.Sum(), list);
    }

    private static long SafeSize(LocalVolumeStore volumes, string name)
    {
        try { return volumes.Size(name); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BerthException) { return -1; }
    }
}
