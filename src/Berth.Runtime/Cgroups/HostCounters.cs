using System.Globalization;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// Host-wide figures a stats sample is read against: the system's CPU time (/proc/stat, in nanoseconds like Docker's
/// system_cpu_usage), the online CPU count, and one network namespace's interface counters (/proc/&lt;pid&gt;/net/dev).
/// Paths are parameters so tests can use fake files.
/// </summary>
public static class HostCounters
{
    /// <summary>
    /// The first "cpu" line of /proc/stat summed over user..steal (Docker's getSystemCPUUsage), converted from
    /// clock ticks to nanoseconds, and the number of "cpuN" lines (online CPUs).
    /// </summary>
    public static (ulong SystemNanos, uint OnlineCpus) ReadSystemCpu(string procStat = "/proc/stat", long clockTicks = 100)
    {
        ulong ticks = 0;
        uint online = 0;
        string text;
        try { text = File.ReadAllText(procStat); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return (0, 0); }
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("cpu", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts[0] == "cpu")
            {
                // user nice system idle iowait irq softirq: the seven fields Docker sums (guest time is in user already).
                for (int i = 1; i < parts.Length && i <= 7; i++)
                    if (ulong.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var v)) ticks += v;
            }
            else if (parts[0].Length > 3 && char.IsAsciiDigit(parts[0][3]))
            {
                online++;
            }
        }
        ulong hz = clockTicks > 0 ? (ulong)clockTicks : 100;
        return (ticks * (1_000_000_000 / hz), online);
    }

    /// <summary>MemTotal from /proc/meminfo, in bytes (0 when unknown).</summary>
    public static ulong ReadHostMemory(string procMeminfo = "/proc/meminfo")
    {
        try
        {
            foreach (var l in File.ReadLines(procMeminfo))
            {
                if (!l.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
                var parts = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length >= 2 && ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : 0;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return 0;
    }

    /// <summary>
    /// The interfaces of a network namespace as /proc/&lt;pid&gt;/net/dev lists them, without the loopback (Docker
    /// reports the container's endpoints only). Empty when the file cannot be read (the process is gone).
    /// </summary>
    public static Dictionary<string, NetDevCounters> ReadNetDev(string path)
    {
        var result = new Dictionary<string, NetDevCounters>(StringComparer.Ordinal);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return result; }
        foreach (var line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var name = line[..colon].Trim();
            if (name.Length == 0 || name == "lo" || name.Contains('|')) continue;
            var f = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 16) continue;
            ulong N(int i) => ulong.TryParse(f[i], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
            // Receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs drop ...
            result[name] = new NetDevCounters(N(0), N(1), N(2), N(3), N(8), N(9), N(10), N(11));
        }
        return result;
    }

    /// <summary>sysconf(_SC_CLK_TCK): 100 on every Linux architecture .NET runs on.</summary>
    public static long ClockTicks => 100;
}
