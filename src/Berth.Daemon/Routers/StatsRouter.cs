using System.Text.Json;
using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;

namespace Berth.Daemon.Routers;

/// <summary>/containers/{id}/stats, /pause, /unpause and /update: a container's resources while it runs.</summary>
internal static class StatsRouter
{
    public static void Map(WebApplication app, ContainerService svc)
    {
        app.MapGet("/containers/{id}/stats", async (HttpContext ctx, string id) =>
        {
            var c = svc.Get(id);
            bool stream = ctx.Request.QueryBool("stream", dflt: true);
            bool oneShot = ctx.Request.QueryBool("one-shot");
            if (stream && oneShot) throw BerthException.Invalid("cannot have stream=true and one-shot=true");
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.StartAsync(ctx.RequestAborted);
            var body = ctx.Response.Body;
            try
            {
                await svc.StreamStatsAsync(c, stream, oneShot,
                    sample => HttpJson.WriteLineAsync(body, sample, Wire.Json.ContainerStatsResponse, ctx.RequestAborted), ctx.RequestAborted);
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { /* the client went away */ }
            catch (IOException) { /* the client went away */ }
        });

        app.MapPost("/containers/{id}/pause", async (HttpContext ctx, string id) =>
        {
            await svc.PauseAsync(id, ctx.RequestAborted);
            ctx.Response.StatusCode = 204;
        });

        app.MapPost("/containers/{id}/unpause", async (HttpContext ctx, string id) =>
        {
            await svc.UnpauseAsync(id, ctx.RequestAborted);
            ctx.Response.StatusCode = 204;
        });

        app.MapPost("/containers/{id}/update", async (HttpContext ctx, string id) =>
        {
            svc.Get(id);
            var req = await HttpJson.ReadAsync(ctx, Wire.Json.ContainerUpdateRequest)
                ?? throw BerthException.Invalid("update: the request body must be a JSON object of resources");
            var res = await svc.UpdateAsync(id, req, ctx.RequestAborted);
            await HttpJson.WriteAsync(ctx, res, Wire.Json.ContainerUpdateResponse);
        });
    }
}
