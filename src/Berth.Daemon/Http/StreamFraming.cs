using System.Buffers.Binary;

namespace Berth.Daemon.Http;

/// <summary>Docker's multiplexed stream framing (non-TTY attach and logs): [stream, 0, 0, 0, uint32 BE length] then the bytes.</summary>
internal static class StreamFraming
{
    public const byte Stdin = 0, Stdout = 1, Stderr = 2, SystemErr = 3;

    public static async ValueTask WriteFrameAsync(Stream s, byte stream, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (data.Length == 0) return;
        var header = new byte[8];
        header[0] = stream;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)data.Length);
        await s.WriteAsync(header, ct);
        await s.WriteAsync(data, ct);
    }
}
