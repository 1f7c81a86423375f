using System.Globalization;
using System.Text.RegularExpressions;

namespace Berth.Cli.Formatting;

// docker/go-units: human sizes (decimal), RAM sizes (binary), human durations.
internal static partial class Units
{
    private static readonly string[] DecimalAbbrs = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

    // HumanSizeWithPrecision: "%.<p>g%s" over 1000-based units; docker's tables use precision 3.
    public static string HumanSize(double size, int precision = 3)
    {
        var i = 0;
        while (size >= 1000 && i < DecimalAbbrs.Length - 1)
        {
            size /= 1000;
            i++;
        }
        return FormatG(size, precision) + DecimalAbbrs[i];
    }

    private static readonly string[] BinaryAbbrs = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

    // go-units BytesSize: "%.4g%s" over 1024-based units (docker info's Total Memory).
    public static string BytesSize(double size)
    {
        var i = 0;
        while (size >= 1024 && i < BinaryAbbrs.Length - 1)
        {
            size /= 1024;
            i++;
        }
        return FormatG(size, 4) + BinaryAbbrs[i];
    }

    private static string FormatG(double v, int precision)
    {
        var s = v.ToString("G" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        // .NET writes 1E+03 where Go writes 1e+03.
        return s.Replace("E+", "e+", StringComparison.Ordinal).Replace("E-", "e-", StringComparison.Ordinal);
    }

    // RAMInBytes: "64m" -> 64 MiB; binary multipliers like docker's --memory.
    public static bool TryParseRamInBytes(string s, out long bytes) => TryParseRamInBytes(s, out bytes, out _);

    // go-units' parseSize, with its error texts: a number, an optional space, then b or k/m/g/t/p with an optional b or ib.
    public static bool TryParseRamInBytes(string s, out long bytes, out string error)
    {
        bytes = -1;
        var sep = s.LastIndexOfAny("0123456789. ".ToCharArray());
        if (sep < 0)
        {
            error = $"invalid size: '{s}'";
            return false;
        }
        var num = s[sep] == ' ' ? s[..sep] : s[..(sep + 1)];
        var sfx = s[(sep + 1)..];
        if (!double.TryParse(num, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var size))
        {
            error = $"strconv.ParseFloat: parsing \"{num}\": invalid syntax";
            return false;
        }
        if (size < 0)
        {
            error = $"invalid size: '{s}'";
            return false;
        }
        error = $"invalid suffix: '{sfx}'";
        if (sfx.Length == 0)
        {
            bytes = (long)size;
            return true;
        }
        if (sfx.Length > 3)
        {
            return false;
        }
        sfx = sfx.ToLowerInvariant();
        error = $"invalid suffix: '{sfx}'";
        if (sfx[0] == 'b')
        {
            if (sfx.Length > 1)
            {
                return false;
            }
            bytes = (long)size;
            return true;
        }
        long mult = sfx[0] switch
        {
            'k' => 1L << 10,
            'm' => 1L << 20,
            'g' => 1L << 30,
            't' => 1L << 40,
            'p' => 1L << 50,
            _ => 0,
        };
        if (mult == 0 || (sfx.Length == 2 && sfx[1] != 'b') || (sfx.Length == 3 && sfx[1..] != "ib"))
        {
            return false;
        }
        bytes = (long)(size * mult);
        error = "";
        return true;
    }

    public static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < 1)
        {
            return "Less than a second";
        }
        if (seconds == 1)
        {
            return "1 second";
        }
        if (seconds < 60)
        {
            return $"{seconds} seconds";
        }
        var minutes = (long)d.TotalMinutes;
        if (minutes == 1)
        {
            return "About a minute";
        }
        if (minutes < 60)
        {
            return $"{minutes} minutes";
        }
        var hours = (long)Math.Round(d.TotalHours, MidpointRounding.AwayFromZero);
        if (hours == 1)
        {
            return "About an hour";
        }
        if (hours < 48)
        {
            return $"{hours} hours";
        }
        if (hours < 24 * 7 * 2)
        {
            return $"{hours / 24} days";
        }
        if (hours < 24 * 30 * 2)
        {
            return $"{hours / 24 / 7} weeks";
        }
        if (hours < 24 * 365 * 2)
        {
            return $"{hours / 24 / 30} months";
        }
        return $"{(long)d.TotalHours / 24 / 365} years";
    }

    [GeneratedRegex(@"^([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+$")]
    private static partial Regex GoDurationRegex();

    [GeneratedRegex(@"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")]
    private static partial Regex GoDurationPartRegex();

    public static bool TryParseGoDuration(string s, out TimeSpan d)
    {
        d = TimeSpan.Zero;
        if (!GoDurationRegex().IsMatch(s))
        {
            return false;
        }
        double ticks = 0;
        foreach (Match m in GoDurationPartRegex().Matches(s))
        {
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            ticks += m.Groups[2].Value switch
            {
                "ns" => n / 100,
                "us" or "µs" => n * 10,
                "ms" => n * TimeSpan.TicksPerMillisecond,
                "s" => n * TimeSpan.TicksPerSecond,
                "m" => n * TimeSpan.TicksPerMinute,
                _ => n * TimeSpan.TicksPerHour,
            };
        }
        d = TimeSpan.FromTicks((long)ticks);
        return true;
    }

    // docker's timetypes.GetTimestamp: a Go duration is relative to now, a date/RFC3339 time becomes
    // unix seconds, anything else (already a timestamp) passes through.
    public static string ToApiTimestamp(string value, DateTimeOffset now)
    {
        if (TryParseGoDuration(value, out var d))
        {
            var t = now - d;
            return FormatUnix(t);
        }
        if (value.Contains('-') || value.Contains(':'))
        {
            string[] formats = ["yyyy-MM-dd'T'HH:mm:ss.FFFFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"];
            if (DateTimeOffset.TryParseExact(value, formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
            {
                return FormatUnix(t);
            }
        }
        return value;
    }

    private static string FormatUnix(DateTimeOffset t)
    {
        var ticks = (t - DateTimeOffset.UnixEpoch).Ticks;
        var secs = ticks / TimeSpan.TicksPerSecond;
        var nanos = (ticks % TimeSpan.TicksPerSecond) * 100;
        return string.Create(CultureInfo.InvariantCulture, $"{secs}.{nanos:D9}");
    }
}
