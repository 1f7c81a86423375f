namespace Berth.Images.Transfer;

/// <summary>
/// One progress line of a pull or push, in Docker's vocabulary (<c>Pulling fs layer</c>, <c>Downloading</c>,
/// <c>Pushed</c>, ...). <see cref="Id"/> is the short layer ID the line belongs to, or null for an overall line;
/// <see cref="Current"/>/<see cref="Total"/> are bytes for the bar.
/// </summary>
public readonly record struct TransferProgress(string? Id, string Status, long? Current = null, long? Total = null)
{
    /// <summary>Docker's short ID for a digest: the first 12 hex digits.</summary>
    public static string ShortId(Core.Digest d) => d.Hex[..12];

    /// <summary>Progress comes from several transfers at once; the returned sink hands it on one line at a time.</summary>
    public static Action<TransferProgress> Synchronized(Action<TransferProgress> inner)
    {
        var gate = new Lock();
        return p => { lock (gate) inner(p); };
    }
}

/// <summary>
/// Limits how often byte-count updates go out (one every 100 ms per layer, like dockerd), while status changes
/// always go out. Not thread-safe: one per layer.
/// </summary>
internal sealed class ProgressThrottle(Action<TransferProgress> sink, string id, string status, long total)
{
    private long _lastTick = long.MinValue;

    public void Report(long current)
    {
        long now = Environment.TickCount64;
        if (current < total && now - _lastTick < 100) return;
        _lastTick = now;
        sink(new TransferProgress(id, status, current, total));
    }
}
