using System.Diagnostics;
using Berth.Api;
using Berth.Core;

namespace Berth.Daemon.Containers;

/// <summary>docker top: runs the host's ps and keeps the rows whose PID belongs to the container's cgroup, as dockerd does.</summary>
internal static class Top
{
    /// <param name="cgroupPath">The container's cgroup, from the hierarchy's root.</param>
    public static async Task<ContainerTopResponse> RunAsync(ContainerRecord r, string cgroupPath, string psArgs, CancellationToken ct)
    {
        var pids = ContainerPids(r, cgroupPath);
        var psi = new ProcessStartInfo("ps") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in psArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new BerthException(ErrorKind.Unknown, "cannot run ps");
        var output = await p.StandardOutput.ReadToEndAsync(ct);
        var err = await p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0) throw BerthException.Invalid($"ps: {err.Trim()}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0) throw new BerthException(ErrorKind.Unknown, "ps printed nothing");
        var titles = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int pidCol = Array.IndexOf(titles, "PID");
        if (pidCol < 0) throw BerthException.Invalid("Couldn't find PID field in ps output");
        var rows = new List<IReadOnlyList<string>>();
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < titles.Length || !int.TryParse(fields[pidCol], out var pid) || !pids.Contains(pid)) continue;
            // The last column (the command) may contain spaces: keep it whole.
            var row = fields.Take(titles.Length - 1).ToList();
            row.Add(string.Join(' ', fields.Skip(titles.Length - 1)));
            rows.Add(row);
        }
        return new ContainerTopResponse { Titles = titles, Processes = rows };
    }

    private static HashSet<int> ContainerPids(ContainerRecord r, string cgroupPath)
    {
        var set = new HashSet<int>();
        // cgroup v1 pids/memory/cpu controllers all list the same tasks; the first that exists answers.
        foreach (var ctrl in new[] { "pids", "memory", "cpu", "cpuacct", "unified" })
        {
            var dir = $"/sys/fs/cgroup/{ctrl}/{cgroupPath.TrimStart('/')}";
            if (!File.Exists(Path.Combine(dir, "cgroup.procs"))) continue;
            foreach (var l in File.ReadAllLines(Path.Combine(dir, "cgroup.procs")))
                if (int.TryParse(l, out var pid)) set.Add(pid);
            if (set.Count > 0) return set;
        }
        if (r.Pid > 0) set.Add(r.Pid);
        return set;
    }
}
