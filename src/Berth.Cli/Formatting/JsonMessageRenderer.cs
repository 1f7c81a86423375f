using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Cli.Formatting;

/// <summary>
/// Prints a daemon's JSON-message stream (pull, push, load, import) the way docker's
/// <c>jsonmessage.DisplayJSONMessagesStream</c> does. On a terminal every message with an <c>id</c> and a
/// <c>progressDetail</c> owns one line, rewritten in place (cursor up, clear line) as its status and bar change;
/// without a terminal only the messages without byte counts are printed, one line each. A message with an error
/// ends the stream: its text is returned, not printed.
/// </summary>
internal sealed class JsonMessageRenderer
{
    private readonly TextWriter _out;
    private readonly bool _terminal;
    private readonly int _width;

    // Layer id → its line, counted from the first progress line; cleared by any line that is not progress, so a
    // later operation (the next tag of pull -a) never rewrites an earlier one's lines.
    private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);

    public JsonMessageRenderer(TextWriter output, bool terminal, int width = 200)
    {
        _out = output;
        _terminal = terminal;
        _width = width;
    }

    /// <summary>A renderer for <paramref name="output"/>, a terminal when it is the real process's stdout or stderr on a tty.</summary>
    public static JsonMessageRenderer For(CliContext ctx, TextWriter output)
    {
        var fd = ReferenceEquals(output, ctx.Out) ? 1 : ReferenceEquals(output, ctx.Err) ? 2 : -1;
        var terminal = ctx.ForwardSignals && fd > 0 && Terminal.IsTerminal(fd);
        var width = terminal && Terminal.Size(fd) is { } size ? size.Cols : 200;
        return new JsonMessageRenderer(output, terminal, width);
    }

    /// <summary>
    /// Reads <paramref name="stream"/> to its end, printing each message; <paramref name="aux"/> gets each message's
    /// <c>aux</c> object (push's tag, digest and size). Returns the stream's error message, or null.
    /// </summary>
    public async Task<string?> RenderAsync(Stream stream, Action<JsonNode>? aux = null, CancellationToken ct = default)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            JsonObject? msg;
            try
            {
                msg = JsonNode.Parse(line) as JsonObject;
            }
            catch (JsonException)
            {
                // Not a message at all: shown as it came rather than lost.
                _out.WriteLine(line);
                continue;
            }
            if (msg is not null && Render(msg, aux) is { } error)
            {
                return error;
            }
        }
        return null;
    }

    /// <summary>The code of the last error message (its <c>errorDetail.code</c>; 1 when it has none): a build's exit status.</summary>
    public int ErrorCode { get; private set; } = 1;

    /// <summary>Prints one message; returns its error text when it is an error message.</summary>
    public string? Render(JsonObject msg, Action<JsonNode>? aux = null)
    {
        if (msg["aux"] is { } a)
        {
            aux?.Invoke(a);
            return null;
        }
        var id = Text(msg["id"]);
        var progress = msg["progressDetail"] as JsonObject;
        var progressMessage = Text(msg["progress"]);
        var diff = 0;
        // docker keys line tracking on the deprecated "progress" text too; both mean "a progress line".
        if (id.Length > 0 && (progress is not null || progressMessage.Length > 0))
        {
            if (!_lines.TryGetValue(id, out var line))
            {
                line = _lines.Count;
                _lines[id] = line;
                if (_terminal)
                {
                    _out.Write('\n');
                }
            }
            diff = _lines.Count - line;
            if (_terminal && diff > 0)
            {
                _out.Write($"\x1b[{diff}A");
            }
        }
        else
        {
            _lines.Clear();
        }
        var error = Display(msg, id, progress, progressMessage);
        if (id.Length > 0 && _terminal && diff > 0)
        {
            _out.Write($"\x1b[{diff}B");
        }
        return error;
    }

    // JSONMessage.Display.
    private string? Display(JsonObject msg, string id, JsonObject? progress, string progressMessage)
    {
        if (ErrorText(msg) is { } error)
        {
            ErrorCode = msg["errorDetail"] is JsonObject detail && detail["code"] is JsonValue c && c.TryGetValue<int>(out var n) && n != 0 ? n : 1;
            return error;
        }
        var stream = Text(msg["stream"]);
        var bar = progress is null ? "" : ProgressText(progress, _width);
        var endl = "";
        if (_terminal && stream.Length == 0 && progress is not null)
        {
            _out.Write("\x1b[2K\r");
            endl = "\r";
        }
        else if (progress is not null && bar.Length > 0)
        {
            // Byte counts mean nothing in a log: left out without a terminal.
            return null;
        }
        var sb = new StringBuilder();
        if (id.Length > 0)
        {
            sb.Append(id).Append(": ");
        }
        if (Text(msg["from"]) is { Length: > 0 } from)
        {
            sb.Append("(from ").Append(from).Append(") ");
        }
        var status = Text(msg["status"]);
        if (progress is not null && _terminal)
        {
            sb.Append(status).Append(' ').Append(bar).Append(endl);
        }
        else if (progressMessage.Length > 0)
        {
            sb.Append(status).Append(' ').Append(progressMessage).Append(endl);
        }
        else if (stream.Length > 0)
        {
            sb.Append(stream).Append(endl);
        }
        else
        {
            sb.Append(status).Append(endl).Append('\n');
        }
        _out.Write(sb.ToString());
        return null;
    }

    // errorDetail.message, or the older top-level "error".
    private static string? ErrorText(JsonObject msg)
    {
        if (msg["errorDetail"] is JsonObject detail && Text(detail["message"]) is { Length: > 0 } m)
        {
            return m;
        }
        return msg["error"] is JsonValue e && Text(e) is { Length: > 0 } text ? text : null;
    }

    /// <summary>
    /// JSONProgress.String: <c>[====&gt;    ]  1.2MB/3.4MB</c>; the bar only when the line is wider than 110 columns,
    /// sizes alone when there is no total, nothing when there are no counts.
    /// </summary>
    internal static string ProgressText(JsonObject detail, int width)
    {
        var current = Number(detail["current"]);
        var total = Number(detail["total"]);
        var units = Text(detail["units"]);
        var hideCounts = detail["hidecounts"] is JsonValue h && h.TryGetValue<bool>(out var hide) && hide;
        if (current <= 0 && total <= 0)
        {
            return "";
        }
        if (total <= 0)
        {
            return units.Length == 0
                ? string.Create(CultureInfo.InvariantCulture, $"{Units.HumanSize(current, 4),8}")
                : string.Create(CultureInfo.InvariantCulture, $"{current} {units}");
        }
        var percentage = Math.Min(50, (int)((double)current / total * 100) / 2);
        var bar = "";
        if (width > 110)
        {
            bar = "[" + new string('=', percentage) + ">" + new string(' ', Math.Max(0, 50 - percentage)) + "] ";
        }
        var numbers = "";
        if (!hideCounts)
        {
            if (units.Length == 0)
            {
                var c = Units.HumanSize(current, 4);
                numbers = current > total
                    ? string.Create(CultureInfo.InvariantCulture, $"{c,8}")
                    : string.Create(CultureInfo.InvariantCulture, $"{c,8}/{Units.HumanSize(total, 4)}");
            }
            else
            {
                numbers = current > total
                    ? string.Create(CultureInfo.InvariantCulture, $"{current} {units}")
                    : string.Create(CultureInfo.InvariantCulture, $"{current}/{total} {units}");
            }
        }
        var left = "";
        var start = Number(detail["start"]);
        if (current > 0 && start > 0 && percentage < 50 && width > 50)
        {
            var elapsed = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - start;
            var remaining = (long)((double)(total - current) * elapsed / current);
            left = " " + GoDuration(Math.Max(0, remaining));
        }
        return bar + numbers + left;
    }

    // Go's time.Duration.String for whole seconds: 1h2m3s, 4m0s, 5s.
    private static string GoDuration(long seconds)
    {
        var h = seconds / 3600;
        var m = seconds / 60 % 60;
        var s = seconds % 60;
        return h > 0 ? $"{h}h{m}m{s}s" : m > 0 ? $"{m}m{s}s" : $"{s}s";
    }

    private static string Text(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node is JsonValue ? node.ToJsonString() : "";

    private static long Number(JsonNode? node)
    {
        if (node is not JsonValue v)
        {
            return 0;
        }
        if (v.TryGetValue<long>(out var l))
        {
            return l;
        }
        return v.TryGetValue<double>(out var d) ? (long)d : 0;
    }
}
