using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Berth.Api;
using Berth.Core;

namespace Berth.Daemon.Http;

/// <summary>
/// A response that is a stream of JSON messages (pull, push, load, build), one per line as dockerd writes them.
/// The response starts with the first message: a failure before it is an ordinary JSON error with its status
/// code; a failure after it is an <c>errorDetail</c> message, which is how the docker CLI learns of it.
/// Messages may be posted from any thread (<see cref="Post"/>); one writer drains them in order.
/// </summary>
internal sealed class JsonMessageStream
{
    private readonly HttpContext _ctx;
    private readonly Channel<JsonMessage> _queue = Channel.CreateUnbounded<JsonMessage>(new UnboundedChannelOptions { SingleReader = true });

    public JsonMessageStream(HttpContext ctx) => _ctx = ctx;

    public bool Started { get; private set; }

    /// <summary>Queues a message; safe from any thread, never blocks.</summary>
    public void Post(JsonMessage m) => _queue.Writer.TryWrite(m);

    /// <summary>Writes one message now (the caller is the only writer at that time).</summary>
    public async Task SendAsync(JsonMessage m, CancellationToken ct)
    {
        if (!Started)
        {
            _ctx.Response.StatusCode = 200;
            _ctx.Response.ContentType = "application/json";
            Started = true;
        }
        await HttpJson.WriteLineAsync(_ctx.Response.Body, m, Wire.Json.JsonMessage, ct, crlf: true); // dockerd's line end here
    }

    /// <summary>
    /// Runs <paramref name="work"/> while writing whatever it posts; when it fails after the stream started, the
    /// failure becomes the stream's last message, otherwise it propagates (and becomes the JSON error answer).
    /// </summary>
    public async Task<T?> RunAsync<T>(Func<Task<T>> work, CancellationToken ct)
    {
        var task = Task.Run(work, ct);
        await PumpAsync(task, _queue, ct);
        try
        {
            return await task;
        }
        catch (Exception e) when (Started && !ct.IsCancellationRequested)
        {
            var message = e is BerthException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            await SendAsync(Error(message), ct);
            return default;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/>, which may post messages from any thread, and writes them as they come; for a
    /// part of a response whose other messages are sent with <see cref="SendAsync"/> (a build's pulls). Failures
    /// propagate.
    /// </summary>
    public async Task<T> RelayAsync<T>(Func<Action<JsonMessage>, Task<T>> work, CancellationToken ct)
    {
        var queue = Channel.CreateUnbounded<JsonMessage>(new UnboundedChannelOptions { SingleReader = true });
        var task = Task.Run(() => work(m => queue.Writer.TryWrite(m)), ct);
        await PumpAsync(task, queue, ct);
        return await task;
    }

    /// <summary>Writes what <paramref name="queue"/> gets until <paramref name="work"/> ends (or the client goes).</summary>
    private async Task PumpAsync(Task work, Channel<JsonMessage> queue, CancellationToken ct)
    {
        _ = work.ContinueWith(_ => queue.Writer.TryComplete(), TaskScheduler.Default);
        try
        {
            await foreach (var m in queue.Reader.ReadAllAsync(ct))
                await SendAsync(m, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away: the work sees the same token and stops.
        }
    }

    public static JsonMessage Error(string message) => new() { Error = message, ErrorDetail = new ErrorDetail { Message = message } };

    /// <summary>A status line for a layer (<c>id</c>) or for the whole operation; byte counts make it a progress line.</summary>
    public static JsonMessage Status(string? id, string status, long? current = null, long? total = null)
    {
        if (current is null) return new JsonMessage { Id = id, Status = status, ProgressDetail = id is null ? null : new ProgressDetail() };
        return new JsonMessage
        {
            Id = id,
            Status = status,
            ProgressDetail = new ProgressDetail { Current = current, Total = total },
            Progress = ProgressBar(current.Value, total ?? 0),
        };
    }

    /// <summary>Docker's progress text: <c>[=====&gt;     ]  1.2MB/3.4MB</c>, sizes in decimal units.</summary>
    public static string ProgressBar(long current, long total)
    {
        if (total <= 0) return $"{HumanSize(current),8}";
        int filled = (int)Math.Min(50, current * 50 / total);
        var bar = "[" + new string('=', filled) + ">" + new string(' ', 50 - filled) + "] ";
        return bar + $"{HumanSize(current),8}/{HumanSize(total)}";
    }

    /// <summary>Go's units.HumanSize: four significant digits, powers of 1000.</summary>
    public static string HumanSize(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        double v = bytes;
        int i = 0;
        while (v >= 1000 && i < units.Length - 1)
        {
            v /= 1000;
            i++;
        }
        return v.ToString("G4", CultureInfo.InvariantCulture) + units[i];
    }
}
