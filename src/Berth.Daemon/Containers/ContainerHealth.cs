using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Berth.Api;
using Berth.Core;
using Berth.Runtime.Shim;

namespace Berth.Daemon.Containers;

/// <summary>A healthcheck's effective settings: the probe's argv (before the shell, for CMD-SHELL) and Docker's defaults applied.</summary>
internal sealed record HealthSettings(IReadOnlyList<string> Command, bool Shell, TimeSpan Interval, TimeSpan Timeout, int Retries,
    TimeSpan StartPeriod, TimeSpan StartInterval);

/// <summary>
/// Docker's healthcheck rules as pure functions: the settings with defaults, create-time validation, the image/container
/// merge, and the state machine a probe result drives (streak, start period, the last five results).
/// </summary>
internal static class HealthRules
{
    public const string OnFailureLabel = "berth.health-on-failure";
    public static readonly string[] OnFailureActions = ["none", "kill", "restart", "stop"];
    public const string Starting = "starting", Healthy = "healthy", Unhealthy = "unhealthy", None = "none";
    public const int MaxLogEntries = 5;
    public const int MaxOutput = 4096;
    private const long MinimumNanos = 1_000_000; // 1 ms

    public static HealthSettings? Settings(HealthConfig? h)
    {
        if (h?.Test is not { Count: > 0 } test || test[0] == "NONE") return null;
        bool shell;
        if (test[0] == "CMD") shell = false;
        else if (test[0] == "CMD-SHELL") shell = true;
        else return null; // dockerd logs "unknown healthcheck type" and runs no monitor
        var cmd = test.Skip(1).ToList();
        if (cmd.Count == 0) return null;
        return new HealthSettings(cmd, shell,
            Or(h.Interval, TimeSpan.FromSeconds(30)), Or(h.Timeout, TimeSpan.FromSeconds(30)), h.Retries > 0 ? h.Retries : 3,
            Or(h.StartPeriod, TimeSpan.Zero), Or(h.StartInterval, TimeSpan.FromSeconds(5)));
    }

    private static TimeSpan Or(long nanos, TimeSpan fallback) => nanos > 0 ? TimeSpan.FromTicks(nanos / 100) : fallback;

    /// <summary>dockerd's checks at create, with its messages; and Berth's on-failure label.</summary>
    public static void Validate(HealthConfig? h, IReadOnlyDictionary<string, string>? labels)
    {
        if (h is not null)
        {
            if (h.Interval != 0 && h.Interval < MinimumNanos) throw BerthException.Invalid("Interval in Healthcheck cannot be less than 1ms");
            if (h.Timeout != 0 && h.Timeout < MinimumNanos) throw BerthException.Invalid("Timeout in Healthcheck cannot be less than 1ms");
            if (h.Retries < 0) throw BerthException.Invalid("Retries in Healthcheck cannot be negative");
            if (h.StartPeriod != 0 && h.StartPeriod < MinimumNanos) throw BerthException.Invalid("StartPeriod in Healthcheck cannot be less than 1ms");
            if (h.StartInterval != 0 && h.StartInterval < MinimumNanos) throw BerthException.Invalid("StartInterval in Healthcheck cannot be less than 1ms");
        }
        if (labels is not null && labels.TryGetValue(OnFailureLabel, out var action) && !OnFailureActions.Contains(action))
            throw BerthException.Invalid($"invalid {OnFailureLabel} value \"{action}\": must be one of none, kill, restart, stop");
    }

    /// <summary>The container's action when it turns unhealthy (its label), "none" when unset.</summary>
    public static string OnFailure(ContainerRecord r) =>
        r.Config.Labels is { } l && l.TryGetValue(OnFailureLabel, out var a) && OnFailureActions.Contains(a) ? a : "none";

