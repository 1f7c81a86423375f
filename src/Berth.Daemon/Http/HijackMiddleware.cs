using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.RegularExpressions;
using Berth.Core;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Berth.Daemon.Http;

/// <summary>
/// Sits below Kestrel's HTTP layer on every API connection and reads each request head itself. Requests that hijack
/// the connection (<c>Upgrade: tcp</c>: attach, exec start) are served here, because Kestrel will not upgrade a request
/// with a body and aborts an upgraded request when the client half-closes; every other request is passed through to
/// Kestrel byte for byte. Clients send one request at a time on a connection, so a hijack never overlaps a Kestrel
/// response; after a hijack the connection closes, as with dockerd.
/// </summary>
internal sealed class HijackMiddleware(HijackRoutes routes, ILogger<HijackMiddleware> log)
{
    private const int MaxHeadBytes = 64 * 1024;
    private const int MaxHijackBody = 1024 * 1024;

    public async Task OnConnectionAsync(ConnectionContext ctx, ConnectionDelegate next)
    {
        var input = ctx.Transport.Input;
        var output = ctx.Transport.Output;
        var toKestrel = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
        ctx.Transport = new DuplexPipe(toKestrel.Reader, output);
        // Kestrel's HTTP layer aborts the whole connection when the transport reports the client's FIN; a hijacked
        // client half-closes on purpose (no more stdin) and still reads. So the HTTP layer gets its own "closed" signal:
        // the client's, except once a hijack owns the connection. After a hijack the HTTP layer just sees its input end
        // and closes gracefully, so the stream's last bytes are sent rather than dropped by an abort.
        var clientClosed = ctx.ConnectionClosed;
        using var httpClosed = new CancellationTokenSource();
        ctx.ConnectionClosed = httpClosed.Token;
        bool hijacked = false;
        using var forward = clientClosed.Register(() => { if (!Volatile.Read(ref hijacked)) httpClosed.Cancel(); });
        var kestrel = next(ctx);
        // Once the HTTP layer has ended the connection (a 400 for a broken request, a shutdown), nothing more is read,
        // unless a hijack owns the connection: its stdin is the client's to end.
        _ = kestrel.ContinueWith(_ => { if (!Volatile.Read(ref hijacked)) input.CancelPendingRead(); }, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            while (true)
            {
                var head = await ReadHeadAsync(input, clientClosed);
                if (head is null) break;
                var req = ParseHead(head);
                if (req is not null && IsHijack(req.Headers) && routes.Match(req.Method, StripVersion(req.Target)) is { } route)
                {
                    Volatile.Write(ref hijacked, true);
                    await HijackAsync(req, route, input, output, CancellationToken.None);
                    break;
                }
                await toKestrel.Writer.WriteAsync(head, clientClosed);
                if (req is not null && !await ForwardBodyAsync(req, input, toKestrel.Writer, clientClosed)) break;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException or InvalidOperationException)
        {
            log.LogDebug("connection {Id} ended: {Error}", ctx.ConnectionId, e.Message);
        }
        finally
        {
            await toKestrel.Writer.CompleteAsync();
        }
        await kestrel;
    }

    private async Task HijackAsync(ParsedHead req, HijackRoute route, PipeReader input, PipeWriter output, CancellationToken ct)
    {
        var conn = new HijackConnection(input, output);
        byte[] body = [];
        long length = req.ContentLength ?? 0;
        if (length > MaxHijackBody)
        {
            await conn.ErrorAsync(400, $"request body too large (more than {MaxHijackBody} bytes)", ct);
            await output.FlushAsync(ct);
            return;
        }
        if (length > 0) body = await ReadExactlyAsync(input, (int)length, ct);
        var (path, _, versionError) = ApiVersion.Strip(req.Target.Split('?')[0]);
        var query = new QueryCollection(QueryHelpers.ParseQuery(req.Target.Contains('?') ? req.Target[req.Target.IndexOf('?')..] : ""));
        try
        {
            if (versionError is not null)
            {
                await conn.ErrorAsync(400, versionError, ct);
            }
            else
            {
                var m = route.Pattern.Match(path);
                await route.Handler(new HijackRequest(req.Method, path, query, req.Headers, body), m, conn);
            }
        }
        catch (BerthException e) when (!conn.Answered)
        {
            await conn.ErrorAsync(HttpJson.StatusOf(e.Kind), e.Message, ct);
        }
        catch (Exception e) when (!conn.Answered && e is not OperationCanceledException)
        {
            log.LogError(e, "{Method} {Path} failed", req.Method, path);
            await conn.ErrorAsync(500, e.Message, ct);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The client went away mid-stream.
        }
        await output.FlushAsync(CancellationToken.None);
    }

    private static bool IsHijack(IReadOnlyDictionary<string, string> headers) =>
        headers.TryGetValue("upgrade", out var u) && u.Trim().Equals("tcp", StringComparison.OrdinalIgnoreCase);

    private static string StripVersion(string target) => ApiVersion.Strip(target.Split('?')[0]).Path;

    private sealed record ParsedHead(string Method, string Target, IReadOnlyDictionary<string, string> Headers, long? ContentLength, bool Chunked);

    private static ParsedHead? ParseHead(byte[] head)
    {
        var text = Encoding.Latin1.GetString(head);
        var lines = text.Split("\r\n");
        var first = lines[0].Split(' ');
        if (first.Length < 3) return null;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var l in lines.Skip(1))
        {
            int colon = l.IndexOf(':');
            if (colon <= 0) continue;
            var name = l[..colon].Trim();
            var value = l[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var prev) ? prev + "," + value : value;
        }
        long? length = headers.TryGetValue("content-length", out var cl) && long.TryParse(cl, out var n) ? n : null;
        bool chunked = headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        return new ParsedHead(first[0], first[1], headers, length, chunked);
    }

