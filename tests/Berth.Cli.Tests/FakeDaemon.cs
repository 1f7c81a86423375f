using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Berth.Cli.Tests;

// A tiny HTTP/1.1 server on a UNIX socket under /tmp/berth-test-*: enough of the Engine API to drive the
// client (keep-alive requests, bodies by Content-Length, hijack with 101).
internal sealed class FakeDaemon : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _accept;
    private readonly List<Task> _connections = [];
    private readonly Func<Request, Connection, Task<bool>> _handler;

    public FakeDaemon(Func<Request, Connection, Task<bool>> handler)
    {
        _handler = handler;
        Dir = Path.Combine(Path.GetTempPath(), "berth-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Dir);
        SocketPath = Path.Combine(Dir, "berth.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(16);
        _accept = Task.Run(AcceptLoopAsync);
    }

    public string Dir { get; }

    public string SocketPath { get; }

    public string Host => "unix://" + SocketPath;

    public List<string> Log { get; } = [];

    public sealed record Request(string Method, string Target, Dictionary<string, string> Headers, byte[] Body)
    {
        public string Path => Target.Split('?')[0];

        public string Query => Target.Contains('?') ? Target[(Target.IndexOf('?') + 1)..] : "";
    }

    public sealed class Connection(Socket socket, NetworkStream stream)
    {
        public Socket Socket { get; } = socket;

        public NetworkStream Stream { get; } = stream;

        public async Task RespondAsync(int status, string? json = null, Dictionary<string, string>? headers = null, bool close = false)
        {
            var body = json is null ? [] : Encoding.UTF8.GetBytes(json);
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} X\r\n");
            if (headers is null || !headers.ContainsKey("Api-Version"))
            {
                sb.Append("Api-Version: 1.51\r\n");
            }
            if (json is not null)
            {
                sb.Append("Content-Type: application/json\r\n");
            }
            foreach (var (k, v) in headers ?? [])
            {
                sb.Append(CultureInfo.InvariantCulture, $"{k}: {v}\r\n");
            }
            if (close)
            {
                sb.Append("Connection: close\r\n");
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n");
            }
            sb.Append("\r\n");
            await Stream.WriteAsync(Encoding.ASCII.GetBytes(sb.ToString()));
            await Stream.WriteAsync(body);
            await Stream.FlushAsync();
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket s;
            try
            {
                s = await _listener.AcceptAsync(_cts.Token);
            }
            catch (Exception) when (_cts.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                return;
            }
            lock (_connections)
            {
                _connections.Add(Task.Run(() => ServeAsync(s)));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        var stream = new NetworkStream(socket, ownsSocket: false);
        var conn = new Connection(socket, stream);
        var buffer = new List<byte>();
        try
        {
            // Bounded: a connection serves at most 100 requests.
            for (var i = 0; i < 100 && !_cts.IsCancellationRequested; i++)
            {
                var request = await ReadRequestAsync(stream, buffer);
                if (request is null)
                {
                    return;
                }
                lock (Log)
                {
                    Log.Add($"{request.Method} {request.Target}");
                }
                if (!await _handler(request, conn))
                {
                    return;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (SocketException)
        {
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<Request?> ReadRequestAsync(NetworkStream stream, List<byte> buffer)
    {
        var chunk = new byte[4096];
        while (true)
        {
            var arr = buffer.ToArray();
            var end = arr.AsSpan().IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var head = Encoding.ASCII.GetString(arr, 0, end).Split("\r\n");
                var parts = head[0].Split(' ');
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var line in head.Skip(1))
                {
                    var c = line.IndexOf(':');
                    headers[line[..c].Trim()] = line[(c + 1)..].Trim();
                }
                var length = headers.TryGetValue("Content-Length", out var cl) ? int.Parse(cl, CultureInfo.InvariantCulture) : 0;
                var chunked = headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase);
                buffer.RemoveRange(0, end + 4);
                byte[] body;
                if (chunked)
                {
                    body = await ReadChunkedAsync(stream, buffer);
                }
                else
                {
                    while (buffer.Count < length)
                    {
                        var n = await stream.ReadAsync(chunk, _cts.Token);
                        if (n == 0)
                        {
                            return null;
                        }
                        buffer.AddRange(chunk.AsSpan(0, n).ToArray());
                    }
                    body = buffer.GetRange(0, length).ToArray();
                    buffer.RemoveRange(0, length);
                }
                return new Request(parts[0], parts[1], headers, body);
            }
            var read = await stream.ReadAsync(chunk, _cts.Token);
            if (read == 0)
            {
                return null;
            }
            buffer.AddRange(chunk.AsSpan(0, read).ToArray());
        }
    }

    private async Task<byte[]> ReadChunkedAsync(NetworkStream stream, List<byte> buffer)
    {
        var body = new List<byte>();
        var chunk = new byte[4096];
        // Bounded by the size of what the client sends; each iteration consumes one chunk.
        for (var guard = 0; guard < 1_000_000; guard++)
        {
            var arr = buffer.ToArray();
            var lineEnd = arr.AsSpan().IndexOf("\r\n"u8);
            if (lineEnd >= 0)
            {
                var size = int.Parse(Encoding.ASCII.GetString(arr, 0, lineEnd).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (buffer.Count >= lineEnd + 2 + size + 2)
                {
                    body.AddRange(buffer.GetRange(lineEnd + 2, size));
                    buffer.RemoveRange(0, lineEnd + 2 + size + 2);
                    if (size == 0)
                    {
                        return body.ToArray();
                    }
                    continue;
                }
            }
            var n = await stream.ReadAsync(chunk, _cts.Token);
            if (n == 0)
            {
                return body.ToArray();
            }
            buffer.AddRange(chunk.AsSpan(0, n).ToArray());
        }
        return body.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Dispose();
        try
        {
            await _accept;
        }
        catch (Exception)
        {
        }
        Task[] conns;
        lock (_connections)
        {
            conns = [.. _connections];
        }
        await Task.WhenAny(Task.WhenAll(conns), Task.Delay(TimeSpan.FromSeconds(10)));
        _cts.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