    /// <summary>Docker's merge: no healthcheck asked → the image's; one asked → its unset fields from the image's.</summary>
    public static HealthConfig? Merge(HealthConfig? user, Content.HealthConfig? image)
    {
        if (image is null) return user;
        if (user is null)
            return new HealthConfig
            {
                Test = image.Test, Interval = image.Interval ?? 0, Timeout = image.Timeout ?? 0, Retries = image.Retries ?? 0,
                StartPeriod = image.StartPeriod ?? 0, StartInterval = image.StartInterval ?? 0,
            };
        return user with
        {
            Test = user.Test is { Count: > 0 } ? user.Test : image.Test,
            Interval = user.Interval != 0 ? user.Interval : image.Interval ?? 0,
            Timeout = user.Timeout != 0 ? user.Timeout : image.Timeout ?? 0,
            Retries = user.Retries != 0 ? user.Retries : image.Retries ?? 0,
            StartPeriod = user.StartPeriod != 0 ? user.StartPeriod : image.StartPeriod ?? 0,
            StartInterval = user.StartInterval != 0 ? user.StartInterval : image.StartInterval ?? 0,
        };
    }

    /// <summary>At each start: starting again, no streak; the old log stays (as dockerd keeps it).</summary>
    public static Health Begin(Health? old) => new() { Status = Starting, FailingStreak = 0, Log = old?.Log ?? [] };

    /// <summary>How long until the next probe: the start interval while starting within the start period, else the interval.</summary>
    public static TimeSpan NextInterval(HealthSettings s, Health? h, DateTimeOffset startedAt, DateTimeOffset now) =>
        now - startedAt < s.StartPeriod && h?.Status == Starting ? s.StartInterval : s.Interval;

    /// <summary>
    /// dockerd's handleProbeResult: exit 0 → healthy, streak 0; a failure counts unless the container is still starting within
    /// its start period; <c>retries</c> counted failures → unhealthy. The log keeps the last five results.
    /// </summary>
    public static Health Apply(Health h, HealthcheckResult result, DateTimeOffset probeStart, DateTimeOffset startedAt, HealthSettings s)
    {
        var log = h.Log.Concat([result]).TakeLast(MaxLogEntries).ToList();
        if (result.ExitCode == 0) return h with { Status = Healthy, FailingStreak = 0, Log = log };
        if (h.Status == Starting && probeStart - startedAt < s.StartPeriod) return h with { Log = log };
        var streak = h.FailingStreak + 1;
        return h with { FailingStreak = streak, Status = streak >= s.Retries ? Unhealthy : h.Status, Log = log };
    }

    /// <summary>ps's status suffix: " (healthy)", " (health: starting)"; empty without a healthcheck.</summary>
    public static string StatusSuffix(Health? h) => h?.Status switch
    {
        Starting => " (health: starting)",
        Healthy or Unhealthy => $" ({h.Status})",
        _ => "",
    };

    /// <summary>The probe's output as dockerd keeps it: the first 4 KiB, "..." when there was more.</summary>
    public static string Output(byte[] data, bool truncated)
    {
        var s = Encoding.UTF8.GetString(data);
        return truncated ? s + "..." : s;
    }

    /// <summary>A duration as Go prints it (1s, 300ms, 1m30s), for dockerd's timeout message.</summary>
    public static string GoDuration(TimeSpan d)
    {
        if (d == TimeSpan.Zero) return "0s";
        if (d < TimeSpan.FromSeconds(1))
        {
            // Go: below a millisecond in µs, below a second in ms, each with its fraction (1.5ms).
            return d < TimeSpan.FromMilliseconds(1)
                ? (d.Ticks / 10.0).ToString(CultureInfo.InvariantCulture) + "µs"
                : (d.Ticks / (double)TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture) + "ms";
        }
        var sb = new StringBuilder();
        if (d.TotalHours >= 1) sb.Append((long)d.TotalHours).Append('h');
        if (d.TotalMinutes >= 1) sb.Append(d.Minutes).Append('m');
        var secs = d.Seconds + (d.Ticks % TimeSpan.TicksPerSecond) / (double)TimeSpan.TicksPerSecond;
        sb.Append(secs.ToString(CultureInfo.InvariantCulture)).Append('s');
        return sb.ToString();
    }
}

