using System.Buffers;
using System.Buffers.Binary;

namespace Berth.Client;

public enum StdStream : byte
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
    SystemErr = 3,
}

// Docker's multiplexed stream: each frame is [stream type, 0, 0, 0, big-endian uint32 length] + payload.
public static class StdCopy
{
    public const int HeaderSize = 8;

    // Copies frames until EOF; returns the bytes written. A SystemErr frame is the daemon reporting a failure.
    public static async Task<long> DemultiplexAsync(Stream source, Stream stdout, Stream stderr, CancellationToken ct = default)
    {
        var header = new byte[HeaderSize];
        var buffer = ArrayPool<byte>.Shared.Rent(32 * 1024);
        long total = 0;
        try
        {
            while (true)
            {
                if (!await ReadExactlyOrEofAsync(source, header, ct).ConfigureAwait(false))
                {
                    return total;
                }
                var kind = (StdStream)header[0];
                var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
                Stream? target = kind switch
                {
                    StdStream.Stdin or StdStream.Stdout => stdout,
                    StdStream.Stderr => stderr,
                    StdStream.SystemErr => null,
                    _ => throw new InvalidDataException($"Unrecognized input header: {header[0]}"),
                };
                var systemErr = target is null ? new MemoryStream() : null;
                var remaining = (long)length;
                while (remaining > 0)
                {
                    var n = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), ct).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new EndOfStreamException("stream ended inside a frame");
                    }
                    await (target ?? systemErr!).WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                    remaining -= n;
                    total += n;
                }
                if (systemErr is not null)
                {
                    throw new DockerApiException(500, $"error from daemon in stream: {System.Text.Encoding.UTF8.GetString(systemErr.ToArray())}");
                }
                await (target ?? stdout).FlushAsync(ct).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<bool> ReadExactlyOrEofAsync(Stream source, byte[] header, CancellationToken ct)
    {
        var read = 0;
        while (read < header.Length)
        {
            var n = await source.ReadAsync(header.AsMemory(read), ct).ConfigureAwait(false);
            if (n == 0)
            {
                if (read == 0)
                {
                    return false;
                }
                throw new EndOfStreamException("stream ended inside a frame header");
            }
            read += n;
        }
        return true;
    }

    // One frame, for servers and tests.
    public static byte[] Frame(StdStream stream, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderSize + payload.Length];
        frame[0] = (byte)stream;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }
}
