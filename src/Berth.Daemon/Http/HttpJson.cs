using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Berth.Api;
using Berth.Core;

namespace Berth.Daemon.Http;

/// <summary>Reading request bodies and writing JSON answers, bounded and source-generated.</summary>
internal static class HttpJson
{
    /// <summary>Request bodies that are JSON documents are small; a bigger one is refused, not buffered.</summary>
    public const int MaxJsonBody = 4 * 1024 * 1024;

    public static async Task<T?> ReadAsync<T>(HttpContext ctx, JsonTypeInfo<T> type) where T : class
    {
        if (ctx.Request.ContentLength > MaxJsonBody)
            throw new BerthException(ErrorKind.InvalidArgument, $"request body too large (more than {MaxJsonBody} bytes)");
        using var ms = new MemoryStream();
        var buf = new byte[16384];
        int n;
        while ((n = await ctx.Request.Body.ReadAsync(buf, ctx.RequestAborted)) > 0)
        {
            if (ms.Length + n > MaxJsonBody)
                throw new BerthException(ErrorKind.InvalidArgument, $"request body too large (more than {MaxJsonBody} bytes)");
            ms.Write(buf, 0, n);
        }
        return Parse(ms.GetBuffer().AsSpan(0, (int)ms.Length), type);
    }

    /// <summary>A request body already read (a hijacked request's); null when empty, 400 when malformed.</summary>
    public static T? Parse<T>(ReadOnlySpan<byte> body, JsonTypeInfo<T> type) where T : class
    {
        if (body.IsEmpty) return null;
        try
        {
            return JsonSerializer.Deserialize(body, Wire.ForReading(type));
        }
        catch (JsonException e)
        {
            throw new BerthException(ErrorKind.InvalidArgument, $"invalid JSON: {e.Message}");
        }
    }

    public static async Task WriteAsync<T>(HttpContext ctx, T value, JsonTypeInfo<T> type, int status = 200)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        var line = Line(value, type);
        ctx.Response.ContentLength = line.Length;
        await ctx.Response.Body.WriteAsync(line, ctx.RequestAborted);
    }

    /// <summary>
    /// <paramref name="value"/>'s JSON and the line's end in one buffer, so that one write sends it: in a chunked
    /// answer each write is a chunk, and docker-py's stream reader fails on a last chunk that is only a line's end.
    /// </summary>
    public static ReadOnlyMemory<byte> Line<T>(T value, JsonTypeInfo<T> type, bool crlf = false)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        // The writer takes the context's escaping, as JsonSerializer's own writer would.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = type.Options.Encoder, Indented = type.Options.WriteIndented }))
            JsonSerializer.Serialize(w, value, type);
        buffer.Write(crlf ? "\r\n"u8 : "\n"u8);
        return buffer.WrittenMemory;
    }

    /// <summary>One line of a JSON stream (events, stats): written whole and flushed.</summary>
    public static async Task WriteLineAsync<T>(Stream body, T value, JsonTypeInfo<T> type, CancellationToken ct, bool crlf = false)
    {
        await body.WriteAsync(Line(value, type, crlf), ct);
        await body.FlushAsync(ct);
    }

    public static Task WriteErrorAsync(HttpContext ctx, int status, string message) =>
        WriteAsync(ctx, new ErrorResponse { Message = message }, Wire.Json.ErrorResponse, status);

    public static int StatusOf(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidArgument => 400,
        ErrorKind.Unauthorized => 401,
        ErrorKind.Forbidden => 403,
        ErrorKind.NotFound => 404,
        ErrorKind.Conflict => 409,
        ErrorKind.NotModified => 304,
        ErrorKind.NotImplemented => 501,
        ErrorKind.Unavailable => 503,
        _ => 500,
    };

    /// <summary>The one place errors become HTTP: typed errors keep their class, anything else is a 500 without a stack trace.</summary>
    public static async Task ErrorMiddleware(HttpContext ctx, RequestDelegate next)
    {
        try
        {
            await next(ctx);
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            var (status, message) = e switch
            {
                BerthException be => (StatusOf(be.Kind), be.Message),
                FormatException or JsonException or ArgumentException => (400, e.Message),
                BadHttpRequestException bre => (bre.StatusCode, bre.Message),
                OperationCanceledException when ctx.RequestAborted.IsCancellationRequested => (499, "request cancelled"),
                _ => (500, e.Message),
            };
            if (status >= 500)
                ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Berth.Api")
                    .LogError(e, "{Method} {Path} failed", ctx.Request.Method, ctx.Request.Path);
            if (status == 304) { ctx.Response.StatusCode = 304; return; }
            await WriteErrorAsync(ctx, status, message);
        }
    }

    public static bool QueryBool(this HttpRequest req, string name, bool dflt = false)
    {
        var v = req.Query[name].ToString();
        if (string.IsNullOrEmpty(v)) return dflt;
        return v switch
        {
            "1" or "true" or "True" or "TRUE" => true,
            "0" or "false" or "False" or "FALSE" => false,
            _ => throw new BerthException(ErrorKind.InvalidArgument, $"invalid boolean value for \"{name}\": \"{v}\""),
        };
    }

    public static int? QueryInt(this HttpRequest req, string name)
    {
        var v = req.Query[name].ToString();
        if (string.IsNullOrEmpty(v)) return null;
        if (!int.TryParse(v, out var i))
            throw new BerthException(ErrorKind.InvalidArgument, $"invalid value for \"{name}\": \"{v}\"");
        return i;
    }

    /// <summary>An integer query value; absent or empty is 0.</summary>
    public static long QueryLong(this HttpRequest req, string name)
    {
        var v = req.Query[name].ToString();
        if (string.IsNullOrEmpty(v)) return 0;
        if (!long.TryParse(v, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l))
            throw new BerthException(ErrorKind.InvalidArgument, $"invalid value for \"{name}\": \"{v}\"");
        return l;
    }

    public static string? QueryString(this HttpRequest req, string name)
    {
        var v = req.Query[name].ToString();
        return string.IsNullOrEmpty(v) ? null : v;
    }

    public static Filters QueryFilters(this HttpRequest req)
    {
        try { return Filters.Parse(req.QueryString("filters")); }
        catch (JsonException e) { throw new BerthException(ErrorKind.InvalidArgument, $"invalid filters: {e.Message}"); }
        catch (FormatException e) { throw new BerthException(ErrorKind.InvalidArgument, e.Message); }
    }
}