/// <summary>One running container's healthcheck loop; stopping it cancels a probe under way and waits for the loop to end.</summary>
internal sealed class HealthMonitor(CancellationTokenSource cts)
{
    // Guards cts's disposal against a concurrent stop.
    private readonly object _sync = new();
    private bool _disposed;

    public Task Loop { get; set; } = Task.CompletedTask;

    public CancellationToken Token => cts.Token;

    public async Task StopAsync()
    {
        lock (_sync) if (!_disposed) cts.Cancel();
        try { await Loop.WaitAsync(TimeSpan.FromSeconds(15)); }
        catch (Exception) { /* cancelled, or a probe that would not die: the loop ends by itself */ }
    }

    /// <summary>The loop's end: its token source goes (it is linked to the daemon's shutdown).</summary>
    public void Ended()
    {
        lock (_sync)
        {
            if (_disposed) return;
            _disposed = true;
            cts.Dispose();
        }
    }
}

/// <summary>
/// Healthchecks: a monitor per running container with a healthcheck, each probe an exec through the container's shim
/// (exec_create/exec_start/exec_die events as dockerd emits them), State.Health, health_status events, and Berth's
/// <c>berth.health-on-failure</c> action.
/// </summary>
internal sealed partial class ContainerService
{
    private readonly ConcurrentDictionary<string, HealthMonitor> _healthMonitors = new(StringComparer.Ordinal);

    /// <summary>Clock of the healthchecks (probe times, intervals); tests may swap it.</summary>
    internal TimeProvider HealthClock { get; set; } = TimeProvider.System;

    /// <summary>Starts the container's monitor after a start or a live restore; no-op without a healthcheck.</summary>
    private void StartHealthMonitor(Container c, ShimClient shim, bool restored)
    {
        var r = c.Record;
        if (HealthRules.Settings(r.Config.Healthcheck) is not { } settings) return;
        // A start wrote Health already; a container restored from before healthchecks were recorded has none yet.
        if (restored && r.Health is null) Save(c, x => x with { Health = HealthRules.Begin(x.Health) });
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
        var monitor = new HealthMonitor(cts);
        if (_healthMonitors.TryRemove(c.Id, out var old)) _ = old.StopAsync();
        _healthMonitors[c.Id] = monitor;
        var startedAt = r.StartedAt ?? HealthClock.GetUtcNow();
        monitor.Loop = Task.Run(async () =>
        {
            try { await HealthLoopAsync(c, shim, settings, startedAt, monitor.Token); }
            finally
            {
                _healthMonitors.TryRemove(new KeyValuePair<string, HealthMonitor>(c.Id, monitor));
                monitor.Ended();
            }
        });
    }

    /// <summary>
    /// Stops the container's monitor and waits until no probe of it runs any more. At an exit the status becomes
    /// unhealthy, as dockerd's CloseMonitorChannel does "for compatibility reasons"; at daemon shutdown it stays.
    /// </summary>
    private async Task StopHealthMonitorAsync(string id, bool markUnhealthy = true)
    {
        if (!_healthMonitors.TryRemove(id, out var m)) return;
        await m.StopAsync();
        if (markUnhealthy) TryGet(id)?.Update(MarkUnhealthy);
    }

    private static ContainerRecord MarkUnhealthy(ContainerRecord x) =>
        x.Health is { Status: not HealthRules.Unhealthy } h ? x with { Health = h with { Status = HealthRules.Unhealthy } } : x;

    private Task StopAllHealthMonitorsAsync() =>
        Task.WhenAll(_healthMonitors.Keys.ToList().Select(id => StopHealthMonitorAsync(id, markUnhealthy: false)));

