using System.Buffers.Binary;
using Berth.Core;

namespace Berth.Runtime.Shim;

/// <summary>
/// The daemon↔shim wire: frames of [type:1][length:4, big-endian][payload]. Each connection carries one request;
/// an attach connection then stays open with output frames one way and stdin frames the other, and ends with Exit.
/// </summary>
internal static class ShimProtocol
{
    // Requests.
    public const byte Start = (byte)'s', Kill = (byte)'k', Wait = (byte)'w', Attach = (byte)'a', State = (byte)'t',
        Delete = (byte)'d', Stdin = (byte)'i', CloseStdin = (byte)'c', Exec = (byte)'e',
        Resize = (byte)'r';

    // Pause/Resume freeze and thaw the container (runc pause/resume); Update carries an OCI resources document for
    // runc update; RuncStatus asks runc itself for the container's status (the paused state survives a daemon restart).
    public const byte Pause = (byte)'p', Resume = (byte)'g', Update = (byte)'u', RuncStatus = (byte)'q';

    // Replies and attach traffic.
    public const byte Ok = (byte)'O', Error = (byte)'E', Stdout = (byte)'1', Stderr = (byte)'2', Exit = (byte)'X';

    // Attach flags.
    public const byte AttachStdin = 1, AttachStdout = 2, AttachStderr = 4;

    public const int HeaderSize = 5;

    // Bigger frames are a protocol error: output is sent in pipe-read-sized chunks and stdin is chunked by the client.
    public const int MaxPayload = 1 << 20;

    public static void WriteHeader(Span<byte> header, byte type, int length)
    {
        header[0] = type;
        BinaryPrimitives.WriteInt32BigEndian(header[1..], length);
    }

    public static void Write(Stream s, byte type, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        WriteHeader(header, type, payload.Length);
        s.Write(header);
        if (payload.Length > 0) s.Write(payload);
        s.Flush();
    }

    public static async ValueTask WriteAsync(Stream s, byte type, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        var header = new byte[HeaderSize];
        WriteHeader(header, type, payload.Length);
        await s.WriteAsync(header, ct).ConfigureAwait(false);
        if (payload.Length > 0) await s.WriteAsync(payload, ct).ConfigureAwait(false);
        await s.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Reads one frame; null at a clean end of stream.</summary>
    public static (byte Type, byte[] Payload)? Read(Stream s)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        int got = s.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false);
        if (got == 0) return null;
        if (got < HeaderSize) throw new EndOfStreamException("truncated shim frame");
        int len = ParseLength(header);
        var payload = len == 0 ? [] : new byte[len];
        s.ReadExactly(payload);
        return (header[0], payload);
    }

    public static async ValueTask<(byte Type, byte[] Payload)?> ReadAsync(Stream s, CancellationToken ct)
    {
        var header = new byte[HeaderSize];
        int got = await s.ReadAtLeastAsync(header, HeaderSize, throwOnEndOfStream: false, ct).ConfigureAwait(false);
        if (got == 0) return null;
        if (got < HeaderSize) throw new EndOfStreamException("truncated shim frame");
        int len = ParseLength(header);
        var payload = len == 0 ? [] : new byte[len];
        await s.ReadExactlyAsync(payload, ct).ConfigureAwait(false);
        return (header[0], payload);
    }

    private static int ParseLength(ReadOnlySpan<byte> header)
    {
        int len = BinaryPrimitives.ReadInt32BigEndian(header[1..]);
        if (len < 0 || len > MaxPayload) throw new BerthException(ErrorKind.InvalidArgument, $"shim frame too large: {len} bytes");
        return len;
    }

    public static byte[] EncodeSize(int rows, int cols)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)Math.Clamp(rows, 0, ushort.MaxValue));
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)Math.Clamp(cols, 0, ushort.MaxValue));
        return b;
    }

    /// <summary>Error payloads are "kind:message" so the kind survives the trip.</summary>
    public static byte[] EncodeError(BerthException e) => System.Text.Encoding.UTF8.GetBytes($"{e.Kind}:{e.Message}");

    public static BerthException DecodeError(ReadOnlySpan<byte> payload)
    {
        var text = System.Text.Encoding.UTF8.GetString(payload);
        int colon = text.IndexOf(':');
        if (colon > 0 && Enum.TryParse<ErrorKind>(text[..colon], out var kind))
            return new BerthException(kind, text[(colon + 1)..]);
        return new BerthException(ErrorKind.Unknown, text);
    }
}
