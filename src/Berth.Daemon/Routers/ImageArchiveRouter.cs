using System.Globalization;
using System.Text.Json;
using Berth.Api;
using Berth.Core;
using Berth.Daemon.Events;
using Berth.Daemon.Http;
using Berth.Images;

namespace Berth.Daemon.Routers;

/// <summary>
/// <c>docker save</c> (<c>GET /images/get?names=…</c>, <c>GET /images/{name}/get</c>): the archive streamed as the
/// answer; <c>docker load</c> (<c>POST /images/load</c>): the archive as the body, a JSON-message stream back.
/// </summary>
internal static class ImageArchiveRouter
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/images/get", (HttpContext ctx) =>
            SaveAsync(ctx, ctx.Request.Query["names"].Where(n => !string.IsNullOrEmpty(n)).Select(n => n!).ToList()));
        app.MapPost("/images/load", LoadAsync);
    }

    /// <summary>Streams the archive of <paramref name="names"/>; unknown names are a 404 before anything is sent.</summary>
    public static async Task SaveAsync(HttpContext ctx, IReadOnlyList<string> names)
    {
        var writer = ctx.RequestServices.GetRequiredService<ImageArchiveWriter>();
        var ct = ctx.RequestAborted;
        var set = await writer.PrepareAsync(names, ct);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/x-tar";
        try
        {
            await writer.WriteAsync(set, ctx.Response.Body, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // The tar has started: a clean end would pass a torn archive off as whole, so the connection is cut instead.
            ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Berth.Api").LogError(e, "image save failed mid-stream");
            ctx.Abort();
            return;
        }
        var events = ctx.RequestServices.GetRequiredService<EventBus>();
        foreach (var img in set.Records) events.Image("save", img.Id, img.Id, img.Labels);
    }

    private static async Task LoadAsync(HttpContext ctx)
    {
        var reader = ctx.RequestServices.GetRequiredService<ImageArchiveReader>();
        var events = ctx.RequestServices.GetRequiredService<EventBus>();
        bool quiet = ctx.Request.QueryBool("quiet");
        var ct = ctx.RequestAborted;
        var stream = new JsonMessageStream(ctx);
        // The answer starts with the first message: a failure before it is an ordinary 4xx/5xx JSON error.
        ValueTask Send(JsonMessage m) => new(stream.SendAsync(m, ct));

        IReadOnlyList<LoadedImage> loaded;
        try
        {
            loaded = await reader.LoadAsync(ctx.Request.Body, quiet ? null : p => Send(Progress(p)), ct);
        }
        catch (Exception e) when (stream.Started && !ct.IsCancellationRequested)
        {
            await Send(JsonMessageStream.Error(e is BerthException ? e.Message : $"load failed: {e.Message}"));
            return;
        }
        foreach (var img in loaded)
        {
            events.Image("load", img.Record.Id, img.Record.Id, img.Record.Labels);
            foreach (var (name, oldId) in img.Replaced)
                await Send(new JsonMessage { Stream = $"The image {name} already exists, renaming the old one with ID {oldId} to empty string\n" });
            foreach (var name in img.Names)
            {
                await Send(new JsonMessage { Stream = $"Loaded image: {name}\n" });
            }
            if (img.Names.Count == 0) await Send(new JsonMessage { Stream = $"Loaded image ID: {img.Record.Id}\n" });
        }
    }

    private static JsonMessage Progress(LoadProgress p) => JsonMessageStream.Status(p.Id, "Loading layer", p.Current, p.Total);
}