    private async Task HealthLoopAsync(Container c, ShimClient shim, HealthSettings s, DateTimeOffset startedAt, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(HealthRules.NextInterval(s, c.Record.Health, startedAt, HealthClock.GetUtcNow()), HealthClock, ct);
                var r = c.Record;
                if (c.Shim != shim || !r.IsRunning) return;
                // A pause marked it unhealthy (dockerd closes the monitor then and opens it again at unpause).
                if (r.Status == ContainerStatus.Paused) continue;
                var start = HealthClock.GetUtcNow();
                var result = await ProbeAsync(c, shim, s, start, ct);
                if (ct.IsCancellationRequested) return; // stopped while probing: dockerd ignores that result
                if (c.Shim != shim || !c.Record.IsRunning) return; // exited mid-probe: the probe failed for that reason only
                if (c.Record.Status == ContainerStatus.Paused) continue; // paused mid-probe: dockerd had stopped the monitor
                var before = c.Record.Health ?? HealthRules.Begin(null);
                var after = HealthRules.Apply(before, result, start, startedAt, s);
                var saved = before.Status != after.Status ? Save(c, x => x with { Health = after }) : c.Update(x => x with { Health = after });
                if (before.Status != after.Status)
                {
                    Events.Container("health_status: " + after.Status, saved);
                    if (after.Status == HealthRules.Unhealthy && HealthRules.OnFailure(saved) is var action and not "none")
                        _ = Task.Run(() => OnUnhealthyAsync(c, shim, action));
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e)
        {
            _log.LogWarning("healthcheck monitor of {Id} failed: {Error}", c.Id[..12], e.Message);
        }
    }

