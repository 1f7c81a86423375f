using Berth.Api;
using Berth.Core;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Shim;

namespace Berth.Daemon.Containers;

/// <summary>
/// docker update: new limits and restart policy, validated like dockerd, persisted in the record (inspect shows them and
/// the next start applies them) and, on a running container, applied at once with runc update through the shim.
/// </summary>
internal sealed partial class ContainerService
{
    private const long MinMemory = 6 * 1024 * 1024;
    private const ulong CfsPeriod = 100_000;

    public async Task<ContainerUpdateResponse> UpdateAsync(string idOrName, ContainerUpdateRequest req, CancellationToken ct)
    {
        var c = Get(idOrName);
        var warnings = ValidateUpdate(req, out req);
        await c.Operation.WaitAsync(ct);
        try
        {
            var r = c.Record;
            if (r.Status is ContainerStatus.Removing or ContainerStatus.Dead)
                throw BerthException.Conflict($"Container {r.Id} is marked for removal and cannot be \"update\"");
            var merged = MergeUpdate(r.HostConfig, req);
            if (r.IsRunning && c.Shim is { } shim)
            {
                var update = RunningUpdate(req);
                if (!update.IsEmpty)
                {
                    try { await shim.UpdateAsync(update, CancellationToken.None); }
                    catch (BerthException e) when (e.Kind != ErrorKind.Unavailable)
                    {
                        throw new BerthException(ErrorKind.Unknown, $"Cannot update container {r.Id}: {e.Message}");
                    }
                }
            }
            Save(c, x => x with { HostConfig = merged });
        }
        finally
        {
            c.Operation.Release();
        }
        return new ContainerUpdateResponse { Warnings = warnings };
    }

