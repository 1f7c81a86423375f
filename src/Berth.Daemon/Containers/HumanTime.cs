namespace Berth.Daemon.Containers;

/// <summary>Docker's go-units HumanDuration, used in the Status column of container lists.</summary>
internal static class HumanTime
{
    public static string Duration(TimeSpan d)
    {
        double seconds = d.TotalSeconds;
        if (seconds < 1) return "Less than a second";
        if (seconds < 2) return "1 second";
        if (seconds < 60) return $"{(int)seconds} seconds";
        double minutes = d.TotalMinutes;
        if (minutes < 2) return "About a minute";
        if (minutes < 60) return $"{(int)minutes} minutes";
        // go-units: hours rounded half up, and the rounded value decides every later bucket.
        int hours = (int)(d.TotalHours + 0.5);
        if (hours < 2) return "About an hour";
        if (hours < 48) return $"{hours} hours";
        if (hours < 24 * 7 * 2) return $"{hours / 24} days";
        if (hours < 24 * 30 * 2) return $"{hours / 24 / 7} weeks";
        if (hours < 24 * 365 * 2) return $"{hours / 24 / 30} months";
        return $"{hours / 24 / 365} years";
    }

    public static string Rfc3339(DateTimeOffset? t) =>
        t is null ? "0001-01-01T00:00:00Z" : t.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'");

    /// <summary>Go's RFC3339Nano: up to 9 fractional digits, trailing zeros trimmed.</summary>
    public static string Rfc3339Nano(DateTimeOffset t)
    {
        var u = t.UtcDateTime;
        var frac = (u.Ticks % TimeSpan.TicksPerSecond * 100).ToString("D9").TrimEnd('0');
        return u.ToString("yyyy-MM-dd'T'HH:mm:ss") + (frac.Length > 0 ? "." + frac : "") + "Z";
    }
}
