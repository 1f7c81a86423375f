using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;
using Berth.Daemon.Events;
using Berth.Daemon.Http;
using Berth.Images;

namespace Berth.Daemon.Routers;

/// <summary>/images/...: import, list, inspect, history, tag, delete, prune. Names may contain slashes, so one catch-all route dispatches by suffix.</summary>
internal static class ImagesRouter
{
    public static void Map(WebApplication app, ImageStore images, ContainerService containers, string spoolDir)
    {
        app.MapPost("/images/create", (HttpContext ctx) => CreateAsync(ctx, images, spoolDir));

        app.MapGet("/images/json", (HttpContext ctx) =>
        {
            var filters = ctx.Request.QueryFilters();
            filters.Validate("reference", "dangling", "label", "before", "since", "until");
            bool all = ctx.Request.QueryBool("all");
            var version = ApiVersion.Of(ctx);
            // dockerd counts the containers only from API 1.51 on (-1 before), and named untagged images
            // <none>:<none> before 1.43.
            bool count = version.CompareTo((1, 51)) >= 0, none = version.CompareTo((1, 43)) < 0;
            var list = ImageViews.List(images, filters, all, id => count ? containers.All.Count(c => c.Record.ImageId == id) : -1);
            if (none)
                list = list.Select(i => i.RepoTags.Count == 0 && i.RepoDigests.Count == 0 ? i with { RepoTags = ["<none>:<none>"], RepoDigests = ["<none>@<none>"] } : i).ToList();
            return HttpJson.WriteAsync(ctx, list, Wire.Json.ListImageSummary);
        });

        app.MapPost("/images/prune", async (HttpContext ctx) =>
        {
            var filters = ctx.Request.QueryFilters();
            filters.Validate("dangling", "label", "label!", "until");
            bool danglingOnly = !(filters.Get("dangling").FirstOrDefault() is "false" or "0");
            var before = images.List();
            var result = await images.PruneAsync(new PruneOptions
            {
                DanglingOnly = danglingOnly,
                Labels = filters.Get("label"),
                NotLabels = filters.Get("label!"),
                Until = filters.Get("until").Select(u => TimeParam.Parse(u)).FirstOrDefault(),
            }, id => containers.ImageInUse(id, out _), ctx.RequestAborted);
            ImageEvents.Removed(containers.Events, before, result.Deleted);
            containers.Events.Pruned("image", result.SpaceReclaimed);
            await HttpJson.WriteAsync(ctx, new ImagePruneReport { ImagesDeleted = result.Deleted.Count > 0 ? Items(result.Deleted) : null, SpaceReclaimed = result.SpaceReclaimed }, Wire.Json.ImagePruneReport);
        });

        app.MapMethods("/images/{**rest}", ["GET", "POST", "DELETE"], (HttpContext ctx, string rest) =>
        {
            var method = ctx.Request.Method;
            if (method == "DELETE") return DeleteAsync(ctx, images, containers, rest);
            int slash = rest.LastIndexOf('/');
            if (slash <= 0) return HttpJson.WriteErrorAsync(ctx, 404, "page not found");
            var name = rest[..slash];
            return (method, rest[(slash + 1)..]) switch
            {
                ("GET", "json") => HttpJson.WriteAsync(ctx, ImageViews.Inspect(images, Resolve(images, name), ApiVersion.Of(ctx)), Wire.Json.ImageInspectResponse),
                ("GET", "history") => HttpJson.WriteAsync(ctx, ImageViews.History(images, Resolve(images, name)), Wire.Json.ListImageHistoryItem),
                ("POST", "tag") => TagAsync(ctx, images, name, containers.Events),
                ("POST", "push") => DistributionRouter.PushAsync(ctx, name),
                ("GET", "get") => ImageArchiveRouter.SaveAsync(ctx, [name]),
                _ => HttpJson.WriteErrorAsync(ctx, 404, "page not found"),
            };
        });
    }

