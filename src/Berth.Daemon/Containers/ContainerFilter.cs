using Berth.Api;
using Berth.Core;

namespace Berth.Daemon.Containers;

/// <summary>The filters of GET /containers/json and POST /containers/prune, as Docker applies them.</summary>
internal static class ContainerFilter
{
    public static IEnumerable<ContainerRecord> Apply(ContainerService svc, Filters f, bool all)
    {
        var records = svc.All.Select(c => c.Record).ToList();
        var statuses = f.Get("status");
        foreach (var s in statuses)
            if (s is not ("created" or "restarting" or "running" or "removing" or "paused" or "exited" or "dead"))
                throw BerthException.Invalid($"invalid filter 'status={s}'");
        DateTimeOffset? before = f.Get("before").Select(x => svc.Get(x).Record.Created).Cast<DateTimeOffset?>().FirstOrDefault();
        DateTimeOffset? since = f.Get("since").Select(x => svc.Get(x).Record.Created).Cast<DateTimeOffset?>().FirstOrDefault();
        var health = f.Get("health");
        foreach (var h in health)
            if (h is not (HealthRules.Starting or HealthRules.Healthy or HealthRules.Unhealthy or HealthRules.None))
                throw BerthException.Invalid($"Unrecognised filter value for health: {h}");
        var exited = f.Get("exited").Select(x => int.TryParse(x, out var n) ? n : throw BerthException.Invalid($"invalid filter 'exited={x}'")).ToList();
        var ancestors = f.Get("ancestor");
        var publish = f.Has("publish") ? ContainerPortFilters.Parse("publish", f.Get("publish")) : null;
        var expose = f.Has("expose") ? ContainerPortFilters.Parse("expose", f.Get("expose")) : null;
        foreach (var r in records)
        {
            var status = ContainerViews.StatusWord(r.Status);
            // Without -a only running ones, unless a status/exited filter asks for others (Docker's rule).
            if (!all && statuses.Count == 0 && exited.Count == 0 && !r.IsRunning && r.Status != ContainerStatus.Restarting) continue;
            if (statuses.Count > 0 && !statuses.Contains(status)) continue;
            if (exited.Count > 0 && (r.Status != ContainerStatus.Exited || !r.HasBeenStarted || !exited.Contains(r.ExitCode))) continue;
            if (health.Count > 0 && !health.Contains(r.Health?.Status ?? HealthRules.None)) continue;
            if (f.Has("id") && !f.Get("id").Any(x => r.Id.StartsWith(x, StringComparison.Ordinal))) continue;
            if (f.Has("name") && !f.Get("name").Any(x => System.Text.RegularExpressions.Regex.IsMatch(r.Name, x))) continue;
            if (!LabelsMatch(r.Config.Labels, f.Get("label"))) continue;
            if (ancestors.Count > 0 && !ancestors.Any(a => r.ImageRef == a || r.ImageId == a || r.ImageId.Replace("sha256:", "").StartsWith(a.Replace("sha256:", ""), StringComparison.Ordinal) || NormalizeTag(r.ImageRef) == NormalizeTag(a))) continue;
            if (before is { } b && r.Created >= b) continue;
            if (since is { } s2 && r.Created <= s2) continue;
            if (f.Has("volume") && !r.Mounts.Any(m => f.Get("volume").Any(v => m.Name == v || m.Destination == v || m.Source == v))) continue;
            if (f.Has("network") && !f.Get("network").Any(n => (r.HostConfig.NetworkMode ?? "bridge") == n || n == "bridge" && r.HostConfig.NetworkMode == "default")) continue;
            if (publish is not null && !ContainerPortFilters.Matches(r.HostConfig.PortBindings?.Keys, publish)) continue;
            if (expose is not null && !ContainerPortFilters.Matches(r.Config.ExposedPorts?.Keys, expose)) continue;
            yield return r;
        }
    }

    private static string NormalizeTag(string s) => s.Contains(':') || s.Contains('@') ? s : s + ":latest";

    public static bool LabelsMatch(IReadOnlyDictionary<string, string>? labels, IReadOnlyList<string> wanted)
    {
        foreach (var w in wanted)
        {
            var eq = w.IndexOf('=');
            if (eq < 0)
            {
                if (labels is null || !labels.ContainsKey(w)) return false;
            }
            else if (labels is null || !labels.TryGetValue(w[..eq], out var v) || v != w[(eq + 1)..])
            {
                return false;
            }
        }
        return true;
    }

    public static IEnumerable<Container> ForPrune(ContainerService svc, Filters f)
    {
        var until = f.Get("until").Select(u => Http.TimeParam.Parse(u)).FirstOrDefault();
        foreach (var c in svc.All.ToList())
        {
            var r = c.Record;
            if (r.IsRunning || r.Status is ContainerStatus.Restarting or ContainerStatus.Removing) continue;
            if (until is { } u && r.Created >= u) continue;
            if (!LabelsMatch(r.Config.Labels, f.Get("label"))) continue;
            if (f.Get("label!").Any(l => LabelsMatch(r.Config.Labels, [l]))) continue;
            yield return c;
        }
    }
}
