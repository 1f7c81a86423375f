using Berth.Core;

namespace Berth.Runtime.Spec;

internal static class Capabilities
{
    // Docker's default set: enough for typical images (package managers chown, servers bind :80), nothing that
    // reaches outside the container.
    public static readonly string[] Default =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ];

    // Every capability the kernel defines up to 6.x (0..40), in number order.
    public static readonly string[] All =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    /// <summary>
    /// The capabilities this host lets us hand out (our bounding set): what "ALL" and --privileged mean, since runc
    /// cannot grant a capability the daemon itself is bounded from.
    /// </summary>
    public static readonly Lazy<string[]> Available = new(() =>
    {
        ulong? bounding = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("CapBnd:", StringComparison.Ordinal))
                    bounding = ulong.Parse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
        }
        return bounding is { } b ? [.. All.Where((_, i) => (b & (1UL << i)) != 0)] : All;
    });

    /// <summary>"net_admin", "NET_ADMIN", "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; "ALL" stays "ALL".</summary>
    public static string Normalize(string name)
    {
        var upper = name.Trim().ToUpperInvariant();
        if (upper == "ALL") return upper;
        var full = upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper : "CAP_" + upper;
        if (Array.IndexOf(All, full) < 0)
            throw BerthException.Invalid($"unknown capability: \"{name}\"");
        return full;
    }

    /// <summary>Docker's merge: start from the defaults (or all when adding ALL), drop, then add what is named.</summary>
    public static List<string> Resolve(bool privileged, IReadOnlyList<string> add, IReadOnlyList<string> drop)
    {
        if (privileged) return [.. Available.Value];
        var adds = add.Select(Normalize).ToList();
        var drops = drop.Select(Normalize).ToList();
        var result = new List<string>();
        if (adds.Contains("ALL")) result.AddRange(Available.Value);
        else if (!drops.Contains("ALL")) result.AddRange(Default);
        result.RemoveAll(c => drops.Contains(c) && !adds.Contains(c));
        foreach (var c in adds)
            if (c != "ALL" && !result.Contains(c)) result.Add(c);
        return result;
    }
}
