using System.Text.Json.Serialization;

namespace Berth.Api;

/// <summary>One stats sample (the spec's ContainerStatsResponse); names are snake_case on the wire, as Docker's.</summary>
public sealed record ContainerStatsResponse
{
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("id")] public string Id { get; init; } = "";
    [JsonPropertyName("os_type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? OsType { get; init; }

    /// <summary>RFC 3339 with nanoseconds; Go's zero time when there is no sample.</summary>
    [JsonPropertyName("read")] public string Read { get; init; } = ZeroTime;
    [JsonPropertyName("preread")] public string PreRead { get; init; } = ZeroTime;
    [JsonPropertyName("pids_stats")] public ContainerPidsStats PidsStats { get; init; } = new();
    [JsonPropertyName("blkio_stats")] public ContainerBlkioStats BlkioStats { get; init; } = new();
    [JsonPropertyName("num_procs")] public uint NumProcs { get; init; }
    [JsonPropertyName("storage_stats")] public ContainerStorageStats StorageStats { get; init; } = new();
    [JsonPropertyName("cpu_stats")] public ContainerCpuStats CpuStats { get; init; } = new();
    [JsonPropertyName("precpu_stats")] public ContainerCpuStats PreCpuStats { get; init; } = new();
    [JsonPropertyName("memory_stats")] public ContainerMemoryStats MemoryStats { get; init; } = new();

    /// <summary>Per interface; left out when the container has no network of its own.</summary>
    [JsonPropertyName("networks"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, ContainerNetworkStats>? Networks { get; init; }

    public const string ZeroTime = "0001-01-01T00:00:00Z";
}

public sealed record ContainerPidsStats
{
    [JsonPropertyName("current"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Current { get; init; }
    [JsonPropertyName("limit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Limit { get; init; }
}

public sealed record ContainerBlkioStats
{
    [JsonPropertyName("io_service_bytes_recursive")] public IReadOnlyList<ContainerBlkioStatEntry>? IoServiceBytesRecursive { get; init; }
    [JsonPropertyName("io_serviced_recursive")] public IReadOnlyList<ContainerBlkioStatEntry>? IoServicedRecursive { get; init; }
    [JsonPropertyName("io_queue_recursive")] public IReadOnlyList<ContainerBlkioStatEntry>? IoQueueRecursive { get; init; }
    [JsonPropertyName("io_service_time_recursive")] public IReadOnlyList<ContainerBlkioStatEntry>? IoServiceTimeRecursive { get; init; }
    [JsonPropertyName("io_wait_time_recursive")] public IReadOnlyList<ContainerBlkioStatEntry>? IoWaitTimeRecursive { get; init; }
    [JsonPropertyName("io_merged_recursive")] public IReadOnlyList<ContainerBlkioStatEntry>? IoMergedRecursive { get; init; }
    [JsonPropertyName("io_time_recursive")] public IReadOnlyList<ContainerBlkioStatEntry>? IoTimeRecursive { get; init; }
    [JsonPropertyName("sectors_recursive")] public IReadOnlyList<ContainerBlkioStatEntry>? SectorsRecursive { get; init; }
}

public sealed record ContainerBlkioStatEntry
{
    [JsonPropertyName("major")] public ulong Major { get; init; }
    [JsonPropertyName("minor")] public ulong Minor { get; init; }
    [JsonPropertyName("op")] public string Op { get; init; } = "";
    [JsonPropertyName("value")] public ulong Value { get; init; }
}

/// <summary>Windows-only figures; an empty object on Linux, as Docker sends it.</summary>
public sealed record ContainerStorageStats
{
    [JsonPropertyName("read_count_normalized"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ulong? ReadCountNormalized { get; init; }
    [JsonPropertyName("read_size_bytes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ulong? ReadSizeBytes { get; init; }
    [JsonPropertyName("write_count_normalized"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ulong? WriteCountNormalized { get; init; }
    [JsonPropertyName("write_size_bytes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ulong? WriteSizeBytes { get; init; }
}

public sealed record ContainerCpuStats
{
    [JsonPropertyName("cpu_usage")] public ContainerCpuUsage CpuUsage { get; init; } = new();
    [JsonPropertyName("system_cpu_usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong SystemCpuUsage { get; init; }
    [JsonPropertyName("online_cpus"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public uint OnlineCpus { get; init; }
    [JsonPropertyName("throttling_data")] public ContainerThrottlingData ThrottlingData { get; init; } = new();
}

public sealed record ContainerCpuUsage
{
    [JsonPropertyName("total_usage")] public ulong TotalUsage { get; init; }
    [JsonPropertyName("percpu_usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<ulong>? PercpuUsage { get; init; }
    [JsonPropertyName("usage_in_kernelmode")] public ulong UsageInKernelmode { get; init; }
    [JsonPropertyName("usage_in_usermode")] public ulong UsageInUsermode { get; init; }
}

public sealed record ContainerThrottlingData
{
    [JsonPropertyName("periods")] public ulong Periods { get; init; }
    [JsonPropertyName("throttled_periods")] public ulong ThrottledPeriods { get; init; }
    [JsonPropertyName("throttled_time")] public ulong ThrottledTime { get; init; }
}

public sealed record ContainerMemoryStats
{
    [JsonPropertyName("usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Usage { get; init; }
    [JsonPropertyName("max_usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong MaxUsage { get; init; }
    [JsonPropertyName("stats"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, ulong>? Stats { get; init; }
    [JsonPropertyName("failcnt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Failcnt { get; init; }
    [JsonPropertyName("limit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public ulong Limit { get; init; }
}

public sealed record ContainerNetworkStats
{
    [JsonPropertyName("rx_bytes")] public ulong RxBytes { get; init; }
    [JsonPropertyName("rx_packets")] public ulong RxPackets { get; init; }
    [JsonPropertyName("rx_errors")] public ulong RxErrors { get; init; }
    [JsonPropertyName("rx_dropped")] public ulong RxDropped { get; init; }
    [JsonPropertyName("tx_bytes")] public ulong TxBytes { get; init; }
    [JsonPropertyName("tx_packets")] public ulong TxPackets { get; init; }
    [JsonPropertyName("tx_errors")] public ulong TxErrors { get; init; }
    [JsonPropertyName("tx_dropped")] public ulong TxDropped { get; init; }
}

/// <summary>The body of POST /containers/{id}/update: the spec's Resources plus RestartPolicy. Zero = unchanged.</summary>
public sealed record ContainerUpdateRequest
{
    public long CpuShares { get; init; }
    public long Memory { get; init; }
    public long CpuPeriod { get; init; }
    public long CpuQuota { get; init; }
    public long CpuRealtimePeriod { get; init; }
    public long CpuRealtimeRuntime { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public long MemoryReservation { get; init; }
    public long MemorySwap { get; init; }
    public long KernelMemory { get; init; }
    public long NanoCpus { get; init; }
    public long? PidsLimit { get; init; }
    public long BlkioWeight { get; init; }
    public RestartPolicy? RestartPolicy { get; init; }
}

public sealed record ContainerUpdateResponse
{
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
