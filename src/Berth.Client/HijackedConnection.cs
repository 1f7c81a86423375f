using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Berth.Client;

// A connection taken over after "101 UPGRADED": full duplex raw bytes (multiplexed frames unless TTY).
// CloseWrite half-closes the socket so the container sees EOF on stdin while output keeps flowing.
public sealed class HijackedConnection : IAsyncDisposable, IDisposable
{
    private readonly Socket _socket;

    internal HijackedConnection(Socket socket, Stream stream)
    {
        _socket = socket;
        Stream = stream;
    }

    public Stream Stream { get; }

    public void CloseWrite()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Already closed by the peer: nothing left to half-close.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        Stream.Dispose();
        _socket.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed partial class BerthClient
{
    // Writes the request on a raw socket with "Connection: Upgrade, Upgrade: tcp" and reads the response
    // head ourselves: HttpClient cannot hand back a connection after 101.
    internal async Task<HijackedConnection> HijackAsync(string path, Query? query, byte[]? body, string? contentType, CancellationToken ct)
    {
        var uri = await VersionedPathAsync(path, query, ct).ConfigureAwait(false);
        var socket = await Host.ConnectAsync(ct).ConfigureAwait(false);
        var ok = false;
        try
        {
            var stream = new NetworkStream(socket, ownsSocket: false);
            var head = new StringBuilder();
            head.Append(CultureInfo.InvariantCulture, $"POST {uri} HTTP/1.1\r\n");
            head.Append(CultureInfo.InvariantCulture, $"Host: {Host.HostHeader}\r\n");
            head.Append("User-Agent: Berth-Client/1.0\r\n");
            head.Append("Connection: Upgrade\r\nUpgrade: tcp\r\n");
            if (body is not null)
            {
                head.Append(CultureInfo.InvariantCulture, $"Content-Type: {contentType ?? "application/json"}\r\n");
                head.Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n");
            }
            else
            {
                head.Append("Content-Type: text/plain\r\n");
            }
            head.Append("\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), ct).ConfigureAwait(false);
            if (body is not null)
            {
                await stream.WriteAsync(body, ct).ConfigureAwait(false);
            }
            await stream.FlushAsync(ct).ConfigureAwait(false);

            var (status, headers, leftover) = await ReadResponseHeadAsync(stream, ct).ConfigureAwait(false);
            if (status >= 400)
            {
                var errorBody = await ReadErrorBodyAsync(stream, headers, leftover, ct).ConfigureAwait(false);
                throw new DockerApiException(status, ErrorMessage(errorBody, (System.Net.HttpStatusCode)status));
            }
            if (status != 101 && status != 200)
            {
                throw new DockerApiException(status, $"unexpected status {status} for hijacked request");
            }
            ok = true;
            return new HijackedConnection(socket, new PrefixedStream(leftover, stream));
        }
        finally
        {
            if (!ok)
            {
                socket.Dispose();
            }
        }
    }

    internal static async Task<(int Status, Dictionary<string, string> Headers, byte[] Leftover)> ReadResponseHeadAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new byte[8192];
        var filled = 0;
        while (true)
        {
            var end = IndexOfHeadEnd(buffer.AsSpan(0, filled));
            if (end >= 0)
            {
                var text = Encoding.ASCII.GetString(buffer, 0, end);
                var lines = text.Split("\r\n");
                var parts = lines[0].Split(' ', 3);
                if (parts.Length < 2 || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var status))
                {
                    throw new DockerApiException(500, $"malformed response from daemon: {lines[0]}");
                }
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var line in lines.Skip(1))
                {
                    var colon = line.IndexOf(':');
                    if (colon > 0)
                    {
                        headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                    }
                }
                return (status, headers, buffer.AsSpan(end + 4, filled - end - 4).ToArray());
            }
            if (filled == buffer.Length)
            {
                if (buffer.Length >= 1 << 20)
                {
                    throw new DockerApiException(500, "response head from daemon too large");
                }
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            var n = await stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
            if (n == 0)
            {
                throw new DockerApiException(500, "daemon closed the connection before answering");
            }
            filled += n;
        }
    }

    private static int IndexOfHeadEnd(ReadOnlySpan<byte> data) => data.IndexOf("\r\n\r\n"u8);

    private static async Task<string> ReadErrorBodyAsync(Stream stream, Dictionary<string, string> headers, byte[] leftover, CancellationToken ct)
    {
        var ms = new MemoryStream();
        ms.Write(leftover);
        if (headers.TryGetValue("Content-Length", out var cl) && int.TryParse(cl, CultureInfo.InvariantCulture, out var length))
        {
            var buf = new byte[4096];
            while (ms.Length < length)
            {
                var n = await stream.ReadAsync(buf.AsMemory(0, (int)Math.Min(buf.Length, length - ms.Length)), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                ms.Write(buf, 0, n);
            }
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}

// The bytes read past the response head, then the socket.
internal sealed class PrefixedStream(byte[] prefix, Stream inner) : Stream
{
    private int _offset;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_offset < prefix.Length)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _offset);
            prefix.AsSpan(_offset, n).CopyTo(buffer);
            _offset += n;
            return n;
        }
        return inner.Read(buffer);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_offset < prefix.Length)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _offset);
            prefix.AsSpan(_offset, n).CopyTo(buffer.Span);
            _offset += n;
            return ValueTask.FromResult(n);
        }
        return inner.ReadAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
