using System.Text.Json;
using Berth.Core;
using Berth.Daemon.Events;
using Berth.Daemon.Http;

namespace Berth.Daemon.Routers;

/// <summary>GET /events: the buffered events since/until asked for, then the live ones, one JSON object a line, flushed each.</summary>
internal static class EventsRouter
{
    public static void Map(WebApplication app, EventBus bus)
    {
        app.MapGet("/events", (HttpContext ctx) => StreamAsync(ctx, bus));
    }

    private static async Task StreamAsync(HttpContext ctx, EventBus bus)
    {
        var q = ctx.Request;
        var filter = EventFilter.From(q.QueryFilters());
        var now = DateTimeOffset.UtcNow;
        var sinceText = q.QueryString("since");
        var untilText = q.QueryString("until");
        var since = EventTime.Parse(sinceText, now);
        var until = EventTime.Parse(untilText, now);
        if (until is { } u0 && since is { } s0 && u0 < s0)
            throw BerthException.Invalid($"`since` time ({sinceText}) cannot be after `until` time ({untilText})");

        long nowNano = bus.NowNano();
        bool onlyPast = until is { } u1 && u1 < nowNano;
        using var sub = bus.Subscribe(since, until, filter, out var replay);

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.StartAsync(ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        var body = ctx.Response.Body;
        // The stream ends when the client goes, at a future until, or when the daemon stops.
        var stopping = ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
        // CancelAfter takes at most about 49 days; an until further away is simply never reached by this stream.
        if (until is { } u2 && !onlyPast && (u2 - nowNano) / 1_000_000 < int.MaxValue)
            cts.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(0, (u2 - nowNano) / 1_000_000)));
        try
        {
            foreach (var e in replay) await WriteAsync(body, e, cts.Token);
            if (onlyPast) return;
            await foreach (var e in sub.Reader.ReadAllAsync(cts.Token)) await WriteAsync(body, e, cts.Token);
        }
        catch (OperationCanceledException) { /* until reached, client gone, or shutdown */ }
        catch (IOException) { /* the client went away */ }
    }

    private static Task WriteAsync(Stream body, Api.EventMessage e, CancellationToken ct) => HttpJson.WriteLineAsync(body, e, Wire.Json.EventMessage, ct);
}
