using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Berth.Runtime.Interop;

namespace Berth.Runtime.Logs;

/// <summary>One logged line (or partial line) of container output.</summary>
public sealed record LogEntry(string Stream, byte[] Log, DateTimeOffset Time)
{
    /// <summary>1 for stdout, 2 for stderr, as in Docker's stream framing.</summary>
    public int StreamId => Stream == "stderr" ? 2 : 1;
}

public sealed record LogReadOptions
{
    /// <summary>Keep reading new entries until <see cref="StopFollowing"/> completes or the token is cancelled.</summary>
    public bool Follow { get; init; }

    /// <summary>Completes when the container stops; the reader drains what is left and ends.</summary>
    public Task? StopFollowing { get; init; }
    public DateTimeOffset? Since { get; init; }
    public DateTimeOffset? Until { get; init; }

    /// <summary>Only the last N entries of the existing log; null or negative = all.</summary>
    public int? Tail { get; init; }

    /// <summary>How often a follower looks for new data.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>Reads a json-file log written by the shim, rotated files included, oldest first.</summary>
public static class JsonFileLog
{
    public static async IAsyncEnumerable<LogEntry> ReadAsync(string logPath, LogReadOptions options, [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);

        // Existing content first: rotated files from the oldest, then the live file through a handle we keep, so a
        // rotation while we read cannot make us skip or repeat lines.
        var rotated = new List<string>();
        for (int i = 1; i < 1000 && File.Exists($"{logPath}.{i}"); i++) rotated.Insert(0, $"{logPath}.{i}");

        FileStream? live = OpenShared(logPath);
        var leftover = new MemoryStream();
        var existing = new List<LogEntry>();
        try
        {
            int? tail = options.Tail is >= 0 ? options.Tail : null;
            if (tail != 0)
            {
                foreach (var f in rotated)
                {
                    using var fs = OpenShared(f);
                    if (fs is null) continue;
                    var lo = new MemoryStream();
                    ReadAvailable(fs, lo, existing, options, tail);
                }
                if (live is not null) ReadAvailable(live, leftover, existing, options, tail);
            }
            else if (live is not null)
            {
                live.Seek(0, SeekOrigin.End);
            }

            foreach (var e in existing)
                yield return e;
            existing.Clear();
            if (!options.Follow) yield break;

            var stop = options.StopFollowing ?? Task.Delay(Timeout.Infinite, ct);
            // Bounded by the container's life (stop) and the caller's token.
            while (!ct.IsCancellationRequested)
            {
                bool stopping = stop.IsCompleted;
                if (live is null)
                {
                    live = OpenShared(logPath);
                    leftover.SetLength(0);
                }
                if (live is not null)
                {
                    ReadAvailable(live, leftover, existing, options, null);
                    // Rotated under us: drain the old file through our handle, then move to the new one.
                    if (RuntimeSys.InodeOf(logPath) != RuntimeSys.InodeOf(live.SafeFileHandle))
                    {
                        ReadAvailable(live, leftover, existing, options, null);
                        await live.DisposeAsync().ConfigureAwait(false);
                        live = OpenShared(logPath);
                        leftover.SetLength(0);
                        if (live is not null) ReadAvailable(live, leftover, existing, options, null);
                    }
                }
                foreach (var e in existing)
                    yield return e;
                existing.Clear();
                if (stopping) yield break;
                try
                {
                    await Task.WhenAny(stop, Task.Delay(options.PollInterval, ct)).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }
            }
        }
        finally
        {
            if (live is not null) await live.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static FileStream? OpenShared(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 16 * 1024);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    // Reads what is in the file now; an incomplete last line stays in leftover until the writer finishes it.
    private static void ReadAvailable(FileStream fs, MemoryStream leftover, List<LogEntry> into, LogReadOptions o, int? tail)
    {
        var buf = new byte[16 * 1024];
        int n;
        while ((n = fs.Read(buf)) > 0)
        {
            var span = buf.AsSpan(0, n);
            while (span.Length > 0)
            {
                int nl = span.IndexOf((byte)'\n');
                if (nl < 0)
                {
                    leftover.Write(span);
                    break;
                }
                ReadOnlySpan<byte> line;
                if (leftover.Length > 0)
                {
                    leftover.Write(span[..nl]);
                    line = leftover.GetBuffer().AsSpan(0, (int)leftover.Length);
                }
                else
                {
                    line = span[..nl];
                }
                if (Parse(line) is { } e && Matches(e, o))
                {
                    into.Add(e);
                    if (tail is { } t && into.Count > t) into.RemoveAt(0);
                }
                leftover.SetLength(0);
                span = span[(nl + 1)..];
            }
        }
    }

    private static bool Matches(LogEntry e, LogReadOptions o) =>
        (o.Since is not { } since || e.Time > since) && (o.Until is not { } until || e.Time <= until);

    internal static LogEntry? Parse(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty) return null;
        try
        {
            var r = new Utf8JsonReader(line);
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return null;
            string stream = "stdout";
            byte[] log = [];
            DateTimeOffset time = default;
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("log"u8))
                {
                    r.Read();
                    log = Encoding.UTF8.GetBytes(r.GetString() ?? "");
                }
                else if (r.ValueTextEquals("stream"u8))
                {
                    r.Read();
                    stream = r.GetString() ?? "stdout";
                }
                else if (r.ValueTextEquals("time"u8))
                {
                    r.Read();
                    time = ParseTime(r.GetString());
                }
                else
                {
                    r.Read();
                    r.Skip();
                }
            }
            return new LogEntry(stream, log, time);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // RFC3339 with up to nanoseconds; .NET keeps 100 ns, so extra digits are dropped.
    internal static DateTimeOffset ParseTime(string? s)
    {
        if (string.IsNullOrEmpty(s)) return default;
        int dot = s.IndexOf('.');
        if (dot > 0)
        {
            int end = dot + 1;
            while (end < s.Length && char.IsAsciiDigit(s[end])) end++;
            if (end - dot - 1 > 7) s = string.Concat(s.AsSpan(0, dot + 8), s.AsSpan(end));
        }
        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : default;
    }
}
