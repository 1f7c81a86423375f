using Berth.Api;
using Berth.Core;
using Berth.Runtime.Cgroups;
using ImageContainerConfig = Berth.Content.ContainerConfig;

namespace Berth.Daemon.Containers;

/// <summary>Checks a create request the way Docker does and merges the image's defaults into it.</summary>
internal static class ContainerValidation
{
    private static readonly string[] NetworkModes = ["", "default", "bridge", "none", "host"];

    /// <summary>The <c>--ulimit</c> names Docker knows, each RLIMIT_ and its upper-case name.</summary>
    private static readonly string[] UlimitNames =
        ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"];

    public static List<string> ValidateHostConfig(HostConfig h)
    {
        var warnings = new List<string>();
        if (h.ConsoleSize is { Count: > 0 } cs && (cs.Count != 2 || cs[0] < 0 || cs[1] < 0 || cs[0] > ushort.MaxValue || cs[1] > ushort.MaxValue))
            throw BerthException.Invalid("invalid ConsoleSize: expected [height, width], both non-negative");
        if (h.Memory < 0) throw BerthException.Invalid($"invalid memory limit {h.Memory}: it must not be negative");
        if (h.Memory > 0 && h.Memory < 6 * 1024 * 1024) throw BerthException.Invalid("Minimum memory limit allowed is 6MB");
        if (h.MemorySwap > 0 && h.Memory > 0 && h.MemorySwap < h.Memory)
            throw BerthException.Invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
        if (h.NanoCpus < 0) throw BerthException.Invalid("Range of CPUs is from 0.01 to the number of CPUs available");
        if (h.NanoCpus > 0 && h.NanoCpus > (long)Environment.ProcessorCount * 1_000_000_000)
            throw BerthException.Invalid($"Range of CPUs is from 0.01 to {Environment.ProcessorCount}.00, as there are only {Environment.ProcessorCount} CPUs available");
        if (h.CpuShares < 0) throw BerthException.Invalid($"invalid CPU shares {h.CpuShares}: it must not be negative");
        if (h.PidsLimit < -1) throw BerthException.Invalid($"invalid pids limit {h.PidsLimit}");
        if (h.ShmSize < 0) throw BerthException.Invalid("SHM size can not be less than 0");
        foreach (var u in h.Ulimits ?? [])
        {
            if (!UlimitNames.Contains(u.Name ?? "")) throw BerthException.Invalid($"invalid ulimit type: {u.Name}");
            if (u.Soft > u.Hard) throw BerthException.Invalid($"ulimit soft limit must be less than or equal to hard limit: {u.Soft} > {u.Hard}");
        }
        if (!string.IsNullOrEmpty(h.CgroupParent) && !CgroupPaths.IsValidParent(h.CgroupParent))
            throw BerthException.Invalid($"invalid cgroup parent \"{h.CgroupParent}\": a cgroup path without \".\" or \"..\" segments");
        var mode = h.NetworkMode ?? "";
        if (!NetworkModes.Contains(mode))
        {
            if (mode.StartsWith("container:", StringComparison.Ordinal))
                throw new BerthException(ErrorKind.NotImplemented, "network mode \"container:\" is not supported yet");
            // Any other name is a user-defined network: the service checks that it exists.
        }
        var rp = h.RestartPolicy;
        if (rp is not null)
        {
            switch (rp.Name)
            {
                case "" or "no" or "always" or "unless-stopped":
                    if (rp.MaximumRetryCount != 0)
                        throw BerthException.Invalid($"invalid restart policy: maximum retry count can only be used with 'on-failure'");
                    break;
                case "on-failure":
                    if (rp.MaximumRetryCount < 0) throw BerthException.Invalid("invalid restart policy: maximum retry count must be a positive integer");
                    break;
                default:
                    throw BerthException.Invalid($"invalid restart policy: unknown policy '{rp.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
            }
            if (h.AutoRemove && rp.Name is not ("" or "no"))
                throw BerthException.Invalid("can't create 'AutoRemove' container with restart policy");
        }
        if (h.LogConfig is { Type: not ("" or "json-file") } lc)
            throw BerthException.Invalid($"logging driver \"{lc.Type}\" is not supported (json-file only)");
        foreach (var (k, v) in h.LogConfig?.Config ?? [])
        {
            if (k is not ("max-size" or "max-file" or "compress" or "labels" or "env" or "tag"))
                throw BerthException.Invalid($"unknown log opt '{k}' for json-file log driver");
            if (k == "max-size") ParseSize(v);
            if (k == "max-file" && (!int.TryParse(v, out var n) || n < 1))
                throw BerthException.Invalid($"invalid value for max-file: {v}");
        }
        return warnings;
    }

    /// <summary>Docker's size strings for log options: "10m", "1g", "500k", plain bytes.</summary>
    public static long ParseSize(string s)
    {
        s = s.Trim().ToLowerInvariant();
        long mul = 1;
        if (s.EndsWith('b')) s = s[..^1];
        if (s.EndsWith('k')) { mul = 1024; s = s[..^1]; }
        else if (s.EndsWith('m')) { mul = 1024 * 1024; s = s[..^1]; }
        else if (s.EndsWith('g')) { mul = 1024L * 1024 * 1024; s = s[..^1]; }
        if (!long.TryParse(s, out var n) || n < 0 || n > long.MaxValue / mul) throw BerthException.Invalid($"invalid size: '{s}'");
        return n * mul;
    }

    /// <summary>Fills what the request left empty from the image's config, as Docker's create does.</summary>
    public static ContainerConfig Merge(ContainerConfig c, ImageContainerConfig? image)
    {
        if (image is null) return c with { Env = WithPath(c.Env ?? []) };
        // Docker's order: the request's variables, then the image's that the request did not set.
        var env = new List<string>(c.Env ?? []);
        var keys = env.Select(e => e.Split('=', 2)[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var e in image.Env ?? [])
            if (keys.Add(e.Split('=', 2)[0])) env.Add(e);
        var entrypoint = c.Entrypoint;
        var cmd = c.Cmd;
        if (entrypoint is { Count: 1 } && entrypoint[0] == "") entrypoint = []; // --entrypoint "" resets the image's
        if (entrypoint is null || entrypoint.Count == 0)
        {
            if (cmd is null || cmd.Count == 0) cmd = image.Cmd;
            entrypoint ??= image.Entrypoint;
        }
        var exposed = new Dictionary<string, EmptyObject>(c.ExposedPorts ?? []);
        foreach (var p in image.ExposedPorts ?? new Dictionary<string, Content.EmptyObject>()) exposed.TryAdd(p.Key, new EmptyObject());
        var volumes = new Dictionary<string, EmptyObject>(c.Volumes ?? []);
        foreach (var v in image.Volumes ?? new Dictionary<string, Content.EmptyObject>()) volumes.TryAdd(v.Key, new EmptyObject());
        var labels = new Dictionary<string, string>();
        foreach (var (k, v) in image.Labels ?? new Dictionary<string, string>()) labels[k] = v;
        foreach (var (k, v) in c.Labels ?? []) labels[k] = v;
        return c with
        {
            Env = WithPath(env),
            Entrypoint = entrypoint,
            Cmd = cmd,
            WorkingDir = string.IsNullOrEmpty(c.WorkingDir) ? image.WorkingDir : c.WorkingDir,
            User = string.IsNullOrEmpty(c.User) ? image.User : c.User,
            ExposedPorts = exposed.Count > 0 ? exposed : null,
            Volumes = volumes.Count > 0 ? volumes : null,
            Labels = labels,
            StopSignal = string.IsNullOrEmpty(c.StopSignal) ? image.StopSignal : c.StopSignal,
            Healthcheck = HealthRules.Merge(c.Healthcheck, image.Healthcheck),
            OnBuild = null,
        };
    }

    private static List<string> WithPath(IReadOnlyList<string> env)
    {
        var list = env.ToList();
        if (!list.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)))
            list.Insert(0, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        return list;
    }

    /// <summary>Parses a <c>-v</c> bind: <c>/host:/ctr[:ro|rw,...]</c>, <c>name:/ctr[:opts]</c> or <c>/ctr</c> (anonymous volume).</summary>
    public static MountRecord ParseBind(string spec)
    {
        var parts = spec.Split(':');
        string? src = null, dst, mode = "";
        switch (parts.Length)
        {
            case 1: dst = parts[0]; break;
            case 2 when parts[1].StartsWith('/'): src = parts[0]; dst = parts[1]; break;
            case 2: dst = parts[0]; mode = parts[1]; break;
            case 3: src = parts[0]; dst = parts[1]; mode = parts[2]; break;
            default: throw BerthException.Invalid($"invalid volume specification: '{spec}'");
        }
        if (string.IsNullOrEmpty(dst) || !dst.StartsWith('/'))
            throw BerthException.Invalid($"invalid volume specification: '{spec}': invalid mount config for type \"volume\": invalid mount path: '{dst}' mount path must be absolute");
        if (dst == "/") throw BerthException.Invalid($"invalid volume specification: '{spec}': invalid mount config: destination can't be '/'");
        bool rw = true;
        string propagation = "";
        bool rwSet = false;
        foreach (var o in mode.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if ((o is "ro" or "rw" && rwSet) || (propagation.Length > 0 && o is "private" or "rprivate" or "shared" or "rshared" or "slave" or "rslave"))
                throw BerthException.Invalid($"invalid mode: {mode}");
            switch (o)
            {
                case "ro": rw = false; rwSet = true; break;
                case "rw": rw = true; rwSet = true; break;
                case "z" or "Z" or "nocopy" or "consistent" or "cached" or "delegated": break;
                case "private" or "rprivate" or "shared" or "rshared" or "slave" or "rslave": propagation = o; break;
                default: throw BerthException.Invalid($"invalid mode: {o}");
            }
        }
        if (src is not null && src.StartsWith('/'))
            return new MountRecord { Type = "bind", Source = src, Destination = dst, RW = rw, Mode = mode, Propagation = propagation.Length > 0 ? propagation : "rprivate" };
        if (src is not null && (src.Contains('/') || src.Length < 2))
            throw BerthException.Invalid($"create {src}: \"{src}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
        return new MountRecord { Type = "volume", Name = src, Destination = dst, RW = rw, Mode = mode };
    }
}
