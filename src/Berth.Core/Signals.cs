namespace Berth.Core;

/// <summary>
/// Signal names and numbers as <c>docker kill -s</c> accepts them (SIGTERM, TERM, 15), and as a STOPSIGNAL is checked:
/// the one table the daemon and the builder share.
/// </summary>
public static class Signals
{
    private static readonly Dictionary<string, int> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["HUP"] = 1, ["INT"] = 2, ["QUIT"] = 3, ["ILL"] = 4, ["TRAP"] = 5, ["ABRT"] = 6, ["IOT"] = 6, ["BUS"] = 7,
        ["FPE"] = 8, ["KILL"] = 9, ["USR1"] = 10, ["SEGV"] = 11, ["USR2"] = 12, ["PIPE"] = 13, ["ALRM"] = 14,
        ["TERM"] = 15, ["STKFLT"] = 16, ["CHLD"] = 17, ["CONT"] = 18, ["STOP"] = 19, ["TSTP"] = 20, ["TTIN"] = 21,
        ["TTOU"] = 22, ["URG"] = 23, ["XCPU"] = 24, ["XFSZ"] = 25, ["VTALRM"] = 26, ["PROF"] = 27, ["WINCH"] = 28,
        ["IO"] = 29, ["POLL"] = 29, ["PWR"] = 30, ["SYS"] = 31,
        // Go's names for SIGCHLD and SIGSYS, which dockerd accepts too.
        ["CLD"] = 17, ["UNUSED"] = 31,
    };

    /// <summary>
    /// A STOPSIGNAL as dockerd's build accepts it: a name <see cref="Parse"/> knows, or any number above 0. A number
    /// past 64 names no signal; stopping such a container goes straight to SIGKILL (<see cref="ParseStop"/>).
    /// </summary>
    public static bool IsStopSignal(string s)
    {
        if (int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)) return n > 0;
        try { Parse(s); return true; }
        catch (BerthException) { return false; }
    }

    /// <summary>The signal that stops a container: its STOPSIGNAL, SIGTERM without one, SIGKILL for one no kill can send.</summary>
    public static int ParseStop(string? stopSignal)
    {
        if (string.IsNullOrEmpty(stopSignal)) return 15;
        try { return Parse(stopSignal); }
        catch (BerthException) { return 9; }
    }

    public static int Parse(string s)
    {
        if (int.TryParse(s, out var n))
        {
            if (n is < 1 or > 64) throw BerthException.Invalid($"Invalid signal: {s}");
            return n;
        }
        var name = s.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) ? s[3..] : s;
        if (name.StartsWith("RTMIN", StringComparison.OrdinalIgnoreCase) || name.StartsWith("RTMAX", StringComparison.OrdinalIgnoreCase))
        {
            bool min = name.StartsWith("RTMIN", StringComparison.OrdinalIgnoreCase);
            var rest = name[5..];
            int off = rest.Length == 0 ? 0 : int.TryParse(rest, out var o) ? o : throw BerthException.Invalid($"Invalid signal: {s}");
            int sig = min ? 34 + off : 64 + off;
            if (sig is < 34 or > 64) throw BerthException.Invalid($"Invalid signal: {s}");
            return sig;
        }
        return ByName.TryGetValue(name, out var v) ? v : throw BerthException.Invalid($"Invalid signal: {s}");
    }
}