    /// <summary>The bytes up to and including the blank line; null at a clean end of the connection.</summary>
    private static async Task<byte[]?> ReadHeadAsync(PipeReader input, CancellationToken ct)
    {
        while (true)
        {
            var r = await input.ReadAsync(ct);
            if (r.IsCanceled) return null;
            var buf = r.Buffer;
            var pos = Find(buf, "\r\n\r\n"u8);
            if (pos is { } end)
            {
                var head = buf.Slice(0, end).ToArray();
                input.AdvanceTo(end);
                return head;
            }
            if (buf.Length > MaxHeadBytes) throw new InvalidOperationException("request head too large");
            input.AdvanceTo(buf.Start, buf.End);
            if (r.IsCompleted)
            {
                if (!buf.IsEmpty) throw new IOException("connection closed inside a request head");
                return null;
            }
        }
    }

    private static SequencePosition? Find(ReadOnlySequence<byte> buf, ReadOnlySpan<byte> needle)
    {
        var reader = new SequenceReader<byte>(buf);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> _, needle, advancePastDelimiter: true)) return null;
        return reader.Position;
    }

    /// <summary>
    /// Copies one request body (Content-Length or chunked) through, whatever has arrived in one write; false when the
    /// connection ended inside it or the HTTP layer stopped reading. A broken chunk header goes through as it is, and
    /// nothing after it: the HTTP layer answers it with a 400 and ends the connection.
    /// </summary>
    private static async Task<bool> ForwardBodyAsync(ParsedHead head, PipeReader input, PipeWriter output, CancellationToken ct)
    {
        var framing = head.Chunked ? BodyFraming.Chunked() : BodyFraming.Length(head.ContentLength ?? 0);
        while (!framing.Done)
        {
            var r = await input.ReadAsync(ct);
            if (r.IsCanceled) return false;
            long n = framing.Scan(r.Buffer);
            var take = r.Buffer.Slice(0, framing.Invalid ? r.Buffer.Length : n);
            foreach (var seg in take) output.Write(seg.Span);
            input.AdvanceTo(take.End, framing.Done ? take.End : r.Buffer.End);
            var flushed = await output.FlushAsync(ct);
            if (framing.Invalid || flushed.IsCompleted || (r.IsCompleted && !framing.Done)) return false;
        }
        return true;
    }

    private static async Task<byte[]> ReadExactlyAsync(PipeReader input, int count, CancellationToken ct)
    {
        var result = new byte[count];
        int got = 0;
        while (got < count)
        {
            var r = await input.ReadAsync(ct);
            var take = r.Buffer.Slice(0, Math.Min(r.Buffer.Length, count - got));
            take.CopyTo(result.AsSpan(got));
            got += (int)take.Length;
            input.AdvanceTo(take.End);
            if (got < count && r.IsCompleted) throw new IOException("connection closed inside a request body");
        }
        return result;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}

internal sealed record HijackRoute(string Method, Regex Pattern, Func<HijackRequest, Match, HijackConnection, Task> Handler);

/// <summary>The endpoints served by <see cref="HijackMiddleware"/> (paths without the version prefix).</summary>
internal sealed class HijackRoutes
{
    private readonly List<HijackRoute> _routes = [];

    public void Map(string method, string pattern, Func<HijackRequest, Match, HijackConnection, Task> handler) =>
        _routes.Add(new HijackRoute(method, new Regex("^" + pattern + "$", RegexOptions.Compiled), handler));

    public HijackRoute? Match(string method, string path) =>
        _routes.FirstOrDefault(r => r.Method == method && r.Pattern.IsMatch(path));
}
