using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Daemon.Http;

namespace Berth.Daemon.Events;

/// <summary>
/// The since/until of <c>GET /events</c> in nanoseconds. The docker CLI sends unix seconds with nine fraction digits
/// ("1700000000.123456789"), read here to the nanosecond; the other forms Docker accepts go through <see cref="TimeParam"/>.
/// Unlike elsewhere, "0" is a time (the epoch: replay everything buffered), as in dockerd.
/// </summary>
internal static partial class EventTime
{
    [GeneratedRegex(@"^(\d{1,12})(?:\.(\d{1,9}))?$")]
    private static partial Regex UnixSeconds();

    public static long? Parse(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(value)) return null;
        var m = UnixSeconds().Match(value);
        if (m.Success)
        {
            long secs = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            long nanos = m.Groups[2].Success ? long.Parse(m.Groups[2].Value.PadRight(9, '0'), CultureInfo.InvariantCulture) : 0;
            // Nanoseconds since the epoch fit a long until the year 2262; later times are the client's error.
            if (secs > long.MaxValue / 1_000_000_000 - 1)
                throw Core.BerthException.Invalid($"invalid time {value}: too far in the future");
            return secs * 1_000_000_000 + nanos;
        }
        var t = TimeParam.Parse(value, now);
        return t is null ? null : (t.Value - DateTimeOffset.UnixEpoch).Ticks * 100;
    }
}
