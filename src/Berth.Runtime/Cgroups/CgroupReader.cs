using System.Globalization;
using Berth.Core;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// Reads a container's resource counters from the cgroup filesystem: per-controller directories on cgroup v1
/// (<c>{root}/memory/{path}</c>, <c>{root}/cpuacct/{path}</c>, ...), or one directory on a v2 (unified) host, which is
/// recognised by <c>{root}/cgroup.controllers</c>. The root is a parameter so tests can point it at a fake tree.
/// </summary>
public sealed class CgroupReader
{
    // The kernel reports cpuacct.stat in USER_HZ ticks; Docker reports nanoseconds.
    private const ulong NanosPerSecond = 1_000_000_000;

    public CgroupReader(string root = "/sys/fs/cgroup", long clockTicks = 100)
    {
        Root = root;
        ClockTicks = clockTicks > 0 ? (ulong)clockTicks : 100;
    }

    public string Root { get; }
    public ulong ClockTicks { get; }

    /// <summary>Whether the cgroup mount is a pure v2 hierarchy.</summary>
    public bool Unified => File.Exists(Path.Combine(Root, "cgroup.controllers"));

    /// <summary>
    /// Reads the counters of the cgroup at <paramref name="cgroupsPath"/> (cgroupfs style, e.g. "/berth/&lt;id&gt;").
    /// Throws NotFound when the cgroup does not exist (the container is not running).
    /// </summary>
    public CgroupSample Read(string cgroupsPath, ulong hostMemory)
    {
        var rel = Relative(cgroupsPath);
        return Unified ? ReadV2(Path.Combine(Root, rel), hostMemory) : ReadV1(rel, hostMemory);
    }

    private static string Relative(string cgroupsPath)
    {
        var rel = cgroupsPath.Trim('/');
        if (rel.Length == 0 || rel.Split('/').Any(p => p is ".." or "."))
            throw BerthException.Invalid($"invalid cgroups path: {cgroupsPath}");
        return rel;
    }

    private CgroupSample ReadV1(string rel, ulong hostMemory)
    {
        var memory = Path.Combine(Root, "memory", rel);
        var cpuacct = Controller("cpuacct", rel) ?? Controller("cpu,cpuacct", rel);
        if (!Directory.Exists(memory) && cpuacct is null)
            throw BerthException.NotFound($"no cgroup {rel} under {Root}");
        var cpu = Controller("cpu", rel) ?? cpuacct;
        var pids = Path.Combine(Root, "pids", rel);
        var blkio = Path.Combine(Root, "blkio", rel);

        var acct = cpuacct is null ? [] : ReadKeyValues(Path.Combine(cpuacct, "cpuacct.stat"));
        var cpuStat = cpu is null ? [] : ReadKeyValues(Path.Combine(cpu, "cpu.stat"));
        var limit = ReadULong(Path.Combine(memory, "memory.limit_in_bytes"));
        var blkFile = Path.Combine(blkio, "blkio.throttle.io_service_bytes");
        if (!File.Exists(blkFile)) blkFile = Path.Combine(blkio, "blkio.throttle.io_service_bytes_recursive");

        return new CgroupSample
        {
            Unified = false,
            CpuTotal = cpuacct is null ? 0 : ReadULong(Path.Combine(cpuacct, "cpuacct.usage")),
            CpuPerCpu = cpuacct is null ? [] : ReadULongList(Path.Combine(cpuacct, "cpuacct.usage_percpu")),
            CpuUser = Ticks(acct.GetValueOrDefault("user")),
            CpuKernel = Ticks(acct.GetValueOrDefault("system")),
            ThrottlePeriods = cpuStat.GetValueOrDefault("nr_periods"),
            ThrottledPeriods = cpuStat.GetValueOrDefault("nr_throttled"),
            ThrottledTime = cpuStat.GetValueOrDefault("throttled_time"),
            MemoryUsage = ReadULong(Path.Combine(memory, "memory.usage_in_bytes")),
            MemoryMaxUsage = ReadULong(Path.Combine(memory, "memory.max_usage_in_bytes")),
            MemoryFailcnt = ReadULong(Path.Combine(memory, "memory.failcnt")),
            MemoryLimit = CapLimit(limit, hostMemory),
            MemoryStat = ReadKeyValues(Path.Combine(memory, "memory.stat")),
            PidsCurrent = ReadULong(Path.Combine(pids, "pids.current")),
            PidsLimit = ReadULong(Path.Combine(pids, "pids.max")),
            IoServiceBytes = ReadBlkioV1(blkFile),
        };
    }