    /// <summary>One probe: an exec in the container, its output captured, killed when it outlives the timeout.</summary>
    private async Task<HealthcheckResult> ProbeAsync(Container c, ShimClient shim, HealthSettings s, DateTimeOffset start, CancellationToken ct)
    {
        var r = c.Record;
        IReadOnlyList<string> args = s.Shell
            ? [.. (r.Config.Shell is { Count: > 0 } sh ? sh : ["/bin/sh", "-c"]), .. s.Command]
            : s.Command;
        var execId = Ids.NewId();
        Events.ExecCreated(r, execId, args);
        // The timeout covers the whole probe from here, as dockerd's: an exec that cannot even start (a container frozen
        // meanwhile) times out too, rather than holding the monitor.
        using var deadline = new CancellationTokenSource(s.Timeout, HealthClock);
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        bool TimedOut() => deadline.IsCancellationRequested && !ct.IsCancellationRequested;
        string TimeoutText(string output) => output.Length > 0
            ? $"Health check exceeded timeout ({HealthRules.GoDuration(s.Timeout)}): {output}"
            : $"Health check exceeded timeout ({HealthRules.GoDuration(s.Timeout)})";
        ShimAttachment session;
        try
        {
            var user = UserResolver.Resolve(_paths.Rootfs(r.Id), r.Config.User, r.HostConfig.GroupAdd);
            session = await shim.ExecAsync(new ExecRequest
            {
                ExecId = execId,
                Args = args,
                Cwd = string.IsNullOrEmpty(r.Config.WorkingDir) ? null : r.Config.WorkingDir,
                Uid = user.Uid,
                Gid = user.Gid,
                AdditionalGids = user.AdditionalGids,
                Stdout = true,
                Stderr = true,
            }, probe.Token);
        }
        catch (OperationCanceledException) when (TimedOut())
        {
            return Result(start, -1, TimeoutText(""));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Result(start, -1, $"OCI runtime exec failed: {e.Message}: unknown");
        }
        Events.ExecStarted(r, execId, args);
        var output = new MemoryStream();
        bool truncated = false;
        async Task ReadAsync()
        {
            await foreach (var chunk in session.ReadOutputAsync(CancellationToken.None))
            {
                var room = HealthRules.MaxOutput - (int)output.Length;
                if (room > 0) output.Write(chunk.Data.Span[..Math.Min(room, chunk.Data.Length)]);
                if (chunk.Data.Length > room) truncated = true;
            }
        }
        var read = Task.Run(ReadAsync, CancellationToken.None);
        bool timedOut = false;
        try
        {
            var done = await Task.WhenAny(read, Task.Delay(Timeout.InfiniteTimeSpan, probe.Token));
            if (done != read)
            {
                timedOut = TimedOut();
                // The probe is killed outright (dockerd: no graceful shutdown); a child holding its output open is cut off.
                // Only a probe that ran out of time: on a stop the container's own end takes it, and its pid may be reused.
                if (timedOut && session.Pid > 0 && c.Shim == shim && c.Record.IsRunning) KillProcessTree(session.Pid);
                try { await read.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None); }
                catch (TimeoutException) { }
            }
        }
        catch (Exception e) when (e is IOException or BerthException) { }
        await session.DisposeAsync();
        try { await read.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None); } catch (Exception) { }
        int code = session.Exit?.ExitCode ?? -1;
        if (TryGet(c.Id) is { } now) Events.ExecDied(now.Record, execId, code < 0 ? 137 : code);
        var text = HealthRules.Output(output.ToArray(), truncated);
        if (timedOut) return Result(start, -1, TimeoutText(text));
        return Result(start, code, text);
    }

    /// <summary>SIGKILL to the probe and everything it started (a shell's children would outlive it, holding its output).</summary>
    private static void KillProcessTree(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.TryParse(fields[1], out var ppid))
                {
                    if (!children.TryGetValue(ppid, out var list)) children[ppid] = list = [];
                    list.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* gone meanwhile */ }
        }
        var tree = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.Count > 0 && tree.Count < 4096)
        {
            var p = queue.Dequeue();
            tree.Add(p);
            foreach (var ch in children.GetValueOrDefault(p) ?? []) queue.Enqueue(ch);
        }
        // The probe first, so it spawns nothing more; then what it had started.
        foreach (var p in tree) Core.Interop.Sys.Kill(p, 9);
    }

    private HealthcheckResult Result(DateTimeOffset start, int code, string output) => new()
    {
        Start = HumanTime.Rfc3339Nano(start),
        End = HumanTime.Rfc3339Nano(HealthClock.GetUtcNow()),
        ExitCode = code,
        Output = output,
    };

    /// <summary>
    /// Berth's --health-on-failure (moby#28400): kill sends SIGKILL (the restart policy then decides), stop is a graceful
    /// stop with the container's stop timeout, restart stops it the same way but not as a stop by hand, so its exit restarts
    /// it (RestartCount one up, a restart event) as the restart policy would, at once.
    /// </summary>
    private async Task OnUnhealthyAsync(Container c, ShimClient shim, string action)
    {
        try
        {
            if (c.Shim != shim || !c.Record.IsRunning) return;
            _log.LogInformation("container {Id} is unhealthy: {Action}", c.Id[..12], action);
            switch (action)
            {
                case "kill":
                    Events.Killed(c.Record, 9);
                    await shim.KillAsync(9, true, _shutdown.Token);
                    await ThawAfterSignalAsync(c, shim);
                    break;
                case "stop":
                    await StopAsync(c.Id, null, null, _shutdown.Token);
                    break;
                case "restart":
                    // The restart policy's path: the exit this stop causes restarts it, unless a stop or removal by hand
                    // comes first (those mark it stopped by hand or being removed, which the restart honours).
                    c.MarkHealthRestart();
                    await SignalUntilExitAsync(c, null, null, _shutdown.Token);
                    break;
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e)
        {
            _log.LogWarning("health-on-failure {Action} of {Id} failed: {Error}", action, c.Id[..12], e.Message);
        }
    }
}
