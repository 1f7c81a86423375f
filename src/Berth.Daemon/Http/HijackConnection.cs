using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Berth.Api;
using Microsoft.AspNetCore.Http;

namespace Berth.Daemon.Http;

/// <summary>A request that takes over its connection (<c>Upgrade: tcp</c>): attach and exec start.</summary>
internal sealed record HijackRequest(string Method, string Path, IQueryCollection Query, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>
/// The connection a hijack handler owns: it answers once (an error, or 101 and then raw bytes both ways).
/// Reading returns 0 when the client half-closes; writing still works, as docker's clients expect.
/// </summary>
internal sealed class HijackConnection(PipeReader input, PipeWriter output) : Stream
{
    private bool _answered;

    public bool Answered => _answered;

    public async Task UpgradeAsync(string contentType, CancellationToken ct = default)
    {
        _answered = true;
        var head = "HTTP/1.1 101 UPGRADED\r\n" +
                   $"Content-Type: {contentType}\r\n" +
                   "Connection: Upgrade\r\nUpgrade: tcp\r\n" +
                   $"Api-Version: {ApiVersion.Current}\r\nServer: {ApiVersion.ServerHeader}\r\n\r\n";
        await output.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
    }

    public async Task ErrorAsync(int status, string message, CancellationToken ct = default)
    {
        _answered = true;
        var body = HttpJson.Line(new ErrorResponse { Message = message }, Wire.Json.ErrorResponse);
        var head = $"HTTP/1.1 {status} {ReasonPhrase(status)}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n" +
                   $"Api-Version: {ApiVersion.Current}\r\nServer: {ApiVersion.ServerHeader}\r\nConnection: close\r\n\r\n";
        await output.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
        await output.WriteAsync(body, ct);
    }

    public async Task NoContentAsync(CancellationToken ct = default)
    {
        _answered = true;
        await output.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 204 No Content\r\nApi-Version: {ApiVersion.Current}\r\nServer: {ApiVersion.ServerHeader}\r\n\r\n"), ct);
    }

    private static string ReasonPhrase(int status) => status switch
    {
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        _ => "Error",
    };

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        while (true)
        {
            var r = await input.ReadAsync(ct);
            var buf = r.Buffer;
            if (!buf.IsEmpty)
            {
                int n = (int)Math.Min(buf.Length, buffer.Length);
                buf.Slice(0, n).CopyTo(buffer.Span);
                input.AdvanceTo(buf.GetPosition(n));
                return n;
            }
            input.AdvanceTo(buf.End);
            if (r.IsCompleted || r.IsCanceled) return 0;
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        var r = await output.WriteAsync(buffer, ct);
        if (r.IsCompleted) throw new IOException("the client closed the connection");
    }

    public override async Task FlushAsync(CancellationToken ct)
    {
        var r = await output.FlushAsync(ct);
        if (r.IsCompleted) throw new IOException("the client closed the connection");
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();
    public override void Flush() => FlushAsync().GetAwaiter().GetResult();
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
