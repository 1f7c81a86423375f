using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;
using Berth.Storage;

namespace Berth.Daemon.Routers;

/// <summary>/volumes/...: the local volume driver.</summary>
internal static class VolumesRouter
{
    public static void Map(WebApplication app, LocalVolumeStore volumes, ContainerService containers)
    {
        app.MapPost("/volumes/create", async (HttpContext ctx) =>
        {
            var req = await HttpJson.ReadAsync(ctx, Wire.Json.VolumeCreateRequest) ?? new VolumeCreateRequest();
            if (req.Driver is not (null or "" or "local"))
                throw BerthException.NotFound($"error looking up volume plugin {req.Driver}: plugin \"{req.Driver}\" not found");
            var v = volumes.Create(string.IsNullOrEmpty(req.Name) ? null : req.Name, req.Labels, req.DriverOpts, anonymous: false);
            containers.Events.Volume("create", v.Name);
            await HttpJson.WriteAsync(ctx, View(v, null), Wire.Json.Volume, 201);
        });

        app.MapGet("/volumes", (HttpContext ctx) =>
        {
            var f = ctx.Request.QueryFilters();
            f.Validate("name", "label", "dangling", "driver");
            if (f.Get("dangling").FirstOrDefault(x => x is not ("true" or "false" or "1" or "0")) is { } bad)
                throw BerthException.Invalid($"invalid filter 'dangling={bad}'");
            var list = volumes.List().Where(v =>
                (!f.Has("name") || f.Get("name").Any(n => v.Name.Contains(n, StringComparison.Ordinal))) &&
                (!f.Has("driver") || f.Get("driver").Contains("local")) &&
                ContainerFilter.LabelsMatch(v.Labels, f.Get("label")) &&
                (!f.Has("dangling") || (f.Get("dangling")[0] is "true" or "1") == (containers.VolumeUsers(v.Name).Count == 0)))
                .Select(v => View(v, null)).ToList();
            return HttpJson.WriteAsync(ctx, new VolumeListResponse { Volumes = list }, Wire.Json.VolumeListResponse);
        });

        app.MapGet("/volumes/{name}", (HttpContext ctx, string name) =>
        {
            var v = volumes.Get(name) ?? throw BerthException.NotFound($"get {name}: no such volume");
            return HttpJson.WriteAsync(ctx, View(v, null), Wire.Json.Volume);
        });

        app.MapDelete("/volumes/{name}", (HttpContext ctx, string name) =>
        {
            var v = volumes.Get(name) ?? throw BerthException.NotFound($"get {name}: no such volume");
            var users = containers.VolumeUsers(v.Name);
            if (users.Count > 0)
                throw BerthException.Conflict($"remove {name}: volume is in use - [{string.Join(", ", users)}]");
            volumes.Remove(v.Name);
            containers.Events.Volume("destroy", v.Name);
            ctx.Response.StatusCode = 204;
            return Task.CompletedTask;
        });

        app.MapPost("/volumes/prune", async (HttpContext ctx) =>
        {
            var f = ctx.Request.QueryFilters();
            f.Validate("label", "label!", "all");
            // Since API 1.42 only anonymous volumes are pruned unless all=true.
            bool all = f.Get("all").FirstOrDefault() is "true" or "1" || ApiVersion.Of(ctx).CompareTo((1, 42)) < 0;
            var deleted = new List<string>();
            long reclaimed = 0;
            foreach (var v in volumes.List())
            {
                if (!all && !v.Anonymous) continue;
                if (containers.VolumeUsers(v.Name).Count > 0) continue;
                if (!ContainerFilter.LabelsMatch(v.Labels, f.Get("label"))) continue;
                if (f.Get("label!").Any(l => ContainerFilter.LabelsMatch(v.Labels, [l]))) continue;
                long size = volumes.Size(v.Name);
                volumes.Remove(v.Name);
                containers.Events.Volume("destroy", v.Name);
                deleted.Add(v.Name);
                reclaimed += size;
            }
            containers.Events.Pruned("volume", reclaimed);
            await HttpJson.WriteAsync(ctx, new VolumePruneReport { VolumesDeleted = deleted.Count > 0 ? deleted : null, SpaceReclaimed = reclaimed }, Wire.Json.VolumePruneReport);
        });
    }

    public static Volume View(VolumeRecord v, VolumeUsageData? usage) => new()
    {
        Name = v.Name,
        Driver = v.Driver,
        Mountpoint = v.Mountpoint,
        CreatedAt = v.CreatedAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
        Labels = v.Labels?.ToDictionary() ?? [],
        Scope = v.Scope,
        Options = v.Options?.ToDictionary() ?? [],
        UsageData = usage,
    };
}
