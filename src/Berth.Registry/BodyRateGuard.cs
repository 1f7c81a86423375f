using Microsoft.AspNetCore.Http;

namespace Berth.Registry;

/// <summary>
/// The request body of a blob upload, with a minimum data rate checked per window: in every <c>window</c> during which
/// the registry is waiting for body bytes, at least <c>bytesPerSecond × window</c> must arrive, else the connection is
/// cut off. Kestrel's own <c>MinRequestBodyDataRate</c> averages over the whole body, so a client that sends 1 GB fast
/// and then stalls would hold its connection (and the upload's lock) for days; per window, a stall is noticed within
/// two windows, while a client that is slow but steady is never cut off. What the cut-off request had appended is cut
/// back by <see cref="BlobStore.AppendAsync"/>, so the upload stays resumable at its previous offset.
/// </summary>
internal sealed class BodyRateGuard : Berth.Core.IO.ReadOnlyStream
{
    private readonly Stream _inner;
    private readonly HttpContext _ctx;
    private readonly long _required;
    private readonly ITimer _timer;
    private long _windowBytes; // bytes received since the last tick; exchanged to 0 by each tick
    private int _reading;      // 1 while a read is pending: time the registry spends elsewhere does not count against the client
    private volatile bool _cutOff;

    private BodyRateGuard(HttpContext ctx, double bytesPerSecond, TimeSpan window, TimeProvider time)
    {
        _ctx = ctx;
        _inner = ctx.Request.Body;
        _required = Math.Max(1, (long)(bytesPerSecond * window.TotalSeconds));
        _timer = time.CreateTimer(static s => ((BodyRateGuard)s!).Tick(), this, window, window);
    }

    /// <summary>The request's body, guarded when <paramref name="bytesPerSecond"/> is positive.</summary>
    public static Stream For(HttpContext ctx, double bytesPerSecond, TimeSpan window, TimeProvider time) =>
        bytesPerSecond > 0 && window > TimeSpan.Zero ? new BodyRateGuard(ctx, bytesPerSecond, window, time) : ctx.Request.Body;

    /// <summary>Whether this body was cut off for arriving too slowly.</summary>
    public bool CutOff => _cutOff;

    private void Tick()
    {
        var received = Interlocked.Exchange(ref _windowBytes, 0);
        if (Volatile.Read(ref _reading) == 0 || received >= _required || _cutOff) return;
        _cutOff = true;
        _timer.Dispose();
        _ctx.Abort();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Volatile.Write(ref _reading, 1);
        int n;
        try
        {
            n = await _inner.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception e) when (_cutOff && e is not RequestBodyTooSlowException)
        {
            throw new RequestBodyTooSlowException(e);
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
        // An abort may also end the body early without an error: the bytes of a cut-off request never count.
        if (_cutOff) throw new RequestBodyTooSlowException(null);
        Interlocked.Add(ref _windowBytes, n);
        return n;
    }

    // Kestrel's request body is read asynchronously only.
    public override int Read(Span<byte> buffer) => throw new NotSupportedException();


    protected override void Dispose(bool disposing)
    {
        if (disposing) _timer.Dispose();
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        _timer.Dispose();
        return base.DisposeAsync();
    }
}

/// <summary>A request body that arrived more slowly than the configured minimum rate; the connection is already closed.</summary>
internal sealed class RequestBodyTooSlowException(Exception? inner)
    : IOException("the request body arrived more slowly than the minimum data rate", inner);