    /// <summary>dockerd's checks of an update's resources (verifyPlatformContainerResources), with its messages.</summary>
    internal static List<string> ValidateUpdate(ContainerUpdateRequest req, out ContainerUpdateRequest normalized)
    {
        var warnings = new List<string>();
        if (req.Memory != 0 && req.Memory < MinMemory) throw BerthException.Invalid("Minimum memory limit allowed is 6MB");
        if (req.MemoryReservation != 0 && req.MemoryReservation < MinMemory) throw BerthException.Invalid("Minimum memory reservation allowed is 6MB");
        if (req.Memory > 0 && req.MemorySwap > 0 && req.MemorySwap < req.Memory)
            throw BerthException.Invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
        if (req.MemorySwap < -1) throw BerthException.Invalid($"invalid memory swap limit {req.MemorySwap}");
        if (req.Memory > 0 && req.MemoryReservation > 0 && req.MemoryReservation > req.Memory)
            throw BerthException.Invalid("Minimum memory limit can not be less than memory reservation limit, see usage");
        if (req.KernelMemory != 0) warnings.Add("Kernel memory limits are not supported and will be ignored.");
        if (req.CpuShares < 0) throw BerthException.Invalid($"invalid CPU shares {req.CpuShares}: it must not be negative");
        if (req.NanoCpus > 0 && req.CpuPeriod > 0) throw BerthException.Invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
        if (req.NanoCpus > 0 && req.CpuQuota > 0) throw BerthException.Invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
        int ncpu = Environment.ProcessorCount;
        if (req.NanoCpus < 0 || req.NanoCpus > (long)ncpu * 1_000_000_000)
            throw BerthException.Invalid($"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available");
        if (req.CpuPeriod != 0 && (req.CpuPeriod < 1000 || req.CpuPeriod > 1_000_000))
            throw BerthException.Invalid("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
        if (req.CpuQuota != 0 && req.CpuQuota < 1000 && req.CpuQuota != -1)
            throw BerthException.Invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
        if (req.CpuRealtimePeriod != 0 || req.CpuRealtimeRuntime != 0)
            throw BerthException.Invalid("Your kernel does not support CPU real-time scheduler");
        if (req.BlkioWeight != 0 && (req.BlkioWeight < 10 || req.BlkioWeight > 1000))
            throw BerthException.Invalid("Range of blkio weight is from 10 to 1000");
        if (req.BlkioWeight != 0 && !BlkioWeightSupported())
        {
            warnings.Add("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
            req = req with { BlkioWeight = 0 };
        }
        if (!string.IsNullOrEmpty(req.CpusetCpus)) CheckCpuset(req.CpusetCpus, ncpu, "cpus");
        if (!string.IsNullOrEmpty(req.CpusetMems)) CheckCpuset(req.CpusetMems, int.MaxValue, "mems");
        // 0 and -1 both mean "unlimited" in an update; any negative value did historically.
        if (req.PidsLimit is < 0) req = req with { PidsLimit = 0 };
        if (req.RestartPolicy is { Name.Length: > 0 } rp)
        {
            switch (rp.Name)
            {
                case "no" or "always" or "unless-stopped":
                    if (rp.MaximumRetryCount != 0)
                        throw BerthException.Invalid("invalid restart policy: maximum retry count can only be used with 'on-failure'");
                    break;
                case "on-failure":
                    if (rp.MaximumRetryCount < 0) throw BerthException.Invalid("invalid restart policy: maximum retry count must be a positive integer");
                    break;
                default:
                    throw BerthException.Invalid($"invalid restart policy: unknown policy '{rp.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
            }
        }
        normalized = req;
        return warnings;
    }

    /// <summary>"0-3,5": every CPU (or memory node) listed must exist.</summary>
    private static void CheckCpuset(string value, int available, string what)
    {
        foreach (var part in value.Split(','))
        {
            var range = part.Split('-');
            if (range.Length is < 1 or > 2 || !int.TryParse(range[0], out var lo) || lo < 0
                || (range.Length == 2 && (!int.TryParse(range[1], out var hi2) || hi2 < lo)))
                throw BerthException.Invalid($"Invalid value {value} for cpuset {what}");
            int hi = range.Length == 2 ? int.Parse(range[1]) : lo;
            if (hi >= available)
                throw BerthException.Invalid($"Requested CPUs are not available - requested {value}, available: {(available == 1 ? "0" : $"0-{available - 1}")}");
        }
    }

    private static bool BlkioWeightSupported() =>
        File.Exists("/sys/fs/cgroup/cgroup.controllers")
        || File.Exists("/sys/fs/cgroup/blkio/blkio.weight") || File.Exists("/sys/fs/cgroup/blkio/blkio.bfq.weight");

    private static bool SwapLimitSupported() =>
        File.Exists("/sys/fs/cgroup/cgroup.controllers") || File.Exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");

    /// <summary>dockerd's UpdateContainer: a zero field keeps the current value; NanoCpus and CPU period/quota exclude each other.</summary>
    internal static HostConfig MergeUpdate(HostConfig h, ContainerUpdateRequest req)
    {
        if (req.NanoCpus > 0 && h.CpuPeriod > 0)
            throw BerthException.Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set");
        if (req.NanoCpus > 0 && h.CpuQuota > 0)
            throw BerthException.Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set");
        if (req.CpuPeriod > 0 && h.NanoCpus > 0)
            throw BerthException.Conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set");
        if (req.CpuQuota > 0 && h.NanoCpus > 0)
            throw BerthException.Conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set");
        // Berth records MemorySwap 0 for "twice the memory" (what the start applies); dockerd records the doubled value.
        long currentSwap = h.MemorySwap == 0 && h.Memory > 0 ? h.Memory * 2 : h.MemorySwap;
        if (req.Memory != 0 && currentSwap > 0 && req.Memory > currentSwap && req.MemorySwap == 0)
            throw BerthException.Conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
        if (req.RestartPolicy is { Name.Length: > 0 } rp && h.AutoRemove && rp.Name != "no")
            throw BerthException.Conflict("Restart policy cannot be updated because AutoRemove is enabled for the container");

        return h with
        {
            BlkioWeight = req.BlkioWeight != 0 ? (int)req.BlkioWeight : h.BlkioWeight,
            CpuShares = req.CpuShares != 0 ? req.CpuShares : h.CpuShares,
            NanoCpus = req.NanoCpus != 0 ? req.NanoCpus : h.NanoCpus,
            CpuPeriod = req.CpuPeriod != 0 ? req.CpuPeriod : h.CpuPeriod,
            CpuQuota = req.CpuQuota != 0 ? req.CpuQuota : h.CpuQuota,
            CpusetCpus = !string.IsNullOrEmpty(req.CpusetCpus) ? req.CpusetCpus : h.CpusetCpus,
            CpusetMems = !string.IsNullOrEmpty(req.CpusetMems) ? req.CpusetMems : h.CpusetMems,
            Memory = req.Memory != 0 ? req.Memory : h.Memory,
            // A new memory limit without a swap figure keeps swap at what runc has now, not "twice the new memory".
            MemorySwap = req.MemorySwap != 0 ? req.MemorySwap : req.Memory != 0 && h.MemorySwap == 0 && h.Memory > 0 ? currentSwap : h.MemorySwap,
            MemoryReservation = req.MemoryReservation != 0 ? req.MemoryReservation : h.MemoryReservation,
            PidsLimit = req.PidsLimit ?? h.PidsLimit,
            RestartPolicy = req.RestartPolicy is { Name.Length: > 0 } p ? p : h.RestartPolicy,
        };
    }

    /// <summary>What runc update must change on the running container: only what the request sets.</summary>
    internal static ResourceUpdate RunningUpdate(ContainerUpdateRequest req) => new()
    {
        Memory = req.Memory > 0 ? req.Memory : null,
        MemorySwap = req.MemorySwap != 0 && SwapLimitSupported() ? req.MemorySwap : null,
        MemoryReservation = req.MemoryReservation > 0 ? req.MemoryReservation : null,
        CpuShares = req.CpuShares > 0 ? (ulong)req.CpuShares : null,
        CpuQuota = req.NanoCpus > 0 ? req.NanoCpus * (long)CfsPeriod / 1_000_000_000 : req.CpuQuota != 0 ? req.CpuQuota : null,
        CpuPeriod = req.NanoCpus > 0 ? CfsPeriod : req.CpuPeriod > 0 ? (ulong)req.CpuPeriod : null,
        CpusetCpus = string.IsNullOrEmpty(req.CpusetCpus) ? null : req.CpusetCpus,
        CpusetMems = string.IsNullOrEmpty(req.CpusetMems) ? null : req.CpusetMems,
        // runc reads 0 as "unchanged" and -1 as "max".
        PidsLimit = req.PidsLimit is { } p ? p > 0 ? p : -1 : null,
        BlkioWeight = req.BlkioWeight > 0 ? (ushort)req.BlkioWeight : null,
    };

    /// <summary>
    /// Limits the OCI spec of a start does not carry (CPU period/quota without --cpus, cpusets, memory reservation,
    /// blkio weight) are applied to the created container before its process starts.
    /// </summary>
    private static async Task ApplyStartResourcesAsync(ShimClient shim, ContainerRecord r, CancellationToken ct)
    {
        var h = r.HostConfig;
        var update = new ResourceUpdate
        {
            CpuQuota = h.NanoCpus == 0 && h.CpuQuota != 0 ? h.CpuQuota : null,
            CpuPeriod = h.NanoCpus == 0 && h.CpuPeriod > 0 ? (ulong)h.CpuPeriod : null,
            CpusetCpus = string.IsNullOrEmpty(h.CpusetCpus) ? null : h.CpusetCpus,
            CpusetMems = string.IsNullOrEmpty(h.CpusetMems) ? null : h.CpusetMems,
            MemoryReservation = h.MemoryReservation > 0 ? h.MemoryReservation : null,
            BlkioWeight = h.BlkioWeight > 0 && BlkioWeightSupported() ? (ushort)h.BlkioWeight : null,
        };
        if (!update.IsEmpty) await shim.UpdateAsync(update, ct);
    }
}
