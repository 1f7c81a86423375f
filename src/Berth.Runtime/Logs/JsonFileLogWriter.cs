using System.Text;

namespace Berth.Runtime.Logs;

/// <summary>
/// Docker's json-file log driver, byte-compatible: one JSON object per line of output
/// (<c>{"log":"hi\n","stream":"stdout","time":"…Z"}</c>), rotated <c>x.log → x.log.1 → …</c> by size.
/// </summary>
internal sealed class JsonFileLogWriter : IDisposable
{
    // Docker flushes a line that has no newline yet once it reaches 16 KiB.
    private const int MaxLine = 16 * 1024;

    private readonly string _path;
    private readonly long _maxSize;
    private readonly int _maxFiles;

    // Guards _file and _size: stdout and stderr pumps write from their own threads.
    private readonly Lock _lock = new();
    private FileStream? _file;
    private long _size;

    // Per-stream partial line (index 1 = stdout, 2 = stderr); each touched only by that stream's pump.
    private readonly MemoryStream?[] _partial = new MemoryStream?[3];

    public JsonFileLogWriter(string path, long maxSize, int maxFiles)
    {
        _path = path;
        _maxSize = maxSize;
        _maxFiles = Math.Max(1, maxFiles);
        if (Path.GetDirectoryName(path) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
        _file = Open();
    }

    private FileStream Open()
    {
        var fs = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 0);
        _size = fs.Length;
        return fs;
    }

    /// <summary>Splits <paramref name="data"/> into lines and logs every complete one.</summary>
    public void Write(int stream, ReadOnlySpan<byte> data, DateTime now)
    {
        var partial = _partial[stream] ??= new MemoryStream();
        while (data.Length > 0)
        {
            int nl = data.IndexOf((byte)'\n');
            int room = MaxLine - (int)partial.Length;
            if (nl >= 0 && nl < room)
            {
                partial.Write(data[..(nl + 1)]);
                data = data[(nl + 1)..];
                Flush(stream, partial, now);
            }
            else if (data.Length >= room)
            {
                partial.Write(data[..room]);
                data = data[room..];
                Flush(stream, partial, now);
            }
            else
            {
                partial.Write(data);
                data = default;
            }
        }
    }

    /// <summary>The stream ended: log what is left of its last line.</summary>
    public void Complete(int stream, DateTime now)
    {
        if (_partial[stream] is { Length: > 0 } partial) Flush(stream, partial, now);
    }

    private void Flush(int stream, MemoryStream partial, DateTime now)
    {
        var line = Encode(partial.GetBuffer().AsSpan(0, (int)partial.Length), stream == 2 ? "stderr" : "stdout", now);
        partial.SetLength(0);
        if (partial.Capacity > 4096) partial.Capacity = 256;
        lock (_lock)
        {
            if (_file is null) return;
            if (_maxSize > 0 && _size > 0 && _size + line.Length > _maxSize) Rotate();
            _file.Write(line);
            _size += line.Length;
        }
    }

    private void Rotate()
    {
        _file!.Dispose();
        if (_maxFiles <= 1)
        {
            File.Delete(_path);
        }
        else
        {
            for (int i = _maxFiles - 1; i >= 1; i--)
            {
                var from = i == 1 ? _path : $"{_path}.{i - 1}";
                if (File.Exists(from)) File.Move(from, $"{_path}.{i}", overwrite: true);
            }
        }
        _file = Open();
    }

    internal static byte[] Encode(ReadOnlySpan<byte> log, string stream, DateTime time)
    {
        var sb = new StringBuilder(log.Length + 80);
        sb.Append("{\"log\":\"");
        AppendEscaped(sb, log);
        sb.Append("\",\"stream\":\"").Append(stream).Append("\",\"time\":\"").Append(FormatTime(time)).Append("\"}\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Go's RFC3339Nano: UTC, fraction without trailing zeros.</summary>
    internal static string FormatTime(DateTime t) =>
        t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture);

    // Escapes as Go's encoding/json does (Docker's encoder): quotes, backslash, control characters, the HTML
    // characters < > &, U+2028/2029; invalid UTF-8 becomes U+FFFD.
    private static void AppendEscaped(StringBuilder sb, ReadOnlySpan<byte> utf8)
    {
        var text = Encoding.UTF8.GetString(utf8);
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '<' or '>' or '&' or '\u2028' or '\u2029' or < ' ':
                    sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    break;
                default: sb.Append(c); break;
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _file?.Dispose();
            _file = null;
        }
    }
}
