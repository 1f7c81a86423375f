using System.Globalization;
using System.Text;
using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;
using Berth.Runtime.Logs;

namespace Berth.Daemon.Routers;

/// <summary>/containers/...: lifecycle, inspect and list, attach, logs, top.</summary>
internal static class ContainersRouter
{
    public static void Map(WebApplication app, ContainerService svc, Func<string> bridgeNetworkId, Func<ContainerRecord, (long? Rw, long? RootFs)> sizes)
    {
        app.MapPost("/containers/create", async (HttpContext ctx) =>
        {
            var req = await HttpJson.ReadAsync(ctx, Wire.Json.ContainerCreateRequest)
                ?? throw BerthException.Invalid("config cannot be empty in order to create a container");
            var res = await svc.CreateAsync(req, ctx.Request.QueryString("name"), ctx.RequestAborted);
            await HttpJson.WriteAsync(ctx, res, Wire.Json.ContainerCreateResponse, 201);
        });

        app.MapGet("/containers/json", (HttpContext ctx) =>
        {
            var q = ctx.Request;
            var filters = q.QueryFilters();
            filters.Validate("id", "name", "label", "status", "ancestor", "exited", "before", "since", "volume", "network", "health", "isolation", "is-task", "publish", "expose");
            bool all = q.QueryBool("all");
            int limit = q.QueryInt("limit") ?? -1;
            if (q.QueryBool("latest") ) limit = 1;
            bool size = q.QueryBool("size");
            var now = DateTimeOffset.UtcNow;
            var list = ContainerFilter.Apply(svc, filters, all || limit > 0)
                .OrderByDescending(r => r.Created)
                .Take(limit > 0 ? limit : int.MaxValue)
                .Select(r =>
                {
                    var (rw, rootfs) = size ? sizes(r) : (null, null);
                    return ContainerViews.Summary(r, bridgeNetworkId(), now, rw, rootfs);
                })
                .ToList();
            return HttpJson.WriteAsync(ctx, list, Wire.Json.ListContainerSummary);
        });

        app.MapGet("/containers/{id}/json", (HttpContext ctx, string id) =>
        {
            var r = svc.Get(id).Record;
            var (rw, rootfs) = ctx.Request.QueryBool("size") ? sizes(r) : (null, null);
            return HttpJson.WriteAsync(ctx, ContainerViews.Inspect(r, svc.Paths, bridgeNetworkId(), rw, rootfs) with { ExecIDs = svc.ExecIds(r.Id) }, Wire.Json.ContainerInspectResponse);
        });

        app.MapPost("/containers/{id}/start", async (HttpContext ctx, string id) =>
        {
            await svc.StartAsync(id, ctx.RequestAborted);
            ctx.Response.StatusCode = 204;
        });
        app.MapPost("/containers/{id}/stop", async (HttpContext ctx, string id) =>
        {
            await svc.StopAsync(id, ctx.Request.QueryInt("t"), ctx.Request.QueryString("signal"), ctx.RequestAborted);
            ctx.Response.StatusCode = 204;
        });
        app.MapPost("/containers/{id}/restart", async (HttpContext ctx, string id) =>
        {
            await svc.RestartAsync(id, ctx.Request.QueryInt("t"), ctx.Request.QueryString("signal"), ctx.RequestAborted);
            ctx.Response.StatusCode = 204;
        });
        app.MapPost("/containers/{id}/kill", async (HttpContext ctx, string id) =>
        {
            await svc.KillAsync(id, ctx.Request.QueryString("signal"), ctx.RequestAborted);
            ctx.Response.StatusCode = 204;
        });
        app.MapPost("/containers/{id}/rename", (HttpContext ctx, string id) =>
        {
            svc.Rename(id, ctx.Request.QueryString("name") ?? "");
            ctx.Response.StatusCode = 204;
            return Task.CompletedTask;
        });
        app.MapDelete("/containers/{id}", async (HttpContext ctx, string id) =>
        {
            await svc.RemoveAsync(id, ctx.Request.QueryBool("force"), ctx.Request.QueryBool("v"), ctx.RequestAborted);
            ctx.Response.StatusCode = 204;
        });

        app.MapPost("/containers/{id}/wait", async (HttpContext ctx, string id) =>
        {
            var c = svc.Get(id);
            var condition = ctx.Request.QueryString("condition") ?? "not-running";
            var wait = svc.WaitAsync(c, condition, ctx.RequestAborted);
            // Like dockerd: headers go out at once, so a client can start the container while it waits.
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            int code = await wait;
            await ctx.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(new ContainerWaitResponse { StatusCode = code }, Wire.Json.ContainerWaitResponse) + "\n", ctx.RequestAborted);
        });

