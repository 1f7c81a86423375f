using Berth.Api;
using Berth.Core;
using Berth.Runtime.Cgroups;

namespace Berth.Daemon.Containers;

/// <summary>
/// docker stats: samples of a container's cgroup counters (and its network namespace's interfaces), read once a second
/// while someone listens, each with the previous one as its "pre" figures, as dockerd's stats collector does.
/// </summary>
internal sealed partial class ContainerService
{
    private static readonly TimeSpan StatsInterval = TimeSpan.FromSeconds(1);
    private static readonly Lazy<ulong> HostMemory = new(() => HostCounters.ReadHostMemory());
    private readonly CgroupReader _cgroups = new();

    /// <summary>
    /// Writes stats of <paramref name="c"/> with <paramref name="write"/>: one sample (stream=false, after priming
    /// precpu with a first reading unless one-shot), or one per second until the client goes away or the container stops.
    /// </summary>
    public async Task StreamStatsAsync(Container c, bool stream, bool oneShot, Func<ContainerStatsResponse, Task> write, CancellationToken ct)
    {
        if (stream && oneShot) throw BerthException.Invalid("cannot have stream=true and one-shot=true");
        var first = SampleStats(c);
        if (!stream)
        {
            // A container that is not running answers with zeros (name and ID only), like dockerd.
            if (first is null || oneShot)
            {
                await write(first ?? Empty(c.Record));
                return;
            }
            await Task.Delay(StatsInterval, ct);
            var second = SampleStats(c);
            await write(second is null ? Empty(c.Record) : WithPrevious(second, first));
            return;
        }

        bool wasRunning = first is not null;
        var previous = first;
        var current = first;
        while (!ct.IsCancellationRequested)
        {
            if (current is null)
            {
                // Stopped since the stream began: the stream ends. Never running: zeros every interval, as dockerd.
                if (wasRunning) return;
                await write(Empty(c.Record));
            }
            else
            {
                await write(ReferenceEquals(current, first) ? current : WithPrevious(current, previous));
                previous = current;
            }
            await Task.Delay(StatsInterval, ct);
            current = SampleStats(c);
            if (current is not null) wasRunning = true;
        }
    }

    private static ContainerStatsResponse Empty(ContainerRecord r) => new() { Name = r.Name, Id = r.Id, OsType = "linux" };

    private static ContainerStatsResponse WithPrevious(ContainerStatsResponse now, ContainerStatsResponse? before) =>
        before is null ? now : now with { PreCpuStats = before.CpuStats, PreRead = before.Read };

    /// <summary>The cgroup of the container's current or last run (one started before it was recorded: under the daemon's parent).</summary>
    internal string CgroupPathOf(ContainerRecord r) => r.CgroupPath ?? CgroupPaths.For(null, _options.CgroupParent, r.Id);

    /// <summary>One reading, or null when the container is not running (or its cgroup is already gone).</summary>
    internal ContainerStatsResponse? SampleStats(Container c)
    {
        var r = c.Record;
        if (!r.IsRunning || r.Pid <= 0) return null;
        CgroupSample s;
        try
        {
            s = _cgroups.Read(CgroupPathOf(r), HostMemory.Value);
        }
        catch (BerthException e) when (e.Kind == ErrorKind.NotFound)
        {
            return null;
        }
        // Sampled right after the container's counters, so the two deltas cover the same interval.
        var (system, online) = HostCounters.ReadSystemCpu(clockTicks: HostCounters.ClockTicks);
        var now = DateTimeOffset.UtcNow;

        Dictionary<string, ContainerNetworkStats>? networks = null;
        if (r.HostConfig.NetworkMode is not "host")
        {
            var devs = HostCounters.ReadNetDev($"/proc/{r.Pid}/net/dev");
            if (devs.Count > 0)
            {
                networks = devs.ToDictionary(kv => kv.Key, kv => new ContainerNetworkStats
                {
                    RxBytes = kv.Value.RxBytes, RxPackets = kv.Value.RxPackets, RxErrors = kv.Value.RxErrors, RxDropped = kv.Value.RxDropped,
                    TxBytes = kv.Value.TxBytes, TxPackets = kv.Value.TxPackets, TxErrors = kv.Value.TxErrors, TxDropped = kv.Value.TxDropped,
                }, StringComparer.Ordinal);
            }
        }

        var io = s.IoServiceBytes.Select(e => new ContainerBlkioStatEntry { Major = e.Major, Minor = e.Minor, Op = e.Op, Value = e.Value }).ToList();
        return new ContainerStatsResponse
        {
            Name = r.Name,
            Id = r.Id,
            OsType = "linux",
            Read = HumanTime.Rfc3339Nano(now),
            PidsStats = new ContainerPidsStats { Current = s.PidsCurrent, Limit = s.PidsLimit },
            BlkioStats = s.Unified
                ? new ContainerBlkioStats { IoServiceBytesRecursive = io }
                : new ContainerBlkioStats
                {
                    IoServiceBytesRecursive = io, IoServicedRecursive = [], IoQueueRecursive = [], IoServiceTimeRecursive = [],
                    IoWaitTimeRecursive = [], IoMergedRecursive = [], IoTimeRecursive = [], SectorsRecursive = [],
                },
            CpuStats = new ContainerCpuStats
            {
                CpuUsage = new ContainerCpuUsage
                {
                    TotalUsage = s.CpuTotal,
                    PercpuUsage = s.CpuPerCpu is { Count: > 0 } per ? per : null,
                    UsageInKernelmode = s.CpuKernel,
                    UsageInUsermode = s.CpuUser,
                },
                SystemCpuUsage = system,
                OnlineCpus = online,
                ThrottlingData = new ContainerThrottlingData { Periods = s.ThrottlePeriods, ThrottledPeriods = s.ThrottledPeriods, ThrottledTime = s.ThrottledTime },
            },
            MemoryStats = new ContainerMemoryStats
            {
                Usage = s.MemoryUsage,
                MaxUsage = s.MemoryMaxUsage ?? 0,
                Failcnt = s.MemoryFailcnt ?? 0,
                Limit = s.MemoryLimit,
                Stats = new Dictionary<string, ulong>(s.MemoryStat, StringComparer.Ordinal),
            },
            Networks = networks,
        };
    }
}
