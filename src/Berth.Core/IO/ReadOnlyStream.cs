namespace Berth.Core.IO;

/// <summary>
/// The boilerplate of a forward-only, read-only stream wrapper, so that each wrapper (progress, prefix, exact length,
/// hashing) says only what it does with the bytes: it implements the span and memory reads, nothing else.
/// </summary>
public abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public abstract override int Read(Span<byte> buffer);

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>
/// Exactly <paramref name="length"/> bytes of an inner stream (left open): reads stop there, and an inner stream that
/// ends sooner is an error made by <paramref name="truncated"/> (given how many bytes came), never a short read.
/// </summary>
public sealed class ExactLengthStream(Stream inner, long length, Func<long, Exception> truncated) : ReadOnlyStream
{
    private long _pos;

    public override long Length => length;
    public override long Position { get => _pos; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        int want = (int)Math.Min(buffer.Length, length - _pos);
        return Advance(want == 0 ? 0 : inner.Read(buffer[..want]), want);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int want = (int)Math.Min(buffer.Length, length - _pos);
        return Advance(want == 0 ? 0 : await inner.ReadAsync(buffer[..want], cancellationToken).ConfigureAwait(false), want);
    }

    private int Advance(int n, int want)
    {
        if (n == 0 && want > 0) throw truncated(_pos);
        _pos += n;
        return n;
    }
}