        app.MapPost("/containers/{id}/attach", (HttpContext ctx, string id) => AttachAsync(ctx, svc, id));

        app.MapGet("/containers/{id}/logs", (HttpContext ctx, string id) => LogsAsync(ctx, svc, id));

        app.MapGet("/containers/{id}/top", async (HttpContext ctx, string id) =>
        {
            var c = svc.Get(id);
            if (!c.Record.IsRunning) throw BerthException.Conflict($"Container {c.Id} is not running");
            var top = await Top.RunAsync(c.Record, svc.CgroupPathOf(c.Record), ctx.Request.QueryString("ps_args") ?? "-ef", ctx.RequestAborted);
            await HttpJson.WriteAsync(ctx, top, Wire.Json.ContainerTopResponse);
        });

        app.MapPost("/containers/prune", async (HttpContext ctx) =>
        {
            var filters = ctx.Request.QueryFilters();
            filters.Validate("until", "label", "label!");
            var deleted = new List<string>();
            long reclaimed = 0;
            foreach (var c in ContainerFilter.ForPrune(svc, filters))
            {
                var (rw, _) = sizes(c.Record);
                try
                {
                    await svc.RemoveAsync(c.Id, force: false, removeVolumes: false, ctx.RequestAborted);
                    deleted.Add(c.Id);
                    reclaimed += rw ?? 0;
                }
                catch (BerthException) { /* raced with a start: not prunable any more */ }
            }
            svc.Events.Pruned("container", reclaimed);
            await HttpJson.WriteAsync(ctx, new ContainerPruneReport { ContainersDeleted = deleted.Count > 0 ? deleted : null, SpaceReclaimed = reclaimed }, Wire.Json.ContainerPruneReport);
        });
    }

    /// <summary>The hijacked attach (<c>Upgrade: tcp</c>), served below Kestrel by <see cref="HijackMiddleware"/>.</summary>
    public static void MapHijack(HijackRoutes routes, ContainerService svc, ILoggerFactory logs)
    {
        var log = logs.CreateLogger("Berth.Attach");
        routes.Map("POST", "/containers/([^/]+)/attach", (req, m, conn) =>
            AttachAsync(svc, svc.Get(m.Groups[1].Value), req.Query, conn, () => conn.UpgradeAsync("application/vnd.docker.multiplexed-stream"), log));
    }

    /// <summary>A plain (not upgraded) attach: the output streams in the response body.</summary>
    private static Task AttachAsync(HttpContext ctx, ContainerService svc, string id)
    {
        var c = svc.Get(id);
        var log = ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Berth.Attach");
        return AttachAsync(svc, c, ctx.Request.Query, ctx.Response.Body, async () =>
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/vnd.docker.multiplexed-stream";
            await ctx.Response.StartAsync();
        }, log);
    }

    private static async Task AttachAsync(ContainerService svc, Container c, IQueryCollection q, Stream conn, Func<Task> answer, ILogger log)
    {
        bool stdin = Bool(q, "stdin"), stdout = Bool(q, "stdout"), stderr = Bool(q, "stderr");
        bool stream = Bool(q, "stream"), logs = Bool(q, "logs");
        var keys = ContainerService.ParseDetachKeys(q["detachKeys"].ToString());
        // A client that has gone away shows up as a failed write; the stream ends with the container.
        var ct = CancellationToken.None;
        // Register for the next run before answering: the client starts the container as soon as it has the answer.
        Task<Runtime.Shim.ShimAttachment>? pending = null;
        if (stream)
            pending = c.Record.IsRunning && c.Shim is { } shim
                ? shim.AttachAsync(stdin, stdout, stderr, ct)
                : c.WaitForRun(stdin, stdout, stderr, ct);
        svc.Events.Container("attach", c.Record);
        await answer();
        try
        {
            bool tty = c.Record.Config.Tty;
            if (logs)
                await foreach (var e in JsonFileLog.ReadAsync(svc.Paths.LogFile(c.Id), new LogReadOptions(), ct))
                {
                    if (!(e.StreamId == 1 ? stdout : stderr)) continue;
                    if (tty) await conn.WriteAsync(e.Log, ct);
                    else await StreamFraming.WriteFrameAsync(conn, (byte)e.StreamId, e.Log, ct);
                }
            if (pending is null) return;
            await using var attachment = await pending;
            log.LogDebug("attach to {Id} bound (stdin {Stdin}, stdout {Stdout}, stderr {Stderr})", c.Id[..12], stdin, stdout, stderr);
            var config = c.Record.Config;
            var (outcome, _) = await AttachStreams.PumpAsync(conn, attachment, tty, stdin && config.OpenStdin, config.StdinOnce, keys);
            // Detached or gone: leaving the using ends this attachment (and its dropped output) at the shim.
            if (outcome == AttachStreams.Outcome.Detached) log.LogDebug("client detached from {Id}", c.Id[..12]);
            if (outcome == AttachStreams.Outcome.Detached) svc.Events.Container("detach", c.Record);
        }
        catch (IOException) { /* the client went away */ }
        finally
        {
            try { await conn.FlushAsync(CancellationToken.None); } catch (IOException) { }
        }
    }

    private static bool Bool(IQueryCollection q, string name) => q[name].ToString() is "1" or "true" or "True";

    private static async Task LogsAsync(HttpContext ctx, ContainerService svc, string id)
    {
        var c = svc.Get(id);
        var q = ctx.Request;
        bool stdout = q.QueryBool("stdout"), stderr = q.QueryBool("stderr");
        if (!stdout && !stderr) throw BerthException.Invalid("Bad parameters: you must choose at least one stream");
        bool follow = q.QueryBool("follow"), timestamps = q.QueryBool("timestamps");
        int? tail = q.QueryString("tail") is { } t && t != "all" ? int.TryParse(t, out var n) ? n : throw BerthException.Invalid($"invalid tail value: {t}") : null;
        var since = TimeParam.Parse(q.QueryString("since"));
        var until = TimeParam.Parse(q.QueryString("until"));
        bool tty = c.Record.Config.Tty;
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
        await ctx.Response.StartAsync(ctx.RequestAborted);
        var body = ctx.Response.Body;
        var stop = c.Record.IsRunning ? c.NextExit : Task.CompletedTask;
        var options = new LogReadOptions { Follow = follow && c.Record.IsRunning, StopFollowing = stop, Since = since, Until = until, Tail = tail };
        try
        {
            await foreach (var e in JsonFileLog.ReadAsync(svc.Paths.LogFile(c.Id), options, ctx.RequestAborted))
            {
                if (!(e.StreamId == 1 ? stdout : stderr)) continue;
                ReadOnlyMemory<byte> data = e.Log;
                if (timestamps)
                    data = Encoding.UTF8.GetBytes(HumanTime.Rfc3339Nano(e.Time) + " ").Concat(e.Log).ToArray();
                if (tty) await body.WriteAsync(data, ctx.RequestAborted);
                else await StreamFraming.WriteFrameAsync(body, (byte)e.StreamId, data, ctx.RequestAborted);
                if (follow) await body.FlushAsync(ctx.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { }
        catch (IOException) { }
    }
}
