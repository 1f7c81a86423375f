using System.Text.Json;
using Berth.Core;

namespace Berth.Runtime.Spec;

/// <summary>Turns a <see cref="ContainerProcessSpec"/> into an OCI runtime spec with Docker's secure defaults.</summary>
public static class SpecBuilder
{
    public const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    public const string InitTarget = "/sbin/docker-init";
    private const long CfsPeriod = 100_000;
    private const ulong NoFileLimit = 1_048_576;

    private static readonly string[] MaskedPaths =
    [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ];

    private static readonly string[] ReadonlyPaths =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    // Raising a hard limit needs CAP_SYS_RESOURCE; without it (a sandboxed daemon) runc would fail every container,
    // so the limit is clamped to what this process has, which runc can always set.
    private static readonly Lazy<ulong> NoFile = new(() =>
    {
        if (HasCapability(24)) return NoFileLimit;
        var hard = Interop.RuntimeSys.HardLimit(Interop.RuntimeSys.RLIMIT_NOFILE);
        return hard is { } h && h < NoFileLimit ? h : NoFileLimit;
    });

    private static bool HasCapability(int bit)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                    return (ulong.Parse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) & (1UL << bit)) != 0;
        }
        catch (IOException)
        {
        }
        return false;
    }

    private static readonly Lazy<bool> SwapLimitSupported = new(() =>
        File.Exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") ||
        (File.Exists("/sys/fs/cgroup/cgroup.controllers") && !Directory.Exists("/sys/fs/cgroup/memory")));

    public static RuntimeSpec Build(ContainerProcessSpec s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.Args.Count == 0) throw BerthException.Invalid("no command specified");
        if (string.IsNullOrEmpty(s.RootfsPath)) throw BerthException.Invalid("rootfs path is required");

        var caps = Capabilities.Resolve(s.Privileged, s.CapAdd, s.CapDrop);
        var args = s.Args.ToList();
        var env = s.Env.ToList();
        if (!env.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal))) env.Insert(0, DefaultPath);

        var mounts = DefaultMounts(s.Privileged, s.ShmSize > 0 ? s.ShmSize : DefaultShmSize);
        if (s.Init)
        {
            if (string.IsNullOrEmpty(s.InitPath)) throw BerthException.Invalid("init requested but no init binary path given");
            args.InsertRange(0, [InitTarget, "--"]);
            mounts.Add(new SpecMount { Destination = InitTarget, Type = "bind", Source = s.InitPath, Options = ["rbind", "ro"] });
        }
        foreach (var m in s.Mounts)
        {
            // A user mount replaces a default one at the same place (e.g. a bigger /dev/shm).
            mounts.RemoveAll(d => d.Destination == m.Target);
            mounts.Add(ToSpecMount(m));
        }

        var namespaces = new List<SpecNamespace> { new("pid"), new("ipc"), new("mount") };
        bool hostNet = s.NetworkMode == NetworkMode.Host;
        if (!hostNet)
        {
            namespaces.Add(new("uts"));
            namespaces.Add(string.IsNullOrEmpty(s.NetworkNamespacePath) ? new("network") : new("network", s.NetworkNamespacePath));
        }

        return new RuntimeSpec
        {
            Process = new SpecProcess
            {
                Terminal = s.Terminal,
                ConsoleSize = s.Terminal && s.ConsoleHeight > 0 && s.ConsoleWidth > 0 ? new SpecConsoleSize((uint)s.ConsoleHeight, (uint)s.ConsoleWidth) : null,
                User = new SpecUser { Uid = s.Uid, Gid = s.Gid, AdditionalGids = s.AdditionalGids.Count > 0 ? s.AdditionalGids : null },
                Args = args,
                Env = env,
                Cwd = string.IsNullOrEmpty(s.Cwd) ? "/" : s.Cwd,
                Capabilities = new SpecCapabilities { Bounding = caps, Effective = caps, Permitted = caps },
                Rlimits = [.. s.Rlimits, .. s.Rlimits.Any(r => r.Type == "RLIMIT_NOFILE") ? [] : new[] { new SpecRlimit("RLIMIT_NOFILE", NoFile.Value, NoFile.Value) }],
                NoNewPrivileges = s.NoNewPrivileges,
                OomScoreAdj = s.OomScoreAdj,
            },
            Root = new SpecRoot { Path = s.RootfsPath, Readonly = s.ReadonlyRootfs },
            // With the host's UTS namespace the hostname is the host's; runc refuses to set one there.
            Hostname = hostNet ? null : s.Hostname,
            Mounts = mounts,
            Annotations = s.Annotations,
            Linux = new SpecLinux
            {
                Namespaces = namespaces,
                Resources = Resources(s),
                CgroupsPath = s.CgroupsPath,
                Sysctl = s.Sysctls.Count > 0 ? s.Sysctls : null,
                Seccomp = s.Privileged ? null : DefaultSeccomp.Build(caps),
                MaskedPaths = s.Privileged ? null : MaskedPaths,
                ReadonlyPaths = s.Privileged ? null : ReadonlyPaths,
            },
        };
    }

    /// <summary>Writes <c>config.json</c> into the bundle directory atomically.</summary>
    public static void WriteConfig(string bundleDir, RuntimeSpec spec) =>
        AtomicFile.WriteAllBytes(Path.Combine(bundleDir, "config.json"), Serialize(spec));

    public static byte[] Serialize(RuntimeSpec spec) => JsonSerializer.SerializeToUtf8Bytes(spec, RuntimeJsonContext.Default.RuntimeSpec);

    internal static byte[] SerializeProcess(SpecProcess process) => JsonSerializer.SerializeToUtf8Bytes(process, RuntimeJsonContext.Default.SpecProcess);

    public static RuntimeSpec Deserialize(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, RuntimeJsonContext.Default.RuntimeSpec) ?? throw BerthException.Invalid("empty runtime spec");

    public const long DefaultShmSize = 64 * 1024 * 1024;

    private static List<SpecMount> DefaultMounts(bool privileged, long shmSize) =>
    [
        new() { Destination = "/proc", Type = "proc", Source = "proc", Options = ["nosuid", "noexec", "nodev"] },
        new() { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k"] },
        new() { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
        new() { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = privileged ? ["nosuid", "noexec", "nodev"] : ["nosuid", "noexec", "nodev", "ro"] },
        new() { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = privileged ? ["nosuid", "noexec", "nodev", "relatime"] : ["nosuid", "noexec", "nodev", "relatime", "ro"] },
        new() { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = ["nosuid", "noexec", "nodev"] },
        new() { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = ["nosuid", "noexec", "nodev", "mode=1777", $"size={shmSize}"] },
    ];

    private static SpecMount ToSpecMount(Mount m)
    {
        if (string.IsNullOrEmpty(m.Target) || m.Target[0] != '/')
            throw BerthException.Invalid($"mount target must be an absolute path inside the container: \"{m.Target}\"");
        var options = m.Options.ToList();
        if (m.Type == "bind" && !options.Contains("bind") && !options.Contains("rbind")) options.Insert(0, "rbind");
        return new SpecMount { Destination = m.Target, Type = m.Type, Source = m.Source, Options = options };
    }

    private static SpecResources Resources(ContainerProcessSpec s)
    {
        List<SpecDeviceCgroup> devices = s.Privileged
            ? [new() { Allow = true, Access = "rwm" }]
            :
            [
                new() { Allow = false, Access = "rwm" },
                // mknod of anything is harmless while read/write stays denied.
                new() { Allow = true, Type = "c", Access = "m" },
                new() { Allow = true, Type = "b", Access = "m" },
                Dev(1, 3), Dev(1, 5), Dev(1, 7), Dev(1, 8), Dev(1, 9), // null zero full random urandom
                Dev(5, 0), Dev(5, 1), Dev(5, 2),                      // tty console ptmx
                new() { Allow = true, Type = "c", Major = 136, Access = "rwm" }, // pts/*
            ];

        SpecMemory? memory = null;
        if (s.Memory > 0)
        {
            long? swap = s.MemorySwap switch
            {
                0 => s.Memory * 2,
                _ => s.MemorySwap,
            };
            if (swap is > 0 && swap < s.Memory)
                throw BerthException.Invalid("minimum memoryswap limit should be larger than memory limit, see usage");
            memory = new SpecMemory { Limit = s.Memory, Swap = SwapLimitSupported.Value ? swap : null };
        }

        SpecCpu? cpu = null;
        if (s.NanoCpus > 0 || s.CpuShares > 0)
        {
            cpu = new SpecCpu
            {
                Shares = s.CpuShares > 0 ? (ulong)s.CpuShares : null,
                Quota = s.NanoCpus > 0 ? s.NanoCpus * CfsPeriod / 1_000_000_000 : null,
                Period = s.NanoCpus > 0 ? (ulong)CfsPeriod : null,
            };
        }

        return new SpecResources
        {
            Devices = devices,
            Memory = memory,
            Cpu = cpu,
            Pids = s.PidsLimit is > 0 ? new SpecPids(s.PidsLimit.Value) : null,
        };

        static SpecDeviceCgroup Dev(long major, long minor) => new() { Allow = true, Type = "c", Major = major, Minor = minor, Access = "rwm" };
    }
}
