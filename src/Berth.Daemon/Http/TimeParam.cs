using System.Globalization;
using System.Text.RegularExpressions;
using Berth.Core;

namespace Berth.Daemon.Http;

/// <summary>Docker's time parameters (since, until): unix seconds with optional fraction, RFC 3339, or a Go duration ago ("10m", "1h30m").</summary>
internal static partial class TimeParam
{
    [GeneratedRegex(@"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")]
    private static partial Regex GoDuration();

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")]
    private static partial Regex GoDurationPart();

    public static DateTimeOffset? Parse(string? s, DateTimeOffset? now = null)
    {
        if (string.IsNullOrEmpty(s)) return null;
        if (decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var secs))
            return secs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)(secs * 1000));
        if (GoDuration().IsMatch(s))
        {
            double ms = 0;
            foreach (Match m in GoDurationPart().Matches(s))
            {
                var v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                ms += m.Groups[2].Value switch { "h" => v * 3600_000, "m" => v * 60_000, "s" => v * 1000, "ms" => v, "us" or "µs" => v / 1000, _ => v / 1e6 };
            }
            return (now ?? DateTimeOffset.UtcNow).AddMilliseconds(-ms);
        }
        if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t;
        throw BerthException.Invalid($"invalid time value: \"{s}\"");
    }
}
