using System.Globalization;
using Berth.Content;

namespace Berth.Builder;

/// <summary>
/// HEALTHCHECK's flags as dockerd reads them: once, when it parses the file (a bad one fails at its line, before any
/// step runs), and the same reading gives the values the step records.
/// </summary>
internal static class HealthcheckFlags
{
    /// <summary><paramref name="hc"/> with flag <paramref name="name"/> set; a <see cref="FormatException"/> carries dockerd's words.</summary>
    public static HealthConfig Apply(HealthConfig hc, string name, string value) => name switch
    {
        "interval" => hc with { Interval = Interval(name, value) },
        "timeout" => hc with { Timeout = Interval(name, value) },
        "start-period" => hc with { StartPeriod = Interval(name, value) },
        "start-interval" => hc with { StartInterval = Interval(name, value) },
        "retries" => hc with { Retries = Retries(value) },
        _ => hc,
    };

    /// <summary>dockerd's parseOptInterval: empty is the default; anything else is a Go duration of at least 1ms.</summary>
    private static long? Interval(string name, string value)
    {
        if (value.Length == 0) return null;
        long ns;
        // A Go duration may carry a sign; a negative one is merely less than 1ms.
        try { ns = value[0] is '-' or '+' ? (value[0] == '-' ? -1 : 1) * Executor.Duration(value[1..]) : Executor.Duration(value); }
        catch (Exception e) when (e is FormatException or OverflowException) { throw new FormatException($"time: invalid duration \"{value}\""); }
        return ns >= 1_000_000 ? ns : throw new FormatException($"Interval \"{name}\" cannot be less than 1ms");
    }

    private static int? Retries(string value)
    {
        if (value.Length == 0) return null;
        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            throw new FormatException($"strconv.ParseInt: parsing \"{value}\": invalid syntax");
        return n >= 1 ? n : throw new FormatException($"--retries must be at least 1 (not {n})");
    }
}
