using System.Text;
using System.Text.Json;
using Berth.Core;
using Berth.Network;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Shim;
using Berth.Runtime.Spec;
using Berth.Storage;

namespace Berth.Daemon.Containers;

internal sealed partial class ContainerService
{
    // ---- start ----

    public async Task StartAsync(string idOrName, CancellationToken ct)
    {
        var c = Get(idOrName);
        await c.Operation.WaitAsync(ct);
        bool held = true;
        try
        {
            var r = c.Record;
            switch (r.Status)
            {
                case ContainerStatus.Running or ContainerStatus.Restarting:
                    throw new BerthException(ErrorKind.NotModified, "container already started");
                case ContainerStatus.Paused:
                    throw BerthException.Conflict($"cannot start a paused container, try unpause instead");
                case ContainerStatus.Removing or ContainerStatus.Dead:
                    throw BerthException.Conflict($"container {r.Id} is marked for removal and cannot be started");
            }
            if (c.RemovalInProgress) throw BerthException.Conflict($"container {r.Id} is marked for removal and cannot be started");
            await StartLockedAsync(c, manual: true, ct);
        }
        catch (BerthException e) when (e.Kind != ErrorKind.NotModified && c.Record.HostConfig.AutoRemove && !c.Record.IsRunning)
        {
            // Like dockerd: a --rm container that failed to start is removed, so `wait?condition=removed` returns.
            c.Operation.Release();
            held = false;
            try { await RemoveAsync(c.Id, force: true, removeVolumes: true, CancellationToken.None); }
            catch (BerthException re) { _log.LogWarning("auto-remove of {Id} failed: {Error}", c.Id[..12], re.Message); }
            throw;
        }
        finally
        {
            if (held) c.Operation.Release();
        }
    }

    /// <summary>Brings a container from created/exited to running. Caller holds <see cref="Container.Operation"/>.</summary>
    private async Task StartLockedAsync(Container c, bool manual, CancellationToken ct)
    {
        c.TakeHealthRestart(); // a mark no exit took belongs to an earlier run
        var r = c.Record;
        var id = r.Id;
        var rootfs = _paths.Rootfs(id);
        EndpointRecord? endpoint = null;
        IReadOnlyList<EndpointRecord> extraEndpoints = [];
        IReadOnlyList<PublishedPort>? ports = null;
        string? sandbox = null;
        ShimClient? shim = null;
        bool mounted = false;
        await c.PreviousShimGone;
        try
        {
            Directory.CreateDirectory(rootfs);
            MountOps.MountAll(_snapshotter.Mounts(r.SnapshotKey), rootfs);
            mounted = true;
            var user = UserResolver.Resolve(rootfs, r.Config.User, r.HostConfig.GroupAdd);
            PopulateVolumes(r, rootfs);

            var mode = r.HostConfig.NetworkMode ?? "bridge";
            var netMode = Runtime.Spec.NetworkMode.Namespace;
            string? ip = null;
            if (mode == "host")
            {
                netMode = Runtime.Spec.NetworkMode.Host;
            }
            else if (mode is not "none")
            {
                sandbox = await _network.CreateSandboxAsync(id, ct);
                // Docker allows --ip only on user-defined networks, so the default bridge always allocates.
                // The default bridge or a user-defined network, unless the container was disconnected from it.
                if (!r.PrimaryDetached) endpoint = await ConnectPrimaryAsync(r, sandbox, ct);
                extraEndpoints = await ConnectOtherNetworksAsync(r, sandbox, ct); // removed with the sandbox
                // Ports are published on the network mode's endpoint, else on the first network the container is on.
                if ((endpoint ?? extraEndpoints.FirstOrDefault()) is { } main)
                {
                    ip = main.IPv4;
                    ports = await ContainerPortsPublishing.PublishAsync(_network, r, main, ct); // released with the endpoint
                }
            }
            WriteEtcFiles(r, ip);

            var env = new List<string>(r.Config.Env ?? []);
            if (!env.Any(e => e.StartsWith("HOSTNAME=", StringComparison.Ordinal))) env.Add($"HOSTNAME={r.Config.Hostname}");
            if (!env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal))) env.Add($"HOME={user.Home}");
            var spec = new ContainerProcessSpec
            {
                Args = [r.Path, .. r.Args],
                Env = env,
                Cwd = string.IsNullOrEmpty(r.Config.WorkingDir) ? "/" : r.Config.WorkingDir,
                Uid = user.Uid,
                Gid = user.Gid,
                AdditionalGids = user.AdditionalGids,
                Hostname = mode == "host" ? null : r.Config.Hostname,
                Terminal = r.Config.Tty,
                ConsoleHeight = r.HostConfig.ConsoleSize is [var rows, _] ? rows : 0,
                ConsoleWidth = r.HostConfig.ConsoleSize is [_, var cols] ? cols : 0,
                RootfsPath = rootfs,
                ReadonlyRootfs = r.HostConfig.ReadonlyRootfs,
                Mounts = ContainerMounts(r),
                NetworkMode = netMode,
                NetworkNamespacePath = sandbox,
                Privileged = r.HostConfig.Privileged,
                CapAdd = r.HostConfig.CapAdd ?? [],
                CapDrop = r.HostConfig.CapDrop ?? [],
                NoNewPrivileges = (r.HostConfig.SecurityOpt ?? []).Any(o => o is "no-new-privileges" or "no-new-privileges:true" or "no-new-privileges=true"),
                Memory = r.HostConfig.Memory,
                MemorySwap = r.HostConfig.MemorySwap,
                NanoCpus = r.HostConfig.NanoCpus,
                CpuShares = r.HostConfig.CpuShares,
                PidsLimit = r.HostConfig.PidsLimit,
                CgroupsPath = CgroupPaths.For(r.HostConfig.CgroupParent, _options.CgroupParent, id),
                Init = r.HostConfig.Init == true,
                InitPath = _options.InitPath,
                Sysctls = r.HostConfig.Sysctls ?? new Dictionary<string, string>(),
                Rlimits = [.. (r.HostConfig.Ulimits ?? []).Select(u => new Runtime.Spec.SpecRlimit("RLIMIT_" + u.Name!.ToUpperInvariant(), (ulong)u.Hard, (ulong)u.Soft))],
                ShmSize = r.HostConfig.ShmSize,
                OomScoreAdj = r.HostConfig.OomScoreAdj == 0 ? null : r.HostConfig.OomScoreAdj,
            };
            if (spec.Init && !File.Exists(_options.InitPath))
                throw BerthException.Invalid($"--init: the init binary {_options.InitPath} is missing (install Debian's tini package)");
            var bundle = _paths.Bundle(id);
            Directory.CreateDirectory(bundle);
            File.WriteAllBytes(Path.Combine(bundle, "config.json"), SpecBuilder.Serialize(SpecBuilder.Build(spec)));

