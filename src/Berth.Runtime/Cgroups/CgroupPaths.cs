namespace Berth.Runtime.Cgroups;

/// <summary>
/// Where a container's cgroup goes (runc's cgroupsPath, from the root of the hierarchy): under its own
/// <c>--cgroup-parent</c>, else under the daemon's. As dockerd documents for its cgroupfs driver, a parent with a leading
/// slash is under the root cgroup and one without is under the daemon's own cgroup.
/// </summary>
public static class CgroupPaths
{
    /// <summary>
    /// A parent a request may name: path segments without "." or "..", which would leave the tree the parent names, and
    /// without control characters, which no cgroup name has.
    /// </summary>
    public static bool IsValidParent(string parent) =>
        parent.Length is > 0 and <= 4096
        && !parent.Any(char.IsControl)
        && parent.Split('/', StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } parts
        && !parts.Any(p => p is "." or "..");

    /// <summary>The container's cgroup: <paramref name="parent"/> (valid, or empty for <paramref name="daemonParent"/>), then its ID.</summary>
    public static string For(string? parent, string daemonParent, string id, Func<string>? ownCgroup = null)
    {
        if (string.IsNullOrEmpty(parent)) return Join("/", daemonParent, id);
        return Join(parent.StartsWith('/') ? "/" : (ownCgroup ?? Own)(), parent, id);
    }

    /// <summary>
    /// This process's cgroup: the unified hierarchy's line of /proc/self/cgroup ("0::/path"), which on a v1 host is the
    /// tree systemd keeps in step with the controllers; the root when there is none.
    /// </summary>
    public static string Own()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/cgroup"))
                if (line.StartsWith("0::", StringComparison.Ordinal)) return line[3..] is { Length: > 0 } p ? p : "/";
        }
        catch (IOException) { }
        return "/";
    }

    private static string Join(params string[] parts) =>
        "/" + string.Join('/', parts.SelectMany(p => p.Split('/', StringSplitOptions.RemoveEmptyEntries)));
}