    private static ImageRecord Resolve(ImageStore images, string name) =>
        images.Resolve(name) ?? throw BerthException.NotFound($"No such image: {name}");

    private static Task TagAsync(HttpContext ctx, ImageStore images, string name, EventBus events)
    {
        var repo = ctx.Request.QueryString("repo") ?? throw BerthException.Invalid("repository name must have at least one component");
        var tag = ctx.Request.QueryString("tag");
        Resolve(images, name);
        images.Tag(name, tag is null ? repo : $"{repo}:{tag}");
        ImageEvents.Tagged(events, Resolve(images, name), tag is null ? repo : $"{repo}:{tag}");
        ctx.Response.StatusCode = 201;
        return Task.CompletedTask;
    }

    private static async Task DeleteAsync(HttpContext ctx, ImageStore images, ContainerService containers, string name)
    {
        bool force = ctx.Request.QueryBool("force"), noprune = ctx.Request.QueryBool("noprune");
        var before = images.List();
        var result = await images.DeleteAsync(name, force, noprune,
            id => containers.All.Where(c => c.Record.ImageId == id).Select(c => new ImageUse(c.Id, c.Record.IsRunning)), ctx.RequestAborted);
        ImageEvents.Removed(containers.Events, before, result);
        var items = Items(result);
        await HttpJson.WriteAsync(ctx, items, Wire.Json.ListImageDeleteResponseItem);
    }

    private static List<ImageDeleteResponseItem> Items(IEnumerable<ImageDeleteItem> items) =>
        items.Select(x => x.Kind == ImageDeleteItem.Untagged ? new ImageDeleteResponseItem { Untagged = x.Value } : new ImageDeleteResponseItem { Deleted = x.Value }).ToList();

    /// <summary>POST /images/create: <c>fromImage</c> pulls from a registry; <c>fromSrc=-</c> imports the body (docker import).</summary>
    private static async Task CreateAsync(HttpContext ctx, ImageStore images, string spoolDir)
    {
        var q = ctx.Request;
        var fromSrc = q.QueryString("fromSrc");
        var fromImage = q.QueryString("fromImage");
        if (fromSrc is null)
        {
            if (fromImage is null) throw BerthException.Invalid("either fromSrc or fromImage must be set");
            await DistributionRouter.PullAsync(ctx, fromImage);
            return;
        }
        if (fromSrc != "-") throw BerthException.Invalid("importing from a URL is not supported: use fromSrc=- with the archive in the body");
        var repo = q.QueryString("repo");
        var tag = q.QueryString("tag");
        string? reference = repo is null ? null : tag is null ? repo : $"{repo}:{tag}";
        var changes = q.Query["changes"].Where(s => !string.IsNullOrEmpty(s)).Select(s => s!).ToList();

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ImageRecord img;
        // The archive is spooled to disk first: the tar reader is synchronous and Kestrel's body is not.
        var spool = Path.Combine(spoolDir, $"import-{Guid.NewGuid():N}");
        Directory.CreateDirectory(spoolDir);
        try
        {
            await using (var f = new FileStream(spool, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                await ctx.Request.Body.CopyToAsync(f, ctx.RequestAborted);
            await using var archive = new FileStream(spool, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.DeleteOnClose);
            img = await images.ImportAsync(archive, new ImportOptions
            {
                Tag = reference,
                Changes = changes,
                Message = q.QueryString("message"),
                Platform = q.QueryString("platform"),
            }, ctx.RequestAborted);
        }
        finally
        {
            File.Delete(spool);
        }
        var events = ctx.RequestServices.GetRequiredService<EventBus>();
        events.Image("import", img.Id, img.Id, img.Labels);
        if (reference is not null) ImageEvents.Tagged(events, img, reference);
        // Only the status field, as dockerd writes it (JsonMessage leaves out what is not set).
        await new JsonMessageStream(ctx).SendAsync(new JsonMessage { Status = img.Id }, ctx.RequestAborted);
    }
}
