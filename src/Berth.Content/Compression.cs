using System.IO.Compression;
using Berth.Core;
using Berth.Core.IO;

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
        return (Classify(head.AsSpan(0, n)), new PrefixedStream(head[..n], stream, leaveOpen));
    }

    /// <summary><see cref="Detect"/> without blocking reads (a request body, which Kestrel only reads asynchronously).</summary>
    public static async Task<(LayerCompression Compression, Stream Stream)> DetectAsync(Stream stream, CancellationToken ct, bool leaveOpen = false)
    {
        var (head, whole) = await PeekAsync(stream, 4, ct, leaveOpen).ConfigureAwait(false);
        return (Classify(head), whole);
    }

    /// <summary>
    /// Reads up to <paramref name="count"/> bytes ahead and returns them with a stream that still yields every byte,
    /// those first: for callers that recognise more formats than layers come in (an archive's xz or bzip2).
    /// </summary>
    public static async Task<(byte[] Head, Stream Whole)> PeekAsync(Stream stream, int count, CancellationToken ct, bool leaveOpen = false)
    {
        var head = new byte[count];
        int n = 0;
        while (n < head.Length)
        {
            int r = await stream.ReadAsync(head.AsMemory(n), ct).ConfigureAwait(false);
            if (r == 0) break;
            n += r;
        }
        return (head[..n], new PrefixedStream(head[..n], stream, leaveOpen));
    }

    /// <summary>Undoes whatever compression <paramref name="kind"/> names over <paramref name="stream"/>, which it then owns.</summary>
    public static Stream Open(LayerCompression kind, Stream stream) => kind switch
    {
        LayerCompression.Gzip => new GZipStream(stream, CompressionMode.Decompress, leaveOpen: false),
        LayerCompression.Zstd => new ZstdSharp.DecompressionStream(stream, leaveOpen: false),
        _ => stream,
    };

    /// <summary>The compression whose magic number <paramref name="head"/> starts with.</summary>
    public static LayerCompression Classify(ReadOnlySpan<byte> head) =>
        head.StartsWith(GzipMagic) ? LayerCompression.Gzip
        : head.StartsWith(ZstdMagic) ? LayerCompression.Zstd
        : LayerCompression.None;

    private static ReadOnlySpan<byte> XzMagic => [0xfd, 0x37, 0x7a, 0x58, 0x5a];
    private static ReadOnlySpan<byte> Bzip2Magic => "BZh"u8;

    /// <summary>
    /// Returns the uncompressed content of <paramref name="stream"/>, which may be plain or in gzip, zstd, xz or bzip2
    /// (what dockerd reads in an import, a load, a build context or an archive ADD unpacks); disposing the result
    /// disposes the input unless <paramref name="leaveOpen"/>.
    /// </summary>
    public static Stream Decompress(Stream stream, bool leaveOpen = false)
    {
        var head = new byte[5];
        int n = 0;
        while (n < head.Length && stream.Read(head, n, head.Length - n) is var r and > 0) n += r;
        return OpenAny(head.AsSpan(0, n), new PrefixedStream(head[..n], stream, leaveOpen));
    }

    /// <summary>
    /// <see cref="Decompress"/> without blocking reads of <paramref name="stream"/> (a request body): for an archive
    /// loaded as it arrives. The xz and bzip2 decoders read synchronously, so under them each read waits for the body.
    /// </summary>
    public static async Task<Stream> DecompressAsync(Stream stream, CancellationToken ct, bool leaveOpen = false)
    {
        var (head, whole) = await PeekAsync(stream, 5, ct, leaveOpen).ConfigureAwait(false);
        bool syncDecoder = head.AsSpan().StartsWith(XzMagic) || head.AsSpan().StartsWith(Bzip2Magic);
        return OpenAny(head, syncDecoder ? new WaitingReadStream(whole) : whole);
    }

    private static Stream OpenAny(ReadOnlySpan<byte> magic, Stream whole)
    {
        bool xz = magic.StartsWith(XzMagic);
        if (!xz && !magic.StartsWith(Bzip2Magic)) return Open(Classify(magic), whole);
        try
        {
            // The xz decoder asks where it is in its input: a counting stream tells it, for an input that cannot seek.
            return new DecoderStream(xz
                ? new SharpCompress.Compressors.Xz.XZStream(new CountingStream(whole))
                : SharpCompress.Compressors.BZip2.BZip2Stream.Create(whole, SharpCompress.Compressors.CompressionMode.Decompress,
                    decompressConcatenated: true, leaveOpen: false, tolerateTruncatedStream: false), whole);
        }
        catch (Exception e) when (e is not (IOException or OperationCanceledException or ObjectDisposedException))
        {
            throw new InvalidDataException($"corrupt compressed data: {e.Message}", e);
        }
    }

    /// <summary>Passes reads through and answers <see cref="Stream.Position"/> with how many bytes it has given.</summary>
    private sealed class CountingStream(Stream inner) : ReadOnlyStream
    {
        private long _read;

        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            _read += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _read += n;
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// A decoder from the compression library whose complaints about its input become <see cref="InvalidDataException"/>,
    /// as those of .NET's own decoders are: callers treat a broken archive alike whatever its compression.
    /// </summary>
    private sealed class DecoderStream(Stream decoder, Stream input) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            try { return decoder.Read(buffer); }
            catch (Exception e) when (e is not (IOException or OperationCanceledException or ObjectDisposedException))
            {
                throw new InvalidDataException($"corrupt compressed data: {e.Message}", e);
            }
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                decoder.Dispose();
                input.Dispose(); // whether or not the decoder closes what it reads
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>Serves synchronous reads from an asynchronous-only stream by waiting for each read.</summary>
    private sealed class WaitingReadStream(Stream inner) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
            try
            {
                int n = inner.ReadAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
                rented.AsSpan(0, n).CopyTo(buffer);
                return n;
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// A write-only stream that compresses what is written to it into <paramref name="output"/> (left open).
    /// Dispose it to write the format's trailer. <see cref="LayerCompression.None"/> passes bytes through.
    /// </summary>
    public static Stream CompressTo(Stream output, LayerCompression kind) => kind switch
    {
        // Fastest keeps a push limited by the network rather than the CPU, as dockerd's default does.
        LayerCompression.Gzip => new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true),
        LayerCompression.Zstd => new ZstdSharp.CompressionStream(output, level: 3, leaveOpen: true),
        _ => new NonClosingStream(output),
    };

    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);
    }

    /// <summary>Replays a few already-read bytes, then continues with the inner stream.</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner, bool leaveOpen) : ReadOnlyStream
    {
        private int _pos;

        public override int Read(Span<byte> buffer) => _pos < prefix.Length ? Take(buffer) : inner.Read(buffer);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _pos < prefix.Length ? Take(buffer.Span) : await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);

        private int Take(Span<byte> buffer)
        {
            int n = Math.Min(buffer.Length, prefix.Length - _pos);
            prefix.AsSpan(_pos, n).CopyTo(buffer);
            _pos += n;
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !leaveOpen) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