            var stateDir = _paths.ShimStateDir(id);
            if (Directory.Exists(stateDir)) Directory.Delete(stateDir, recursive: true);
            Directory.CreateDirectory(stateDir);
            Directory.CreateDirectory(Path.GetDirectoryName(_paths.ShimSocket(id))!);
            var (maxSize, maxFiles) = LogLimits(r);
            shim = await ShimClient.LaunchAsync(new ShimLaunchOptions
            {
                ShimPath = ShimPath(),
                RuncPath = _options.RuncPath,
                RuncRoot = _paths.RuncRoot,
                Id = id,
                BundleDir = bundle,
                SocketPath = _paths.ShimSocket(id),
                StateDir = stateDir,
                LogPath = _paths.LogFile(id),
                LogMaxSize = maxSize,
                LogMaxFiles = maxFiles,
                OpenStdin = r.Config.OpenStdin,
                StdinOnce = r.Config.StdinOnce,
                Terminal = spec.Terminal,
                CgroupsPath = spec.CgroupsPath,
                ExecGates = _options.ExecGates,
            }, ct);

            foreach (var p in c.TakeAttachers())
            {
                try { p.Result.TrySetResult(await shim.AttachAsync(p.Stdin, p.Stdout, p.Stderr, ct)); }
                catch (Exception e) { p.Result.TrySetException(e); }
            }
            await ApplyStartResourcesAsync(shim, r, ct);
            await shim.StartAsync(ct);
            c.Shim = shim;
            Save(c, x => x with
            {
                Status = ContainerStatus.Running,
                Pid = shim.Pid,
                CgroupPath = spec.CgroupsPath,
                StartedAt = DateTimeOffset.UtcNow,
                HasBeenStarted = true,
                ManuallyStopped = manual ? false : x.ManuallyStopped,
                RestartCount = manual ? 0 : x.RestartCount,
                Error = "",
                ExitCode = 0,
                OomKilled = false,
                Endpoint = endpoint,
                ExtraEndpoints = extraEndpoints,
                SandboxKey = sandbox,
                Ports = ports,
                // A healthcheck starts over at each start ("starting"), in the same write as the rest of the state.
                Health = HealthRules.Settings(x.Config.Healthcheck) is null ? x.Health : HealthRules.Begin(x.Health),
            });
            Events.VolumeMounts(c.Record, mounted: true);
            foreach (var e in AllEndpoints(c.Record)) Events.Network("connect", e.NetworkId, e.Network, DriverOf(e), id);
            Events.Container("start", c.Record);
            _ = MonitorAsync(c, shim);
            StartHealthMonitor(c, shim, restored: false);
        }
        catch (Exception e)
        {
            _log.LogWarning("start of {Id} failed: {Error}", id[..12], e.Message);
            if (shim is not null)
            {
                try { await shim.KillAsync(9, all: true, CancellationToken.None); } catch (Exception) { }
                try { await shim.DeleteAsync(CancellationToken.None); } catch (Exception) { }
            }
            foreach (var p in c.TakeAttachers()) p.Result.TrySetException(e);
            if (endpoint is not null) await Quietly(() => _network.DisconnectAsync(endpoint, CancellationToken.None));
            if (sandbox is not null) await Quietly(() => _network.RemoveSandboxAsync(id, CancellationToken.None));
            if (mounted) Quietly(() => MountOps.Unmount(rootfs));
            var code = StartErrorExitCode(e.Message);
            Save(c, x => x with { Status = x.HasBeenStarted ? ContainerStatus.Exited : ContainerStatus.Created, Error = e.Message, ExitCode = code, Pid = 0 });
            if (e is BerthException { Kind: not ErrorKind.Unknown }) throw;
            throw new BerthException(ErrorKind.InvalidArgument, $"failed to create task for container: {e.Message}", e);
        }
    }

    private static int StartErrorExitCode(string message) =>
        message.Contains("executable file not found") || message.Contains("no such file or directory") ? 127
        : message.Contains("permission denied") ? 126 : 128;

    private (long, int) LogLimits(ContainerRecord r)
    {
        // Stored merged at create; merged again for containers created before that, which hold only their own.
        var opts = LogConfigOf(r.HostConfig.LogConfig).Config!;
        long size = opts.TryGetValue("max-size", out var s) ? ContainerValidation.ParseSize(s) : 20L * 1024 * 1024;
        int files = opts.TryGetValue("max-file", out var f) && int.TryParse(f, out var n) ? n : 5;
        return (size, files);
    }

    private string ShimPath()
    {
        if (_options.ShimPath is { } p) return p;
        var beside = Path.Combine(AppContext.BaseDirectory, "berth-shim");
        return File.Exists(beside) ? beside : "berth-shim";
    }

    private List<Mount> ContainerMounts(ContainerRecord r)
    {
        var etcMode = r.HostConfig.ReadonlyRootfs ? "ro" : "rw";
        var list = new List<Mount>
        {
            new() { Type = "bind", Source = _paths.HostnameFile(r.Id), Target = "/etc/hostname", Options = ["rbind", "rprivate", etcMode] },
            new() { Type = "bind", Source = _paths.HostsFile(r.Id), Target = "/etc/hosts", Options = ["rbind", "rprivate", etcMode] },
            new() { Type = "bind", Source = _paths.ResolvConfFile(r.Id), Target = "/etc/resolv.conf", Options = ["rbind", "rprivate", etcMode] },
        };
        foreach (var m in r.Mounts)
        {
            if (m.Type == "tmpfs")
                list.Add(new Mount { Type = "tmpfs", Source = "tmpfs", Target = m.Destination, Options = [.. m.TmpfsOptions, m.RW ? "rw" : "ro"] });
            else
                list.Add(new Mount { Type = "bind", Source = m.Source, Target = m.Destination, Options = ["rbind", string.IsNullOrEmpty(m.Propagation) ? "rprivate" : m.Propagation, m.RW ? "rw" : "ro"] });
        }
        return list;
    }

    /// <summary>A new, empty volume gets the image's content at its mount point (Docker's copy-up), once.</summary>
    private void PopulateVolumes(ContainerRecord r, string rootfs)
    {
        foreach (var m in r.Mounts)
        {
            if (m.Type != "volume" || m.Name is null || m.Mode.Contains("nocopy")) continue;
            var source = Path.Combine(rootfs, m.Destination.TrimStart('/'));
            var marker = Path.Combine(Path.GetDirectoryName(m.Source)!, ".populated");
            if (File.Exists(marker)) continue;
            try
            {
                var di = new DirectoryInfo(source);
                if (di.Exists && di.LinkTarget is null && !Directory.EnumerateFileSystemEntries(m.Source).Any())
                    _volumes.CopyUp(source, m.Name);
                File.WriteAllText(marker, "");
            }
            catch (IOException e)
            {
                _log.LogWarning("populating volume {Name} from the image failed: {Error}", m.Name, e.Message);
            }
        }
    }

    private void WriteEtcFiles(ContainerRecord r, string? ip)
    {
        var hostname = r.Config.Hostname ?? r.Id[..12];
        // Regenerated at every start: plain writes, no fsync on the start path.
        File.WriteAllText(_paths.HostnameFile(r.Id), hostname + "\n");
        var hosts = new StringBuilder();
        if (r.HostConfig.NetworkMode == "host" && File.Exists("/etc/hosts"))
        {
            hosts.Append(File.ReadAllText("/etc/hosts"));
        }
        else
        {
            hosts.Append("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
            foreach (var extra in r.HostConfig.ExtraHosts ?? [])
            {
                var i = extra.IndexOf(':');
                if (i > 0) hosts.Append($"{extra[(i + 1)..]}\t{extra[..i]}\n");
            }
            if (ip is not null) hosts.Append($"{ip}\t{hostname}\n");
        }
        File.WriteAllText(_paths.HostsFile(r.Id), hosts.ToString());
        File.WriteAllText(_paths.ResolvConfFile(r.Id), UsesEmbeddedDns(r) ? EmbeddedResolvConf(r) : ResolvConf(r));
    }

    private static string ResolvConf(ContainerRecord r)
    {
        var sb = new StringBuilder();
        var host = File.Exists("/etc/resolv.conf") ? File.ReadAllLines("/etc/resolv.conf") : [];
        var dns = r.HostConfig.Dns ?? [];
        var search = r.HostConfig.DnsSearch ?? [];
        var opts = r.HostConfig.DnsOptions ?? [];
        if (dns.Count > 0) foreach (var d in dns) sb.Append($"nameserver {d}\n");
        else if (r.HostConfig.NetworkMode == "host") foreach (var l in host.Where(l => l.StartsWith("nameserver"))) sb.Append(l).Append('\n');
        else foreach (var l in host.Where(l => l.StartsWith("nameserver") && !l.Contains(" 127.") && !l.Contains(" ::1"))) sb.Append(l).Append('\n');
        if (search.Count > 0) sb.Append("search ").Append(string.Join(' ', search)).Append('\n');
        else foreach (var l in host.Where(l => l.StartsWith("search ") || l.StartsWith("domain "))) sb.Append(l).Append('\n');
        if (opts.Count > 0) sb.Append("options ").Append(string.Join(' ', opts)).Append('\n');
        else foreach (var l in host.Where(l => l.StartsWith("options "))) sb.Append(l).Append('\n');
        return sb.ToString();
    }

    // ---- exit handling ----

    private async Task MonitorAsync(Container c, ShimClient shim)
    {
        ExitStatus status;
        try
        {
            status = await shim.WaitAsync(_shutdown.Token);
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            return; // daemon shutting down: the shim keeps the container; the next daemon re-adopts it
        }
        catch (Exception e)
        {
            // The shim went away without telling: use what it recorded, if anything.
            status = ShimClient.ReadExitStatus(_paths.ShimStateDir(c.Id)) ?? new ExitStatus { ExitCode = 255, FinishedAt = DateTimeOffset.UtcNow };
            _log.LogWarning("lost the shim of {Id}: {Error}", c.Id[..12], e.Message);
        }
        await HandleExitAsync(c, status);
    }

    private async Task HandleExitAsync(Container c, ExitStatus status)
    {
        await c.Operation.WaitAsync();
        ContainerRecord r;
        try
        {
            await StopHealthMonitorAsync(c.Id); // no probe runs past the exit (a start under way registered its monitor)
            var shim = c.Shim;
            c.Shim = null;
            // runc's own clean-up finishes in the shim meanwhile; only a next start of this container waits for it.
            if (shim is not null) c.PreviousShimGone = Quietly(() => shim.DeleteAsync(CancellationToken.None));
            r = c.Record;
            await ReleaseRunResourcesAsync(r);
            foreach (var e in AllEndpoints(r)) Events.Network("disconnect", e.NetworkId, e.Network, DriverOf(e), r.Id);
            Events.VolumeMounts(r, mounted: false);
            // A --rm container's record is deleted in a moment; if the daemon dies first, restore finds the shim's
            // exit.json and removes it then. So only containers that stay are written to disk here.
            Func<Func<ContainerRecord, ContainerRecord>, ContainerRecord> store = r.HostConfig.AutoRemove ? c.Update : change => Save(c, change);
            r = store(x => x with
            {
                Status = ContainerStatus.Exited,
                ExitCode = status.ExitCode,
                OomKilled = status.OomKilled,
                FinishedAt = status.FinishedAt == default ? DateTimeOffset.UtcNow : status.FinishedAt,
                Pid = 0,
                Endpoint = null,
                ExtraEndpoints = [],
                SandboxKey = null,
                Ports = null,
            });
        }
        finally
        {
            c.Operation.Release();
        }
        _log.LogDebug("container {Id} exited with {Code}", c.Id[..12], status.ExitCode);
        if (status.OomKilled) Events.Container("oom", r);
        Events.Died(r, status.ExitCode); // before waiters hear of the exit, so "die" precedes what they do next
        c.SignalExit(status.ExitCode);

        bool healthRestart = c.TakeHealthRestart() && !r.ManuallyStopped;
        if (healthRestart || ShouldRestart(r))
        {
            _ = RestartAfterBackoffAsync(c, healthRestart);
        }
        else if (r.HostConfig.AutoRemove)
        {
            try { await RemoveAsync(c.Id, force: true, removeVolumes: true, CancellationToken.None); }
            catch (BerthException e) { _log.LogWarning("auto-remove of {Id} failed: {Error}", c.Id[..12], e.Message); }
        }
    }

    private async Task ReleaseRunResourcesAsync(ContainerRecord r)
    {
        // The links go after the exit is answered (the kernel takes ~20 ms per veth); RemoveAsync waits for them.
        if (r.SandboxKey is not null || r.Endpoint is not null)
            await Quietly(() => _network.ReleaseSandboxAsync(r.Id, AllEndpoints(r), CancellationToken.None));
        Quietly(() => MountOps.Unmount(_paths.Rootfs(r.Id)));
    }

    private static bool ShouldRestart(ContainerRecord r)
    {
        if (r.Status == ContainerStatus.Removing) return false;
        var p = r.HostConfig.RestartPolicy;
        return p?.Name switch
        {
            "always" => !r.ManuallyStopped,
            "unless-stopped" => !r.ManuallyStopped,
            "on-failure" => !r.ManuallyStopped && r.ExitCode != 0 && (p.MaximumRetryCount == 0 || r.RestartCount < p.MaximumRetryCount),
            _ => false,
        };
    }

    /// <summary>
    /// The restart policy's restart, after Docker's backoff; a health-on-failure restart comes at once and is announced as
    /// a restart. A stop or removal by hand in the meantime wins.
    /// </summary>
    private async Task RestartAfterBackoffAsync(Container c, bool healthRestart)
    {
        ContainerRecord r;
        await c.Operation.WaitAsync();
        try
        {
            // Started by hand or being removed since the exit: nothing to restart.
            if (c.RemovalInProgress || c.Record.Status != ContainerStatus.Exited) return;
            r = Save(c, x => x with { Status = ContainerStatus.Restarting, RestartCount = x.RestartCount + 1 });
        }
        finally
        {
            c.Operation.Release();
        }
        // Docker's backoff: 100 ms doubling, reset when a run lasted 10 s or more.
        var ran = (r.FinishedAt ?? DateTimeOffset.UtcNow) - (r.StartedAt ?? DateTimeOffset.UtcNow);
        var delay = healthRestart ? 0 : ran >= TimeSpan.FromSeconds(10) ? 100 : Math.Min(100 * (1 << Math.Min(r.RestartCount, 10)), 60_000);
        try { await Task.Delay(delay, _shutdown.Token); }
        catch (OperationCanceledException) { return; }
        await c.Operation.WaitAsync();
        try
        {
            var now = c.Record;
            if (now.Status != ContainerStatus.Restarting || now.ManuallyStopped || c.RemovalInProgress) return;
            await StartLockedAsync(c, manual: false, _shutdown.Token);
            if (healthRestart) Events.Container("restart", c.Record);
        }
        catch (Exception e)
        {
            _log.LogWarning("restart of {Id} failed: {Error}", c.Id[..12], e.Message);
            Save(c, x => x with { Status = ContainerStatus.Exited });
        }
        finally
        {
            c.Operation.Release();
        }
    }

    // ---- stop / kill / restart ----

    public async Task StopAsync(string idOrName, int? timeoutSeconds, string? signal, CancellationToken ct)
    {
        var c = Get(idOrName);
        var r = c.Record;
        if (r.Status == ContainerStatus.Restarting)
        {
            Save(c, x => x with { ManuallyStopped = true, Status = ContainerStatus.Exited });
            return;
        }
        if (!r.IsRunning) throw new BerthException(ErrorKind.NotModified, "container already stopped");
        Save(c, x => x with { ManuallyStopped = true });
        await SignalUntilExitAsync(c, timeoutSeconds, signal, ct);
        Events.Container("stop", c.Record);
    }

    /// <summary>
    /// The stop signal (the container's own unless one is given), then SIGKILL once the timeout (the container's own, 10 s
    /// by default; negative waits for ever) has passed; returns when the run has exited.
    /// </summary>
    private async Task SignalUntilExitAsync(Container c, int? timeoutSeconds, string? signal, CancellationToken ct)
    {
        var r = c.Record;
        int sig = signal is not null ? Signals.Parse(signal) : Signals.ParseStop(r.Config.StopSignal);
        int timeout = timeoutSeconds ?? r.Config.StopTimeout ?? 10;
        var exited = c.NextExit;
        if (c.Shim is { } shim)
        {
            Events.Killed(r, sig);
            await Quietly(() => shim.KillAsync(sig, false, ct));
            await ThawAfterSignalAsync(c, shim);
            if (timeout < 0) { await exited.WaitAsync(ct); return; }
            var done = await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(timeout), ct));
            if (done == exited) return;
            Events.Killed(r, 9);
            await Quietly(() => shim.KillAsync(9, true, ct));
        }
        await exited.WaitAsync(TimeSpan.FromSeconds(30), ct);
    }

    public async Task KillAsync(string idOrName, string? signal, CancellationToken ct)
    {
        var c = Get(idOrName);
        var r = c.Record;
        int sig = Signals.Parse(string.IsNullOrEmpty(signal) ? "SIGKILL" : signal);
        if (!r.IsRunning || c.Shim is not { } shim)
            throw BerthException.Conflict($"Cannot kill container: {idOrName}: container {r.Id} is not running");
        if (sig == 9) Save(c, x => x with { ManuallyStopped = true });
        Events.Killed(r, sig);
        await shim.KillAsync(sig, false, ct);
        if (ThawsOnKill(r, sig)) await ThawAfterSignalAsync(c, shim);
    }

    public async Task RestartAsync(string idOrName, int? timeoutSeconds, string? signal, CancellationToken ct)
    {
        var c = Get(idOrName);
        if (c.Record.IsRunning)
        {
            try { await StopAsync(idOrName, timeoutSeconds, signal, ct); }
            catch (BerthException e) when (e.Kind == ErrorKind.NotModified) { }
        }
        await StartAsync(c.Id, ct);
        Events.Container("restart", c.Record);
    }

    // ---- wait ----

    /// <summary>Checks the condition before returning, so a bad one fails the request before any answer starts.</summary>
    public Task<int> WaitAsync(Container c, string condition, CancellationToken ct)
    {
        if (condition is not ("" or "not-running" or "next-exit" or "removed"))
            throw BerthException.Invalid($"invalid condition: \"{condition}\"");
        return WaitCoreAsync(c, condition, ct);
    }

    private async Task<int> WaitCoreAsync(Container c, string condition, CancellationToken ct)
    {
        switch (condition)
        {
            case "" or "not-running":
                {
                    var next = c.NextExit;
                    var r = c.Record;
                    if (!r.IsRunning && r.Status != ContainerStatus.Restarting) return r.ExitCode;
                    return await next.WaitAsync(ct);
                }
            case "next-exit":
                return await c.NextExit.WaitAsync(ct);
            case "removed":
                await c.Removed.Task.WaitAsync(ct);
                return c.Record.ExitCode;
            default:
                throw new InvalidOperationException($"unchecked wait condition {condition}");
        }
    }

    // ---- remove ----

    public async Task RemoveAsync(string idOrName, bool force, bool removeVolumes, CancellationToken ct)
    {
        var c = Get(idOrName);
        c.BeginRemoval();
        bool locked = false;
        try
        {
            // A start that held the lock before the mark was set can bring the container up once more; the mark keeps any
            // later start away, so the second pass stops what the first found started.
            for (int pass = 0; !locked; pass++)
            {
                var r = c.Record;
                if (r.IsRunning || r.Status == ContainerStatus.Restarting)
                {
                    if (!force || pass == 3)
                        throw BerthException.Conflict($"cannot remove container \"{r.Name}\": container is running: stop the container before removing or force remove");
                    Save(c, x => x with { ManuallyStopped = true });
                    if (c.Shim is { } shim)
                    {
                        var exited = c.NextExit;
                        Events.Killed(r, 9);
                        await Quietly(() => shim.KillAsync(9, true, ct));
                        await ThawAfterSignalAsync(c, shim);
                        await exited.WaitAsync(TimeSpan.FromSeconds(30), ct);
                    }
                }
                await c.Operation.WaitAsync(ct);
                locked = !c.Record.IsRunning || c.Removed.Task.IsCompleted;
                if (!locked) c.Operation.Release();
            }
        }
        catch
        {
            c.EndRemoval();
            throw;
        }
        try
        {
            if (c.Removed.Task.IsCompleted) return;
            var r = c.Update(x => x with { Status = ContainerStatus.Removing }); // the directory goes next: nothing to persist
            await ReleaseRunResourcesAsync(r);
            await Quietly(() => _snapshotter.RemoveAsync(r.SnapshotKey, CancellationToken.None));
            try { Directory.Delete(_paths.Dir(r.Id), recursive: true); } catch (DirectoryNotFoundException) { }
            try { Directory.Delete(_paths.ShimStateDir(r.Id), recursive: true); } catch (DirectoryNotFoundException) { }
            _byId.TryRemove(r.Id, out _);
            ForgetExecs(r.Id);
            lock (_namesLock) _names.Remove(r.Name.TrimStart('/'));
            if (removeVolumes)
                foreach (var m in r.Mounts.Where(m => m is { Type: "volume", Anonymous: true, Name: not null }))
                    if (VolumeUsers(m.Name!).Count == 0) { Quietly(() => _volumes.Remove(m.Name!)); Events.Volume("destroy", m.Name!); }
            Events.Container("destroy", r);
        }
        finally
        {
            c.Operation.Release();
        }
        c.Removed.TrySetResult();
        // After `wait?condition=removed` has its answer: the old shim finishing runc's clean-up and exiting.
        try { await c.PreviousShimGone.WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false); }
        catch (TimeoutException) { _log.LogWarning("the shim of removed container {Id} is slow to exit", c.Id[..12]); }
        await _network.WhenReleasedAsync(c.Id).ConfigureAwait(false); // its links, deleted after the exit was answered
    }

    // ---- restore (daemon start) and shutdown ----

    public async Task RestoreAsync(CancellationToken ct)
    {
        var live = new List<(Container C, ShimClient Shim)>();
        var exited = new List<(Container C, ExitStatus Status)>();
        foreach (var dir in Directory.EnumerateDirectories(_paths.ContainersDir))
        {
            var file = Path.Combine(dir, "container.json");
            ContainerRecord? r;
            if (!File.Exists(file) && Path.GetFileName(dir) is { Length: 64 } name && name.All(char.IsAsciiHexDigitLower))
            {
                // The record is written last at create and its directory deleted last at removal: a directory without it
                // is what a crash in the middle of either left. Nothing refers to it; it and its writable layer go.
                var orphan = Path.GetFileName(dir);
                _log.LogWarning("removing {Dir}: a container half created or half removed when the daemon stopped", dir);
                Quietly(() => MountOps.Unmount(_paths.Rootfs(orphan)));
                await Quietly(() => _snapshotter.RemoveAsync(orphan, CancellationToken.None));
                if (!MountOps.AnyMountUnder(dir)) Quietly(() => Directory.Delete(dir, recursive: true));
                continue;
            }
            try { r = JsonSerializer.Deserialize(File.ReadAllBytes(file), DaemonJsonContext.Default.ContainerRecord); }
            catch (Exception e) when (e is IOException or JsonException)
            {
                _log.LogWarning("skipping container directory {Dir}: {Error}", dir, e.Message);
                continue;
            }
            if (r is null) continue;
            var c = new Container(r);
            _byId[r.Id] = c;
            lock (_namesLock) _names[r.Name.TrimStart('/')] = r.Id;
            if (r.Status is ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Restarting)
            {
                var shim = ShimClient.TryConnect(_paths.ShimSocket(r.Id));
                ShimStateInfo? state = null;
                if (shim is not null)
                {
                    try { state = await shim.StateAsync(ct); } catch (Exception) { state = null; }
                }
                if (shim is not null && state is { Status: "running" or "paused" })
                {
                    await RestorePausedStateAsync(c, shim, ct);
                    c.Shim = shim;
                    live.Add((c, shim));
                }
                else if (shim is not null && state is { Status: "created" })
                {
                    // The daemon died between runc create and start: nobody is attached and nothing ran; take it
                    // down so it settles like any other exit (and its restart policy decides).
                    try { await shim.DeleteAsync(ct); } catch (Exception) { /* recorded below either way */ }
                    exited.Add((c, ShimClient.ReadExitStatus(_paths.ShimStateDir(r.Id)) ?? new ExitStatus { ExitCode = 255, FinishedAt = DateTimeOffset.UtcNow }));
                }
                else
                {
                    var st = state?.Exit ?? ShimClient.ReadExitStatus(_paths.ShimStateDir(r.Id))
                        ?? new ExitStatus { ExitCode = r.Status == ContainerStatus.Restarting ? r.ExitCode : 255, FinishedAt = DateTimeOffset.UtcNow };
                    // A shim still lingering after its container's exit is told to go, like after any exit.
                    c.Shim = shim;
                    exited.Add((c, st));
                }
            }
            else
            {
                // A shim left by a daemon that died during a start (the record never became Running): take it down.
                if (ShimClient.TryConnect(_paths.ShimSocket(r.Id)) is { } orphan)
                {
                    try { await orphan.DeleteAsync(ct); } catch (Exception) { /* it goes away by itself after its linger */ }
                }
                Quietly(() => MountOps.Unmount(_paths.Rootfs(r.Id)));
            }
        }

        var endpoints = live.SelectMany(l => AllEndpoints(l.C.Record)).ToList();
        var sandboxes = live.Where(l => l.C.Record.SandboxKey is not null).Select(l => l.C.Id).ToList();
        _network.RestorePorts(live.SelectMany(l => l.C.Record.Ports ?? [])); // before the first apply, which drops the rest
        await _network.InitializeAsync(endpoints, sandboxes, ct);

        foreach (var (c, shim) in live)
        {
            _log.LogInformation("re-adopted running container {Id}", c.Id[..12]);
            _ = MonitorAsync(c, shim);
            StartHealthMonitor(c, shim, restored: true);
        }
        foreach (var (c, st) in exited)
        {
            _log.LogInformation("container {Id} exited with {Code} while the daemon was down", c.Id[..12], st.ExitCode);
            // The network was reconciled above; only the rootfs mount remains to release.
            Save(c, x => x with { Endpoint = null, ExtraEndpoints = [], SandboxKey = null, Ports = null });
            await HandleExitAsync(c, st);
        }
    }

    public async Task ShutdownAsync()
    {
        _shutdown.Cancel();
        await StopAllHealthMonitorsAsync(); // probes under way are killed; live restore starts the monitors again
        // Shims of exited containers are finishing runc's clean-up; let them, so none is left behind (bounded).
        try { await Task.WhenAll(_byId.Values.Select(c => c.PreviousShimGone)).WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (TimeoutException) { _log.LogWarning("some shims were still cleaning up at shutdown"); }
    }

    public bool AnyRunning => _byId.Values.Any(c => c.Record.IsRunning || c.Record.Status == ContainerStatus.Restarting);

    private static async Task Quietly(Func<Task> action)
    {
        try { await action(); }
        catch (Exception) { /* best-effort cleanup; the next daemon start reconciles what remains */ }
    }

    private static void Quietly(Action action)
    {
        try { action(); }
        catch (Exception) { /* best-effort cleanup */ }
    }
}