    private CgroupSample ReadV2(string dir, ulong hostMemory)
    {
        if (!Directory.Exists(dir)) throw BerthException.NotFound($"no cgroup {dir}");
        var cpu = ReadKeyValues(Path.Combine(dir, "cpu.stat"));
        return new CgroupSample
        {
            Unified = true,
            CpuTotal = cpu.GetValueOrDefault("usage_usec") * 1000,
            CpuPerCpu = null,
            CpuUser = cpu.GetValueOrDefault("user_usec") * 1000,
            CpuKernel = cpu.GetValueOrDefault("system_usec") * 1000,
            ThrottlePeriods = cpu.GetValueOrDefault("nr_periods"),
            ThrottledPeriods = cpu.GetValueOrDefault("nr_throttled"),
            ThrottledTime = cpu.GetValueOrDefault("throttled_usec") * 1000,
            MemoryUsage = ReadULong(Path.Combine(dir, "memory.current")),
            MemoryLimit = CapLimit(ReadULong(Path.Combine(dir, "memory.max")), hostMemory),
            MemoryStat = ReadKeyValues(Path.Combine(dir, "memory.stat")),
            PidsCurrent = ReadULong(Path.Combine(dir, "pids.current")),
            PidsLimit = ReadULong(Path.Combine(dir, "pids.max")),
            IoServiceBytes = ReadIoStatV2(Path.Combine(dir, "io.stat")),
        };
    }

    private string? Controller(string name, string rel)
    {
        var d = Path.Combine(Root, name, rel);
        return Directory.Exists(d) ? d : null;
    }

    private ulong Ticks(ulong ticks) => ticks * NanosPerSecond / ClockTicks;

    // "max" (no limit) reads as ulong.MaxValue; the host's memory caps it like Docker's machineMemory does.
    private static ulong CapLimit(ulong limit, ulong hostMemory) =>
        hostMemory > 0 && (limit == 0 || limit > hostMemory) ? hostMemory : limit;

    /// <summary>One number; "max" is ulong.MaxValue for memory files and 0 (no limit) for pids.max.</summary>
    internal static ulong ReadULong(string path)
    {
        var text = ReadText(path)?.Trim();
        if (string.IsNullOrEmpty(text)) return 0;
        if (text == "max") return path.EndsWith("pids.max", StringComparison.Ordinal) ? 0 : ulong.MaxValue;
        if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)) return v;
        // memory.limit_in_bytes can print a negative value on some kernels: treat as unlimited.
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s) && s < 0 ? ulong.MaxValue : 0;
    }

    internal static List<ulong> ReadULongList(string path)
    {
        var list = new List<ulong>();
        foreach (var f in (ReadText(path) ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            if (ulong.TryParse(f, NumberStyles.None, CultureInfo.InvariantCulture, out var v)) list.Add(v);
        return list;
    }

    /// <summary>"key value" lines (memory.stat, cpu.stat, cpuacct.stat).</summary>
    internal static Dictionary<string, ulong> ReadKeyValues(string path)
    {
        var d = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var line in (ReadText(path) ?? "").Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var v)) d[parts[0]] = v;
        }
        return d;
    }

    /// <summary>v1 "8:0 Read 4096" lines; the "Total" line is left out, as containerd does.</summary>
    internal static List<BlkioEntry> ReadBlkioV1(string path)
    {
        var list = new List<BlkioEntry>();
        foreach (var line in (ReadText(path) ?? "").Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3 || !TryDevice(parts[0], out var major, out var minor)) continue;
            if (!ulong.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var v)) continue;
            list.Add(new BlkioEntry(major, minor, parts[1], v));
        }
        return list;
    }

    /// <summary>v2 "8:0 rbytes=1 wbytes=2 rios=..." lines, as Docker reports them: a "read" and a "write" entry per device.</summary>
    internal static List<BlkioEntry> ReadIoStatV2(string path)
    {
        var list = new List<BlkioEntry>();
        foreach (var line in (ReadText(path) ?? "").Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || !TryDevice(parts[0], out var major, out var minor)) continue;
            ulong r = 0, w = 0;
            foreach (var kv in parts.Skip(1))
            {
                int eq = kv.IndexOf('=');
                if (eq <= 0 || !ulong.TryParse(kv.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var v)) continue;
                if (kv.StartsWith("rbytes=", StringComparison.Ordinal)) r = v;
                else if (kv.StartsWith("wbytes=", StringComparison.Ordinal)) w = v;
            }
            list.Add(new BlkioEntry(major, minor, "read", r));
            list.Add(new BlkioEntry(major, minor, "write", w));
        }
        return list;
    }

    private static bool TryDevice(string s, out ulong major, out ulong minor)
    {
        major = minor = 0;
        int colon = s.IndexOf(':');
        return colon > 0
            && ulong.TryParse(s.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out major)
            && ulong.TryParse(s.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out minor);
    }

    private static string? ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A controller the container is not in, or a cgroup removed while we read: no figure.
            return null;
        }
    }
}
