using Berth.Core.IO;

namespace Berth.Content;

/// <summary>
/// Passes reads through to an inner stream and reports the running total of bytes read, for progress displays
/// (pull's Extracting, push's Pushing). The callback runs on the reading thread and must be cheap.
/// </summary>
public sealed class ProgressStream(Stream inner, Action<long> onProgress, bool leaveOpen = false) : ReadOnlyStream
{
    private long _total;

    public override long Length => inner.Length;
    public override long Position { get => _total; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    private int Count(int n)
    {
        if (n > 0)
        {
            _total += n;
            onProgress(_total);
        }
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen) inner.Dispose();
        base.Dispose(disposing);
    }
}
