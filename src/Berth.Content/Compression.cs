using System.IO.Compression;
using Berth.Core;

namespace Berth.Content;

/// <summary>Recognises a layer's compression by its magic bytes and hands back the uncompressed tar stream.</summary>
public static class Compression
{
    private static ReadOnlySpan<byte> GzipMagic => [0x1f, 0x8b];
    private static ReadOnlySpan<byte> ZstdMagic => [0x28, 0xb5, 0x2f, 0xfd];

    /// <summary>
    /// Peeks at the first bytes of <paramref name="stream"/> (which need not be seekable) and returns the detected
    /// compression plus a stream that still yields every byte, the peeked ones first.
    /// </summary>
    public static (LayerCompression Compression, Stream Stream) Detect(Stream stream, bool leaveOpen = false)
    {
        var head = new byte[4];
        int n = 0;
        while (n < head.Length)
        {
            int r = stream.Read(head, n, head.Length - n);
            if (r == 0) break;
            n += r;
        }
        var peeked = head.AsSpan(0, n);
        var kind = peeked.StartsWith(GzipMagic) ? LayerCompression.Gzip
            : peeked.StartsWith(ZstdMagic) ? LayerCompression.Zstd
            : LayerCompression.None;
        return (kind, new PrefixedStream(head[..n], stream, leaveOpen));
    }

    /// <summary>Returns the uncompressed content of <paramref name="stream"/>; disposing the result disposes the input unless <paramref name="leaveOpen"/>.</summary>
    public static Stream Decompress(Stream stream, bool leaveOpen = false)
    {
        var (kind, s) = Detect(stream, leaveOpen);
        return kind switch
        {
            LayerCompression.Gzip => new GZipStream(s, CompressionMode.Decompress, leaveOpen: false),
            LayerCompression.Zstd => throw new BerthException(ErrorKind.NotImplemented, "zstd-compressed layers are not supported yet"),
            _ => s,
        };
    }

    /// <summary>Replays a few already-read bytes, then continues with the inner stream.</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner, bool leaveOpen) : Stream
    {
        private int _pos;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_pos < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _pos);
                prefix.AsSpan(_pos, n).CopyTo(buffer);
                _pos += n;
                return n;
            }
            return inner.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_pos < prefix.Length) return Read(buffer.Span);
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !leaveOpen) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
