using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;

namespace Berth.Daemon.Routers;

/// <summary>/containers/{id}/exec, /exec/{id}/start|resize|json, and the container terminal's resize.</summary>
internal static class ExecRouter
{
    public static void Map(WebApplication app, ContainerService svc)
    {
        app.MapPost("/containers/{id}/resize", async (HttpContext ctx, string id) =>
        {
            var (h, w) = Size(ctx.Request);
            await svc.ResizeAsync(id, h, w, ctx.RequestAborted);
            svc.Events.Container("resize", svc.Get(id).Record, ("height", h.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("width", w.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            ctx.Response.StatusCode = 200;
        });

        app.MapPost("/containers/{id}/exec", async (HttpContext ctx, string id) =>
        {
            var req = await HttpJson.ReadAsync(ctx, Wire.Json.ExecCreateRequest) ?? throw BerthException.Invalid("exec config cannot be empty");
            var execId = svc.CreateExec(id, req);
            await HttpJson.WriteAsync(ctx, new IdResponse { Id = execId }, Wire.Json.IdResponse, 201);
        });

        app.MapGet("/exec/{id}/json", (HttpContext ctx, string id) =>
            HttpJson.WriteAsync(ctx, svc.GetExec(id).View(), Wire.Json.ExecInspectResponse));

        app.MapPost("/exec/{id}/resize", async (HttpContext ctx, string id) =>
        {
            var (h, w) = Size(ctx.Request);
            await svc.ResizeExecAsync(id, h, w, ctx.RequestAborted);
            ctx.Response.StatusCode = 200;
        });

        // Without an upgrade: detached (answered once the process runs), or the output in the response body.
        app.MapPost("/exec/{id}/start", async (HttpContext ctx, string id) =>
        {
            var start = await HttpJson.ReadAsync(ctx, Wire.Json.ExecStartRequest) ?? new ExecStartRequest();
            var exec = svc.GetExec(id);
            var body = ctx.Response.Body;
            // A response body cannot carry stdin: without an upgrade the process's stdin is closed at once.
            await RunAsync(svc, exec, start, body, canSendStdin: false, async () =>
            {
                ctx.Response.StatusCode = 200;
                if (!start.Detach)
                    ctx.Response.ContentType = exec.Config.Tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
                await ctx.Response.StartAsync();
            });
        });
    }

    public static void MapHijack(HijackRoutes routes, ContainerService svc)
    {
        routes.Map("POST", "/exec/([^/]+)/start", async (req, m, conn) =>
        {
            var start = HttpJson.Parse(req.Body, Wire.Json.ExecStartRequest) ?? new ExecStartRequest();
            var exec = svc.GetExec(m.Groups[1].Value);
            await RunAsync(svc, exec, start, conn, canSendStdin: true, () => conn.UpgradeAsync(
                exec.Config.Tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"));
        });
    }

    /// <summary>
    /// Starts the process, answers, then streams it like an attach (unless detached). A process that cannot start is
    /// an error answer when nothing was sent yet; after the answer, dockerd writes the error text into the stream.
    /// </summary>
    private static async Task RunAsync(ContainerService svc, ExecInstance exec, ExecStartRequest start, Stream conn, bool canSendStdin, Func<Task> answer)
    {
        var cfg = exec.Config;
        if (start.Detach)
        {
            var started = await svc.StartExecAsync(exec, start, CancellationToken.None);
            if (exec.Config.AttachStdin) await started.CloseStdinAsync(force: true);
            // Nobody reads the output; the session is still drained so the exit code is recorded.
            _ = svc.ExecEndedAsync(exec, started, DrainAsync(started));
            await answer();
            return;
        }
        svc.CheckExecStartable(exec);
        await answer();
        Runtime.Shim.ShimAttachment session;
        try
        {
            session = await svc.StartExecAsync(exec, start, CancellationToken.None);
        }
        catch (BerthException e)
        {
            // Like dockerd: once the stream is open, a process that cannot start is told in it (exit code 126 in inspect).
            var text = System.Text.Encoding.UTF8.GetBytes(e.Message + "\r\n");
            if (cfg.Tty) await conn.WriteAsync(text);
            else await StreamFraming.WriteFrameAsync(conn, 1, text, CancellationToken.None);
            await conn.FlushAsync();
            return;
        }
        if (cfg.AttachStdin && !canSendStdin) await session.CloseStdinAsync(force: true);
        var (_, rest) = await AttachStreams.PumpAsync(conn, session, cfg.Tty, cfg.AttachStdin && canSendStdin, closeStdinOnEof: true, exec.Keys);
        // After a detach or a lost client the process runs on; its exit is still recorded when it comes.
        _ = svc.ExecEndedAsync(exec, session, rest);
        try { await conn.FlushAsync(); } catch (IOException) { }
    }

    private static async Task DrainAsync(Runtime.Shim.ShimAttachment session)
    {
        await foreach (var _ in session.ReadOutputAsync()) { }
    }

    private static (int H, int W) Size(HttpRequest req) =>
        (req.QueryInt("h") ?? throw BerthException.Invalid("h is required"), req.QueryInt("w") ?? throw BerthException.Invalid("w is required"));
}
