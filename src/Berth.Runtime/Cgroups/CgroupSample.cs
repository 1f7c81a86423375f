namespace Berth.Runtime.Cgroups;

/// <summary>One reading of a container's cgroup counters, in the units Docker reports (nanoseconds, bytes).</summary>
public sealed record CgroupSample
{
    /// <summary>True when read from a cgroup v2 (unified) hierarchy; v1-only fields are then null.</summary>
    public bool Unified { get; init; }

    public ulong CpuTotal { get; init; }

    /// <summary>Per-CPU usage (v1 cpuacct.usage_percpu); null on v2.</summary>
    public IReadOnlyList<ulong>? CpuPerCpu { get; init; }
    public ulong CpuUser { get; init; }
    public ulong CpuKernel { get; init; }
    public ulong ThrottlePeriods { get; init; }
    public ulong ThrottledPeriods { get; init; }
    public ulong ThrottledTime { get; init; }

    public ulong MemoryUsage { get; init; }

    /// <summary>v1 only (memory.max_usage_in_bytes, memory.failcnt).</summary>
    public ulong? MemoryMaxUsage { get; init; }
    public ulong? MemoryFailcnt { get; init; }

    /// <summary>The limit, already capped at the host's memory (an unlimited cgroup reports the host's total).</summary>
    public ulong MemoryLimit { get; init; }

    /// <summary>memory.stat as the kernel prints it (v1 keys include total_inactive_file, v2 keys inactive_file).</summary>
    public IReadOnlyDictionary<string, ulong> MemoryStat { get; init; } = new Dictionary<string, ulong>();

    public ulong PidsCurrent { get; init; }

    /// <summary>0 = no limit.</summary>
    public ulong PidsLimit { get; init; }

    /// <summary>Bytes read and written per device (v1 blkio.throttle.io_service_bytes, v2 io.stat rbytes/wbytes).</summary>
    public IReadOnlyList<BlkioEntry> IoServiceBytes { get; init; } = [];
}

/// <summary>One line of a block I/O counter: device, operation ("Read", "Write", ... on v1; "read"/"write" on v2), value.</summary>
public readonly record struct BlkioEntry(ulong Major, ulong Minor, string Op, ulong Value);

/// <summary>One interface's counters from /proc/&lt;pid&gt;/net/dev.</summary>
public readonly record struct NetDevCounters(
    ulong RxBytes, ulong RxPackets, ulong RxErrors, ulong RxDropped,
    ulong TxBytes, ulong TxPackets, ulong TxErrors, ulong TxDropped);
