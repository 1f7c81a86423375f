using Berth.Api;

namespace Berth.Daemon.Containers;

/// <summary>Translates container records into the API's inspect and list shapes.</summary>
internal static class ContainerViews
{
    public static string StatusWord(ContainerStatus s) => s switch
    {
        ContainerStatus.Created => "created",
        ContainerStatus.Running => "running",
        ContainerStatus.Paused => "paused",
        ContainerStatus.Restarting => "restarting",
        ContainerStatus.Removing => "removing",
        ContainerStatus.Exited => "exited",
        _ => "dead",
    };

    public static string StatusText(ContainerRecord r, DateTimeOffset now) => r.Status switch
    {
        ContainerStatus.Running => $"Up {HumanTime.Duration(now - (r.StartedAt ?? now))}{HealthRules.StatusSuffix(r.Health)}",
        ContainerStatus.Paused => $"Up {HumanTime.Duration(now - (r.StartedAt ?? now))} (Paused)",
        ContainerStatus.Restarting => $"Restarting ({r.ExitCode}) {HumanTime.Duration(now - (r.FinishedAt ?? now))} ago",
        ContainerStatus.Exited when r.HasBeenStarted => $"Exited ({r.ExitCode}) {HumanTime.Duration(now - (r.FinishedAt ?? now))} ago",
        ContainerStatus.Removing => "Removal In Progress",
        ContainerStatus.Dead => "Dead",
        _ => "Created",
    };

    public static List<MountPoint> MountPoints(ContainerRecord r) => r.Mounts.Select(m => new MountPoint
    {
        Type = m.Type,
        Name = m.Type == "volume" ? m.Name : null,
        Source = m.Type == "tmpfs" ? "" : m.Source,
        Destination = m.Destination,
        Driver = m.Type == "volume" ? "local" : null,
        Mode = m.Mode,
        RW = m.RW,
        Propagation = m.Type == "bind" ? m.Propagation : "",
    }).ToList();

    public static Dictionary<string, EndpointSettings> Networks(ContainerRecord r, string bridgeNetworkId)
    {
        var mode = r.HostConfig.NetworkMode ?? "bridge";
        var name = mode == "default" ? "bridge" : mode;
        var result = new Dictionary<string, EndpointSettings>();
        var live = ContainerService.AllEndpoints(r).ToList();
        // Stopped: the networks it will join (its mode's, and those connected meanwhile), without addresses.
        if (live.Count == 0 && !r.PrimaryDetached) result[name] = Endpoint(r, name, null, name == "bridge" ? bridgeNetworkId : "");
        foreach (var key in (r.EndpointsConfig ?? []).Keys)
            if (key is not "default" && !result.ContainsKey(key)) result[key] = Endpoint(r, key, null, "");
        foreach (var ep in live)
        {
            var key = ep == r.Endpoint ? name : ep.Network;
            result.Remove(ep.Network);
            result[key] = Endpoint(r, key, ep, ep.NetworkId);
        }
        return result;
    }

    private static EndpointSettings Endpoint(ContainerRecord r, string network, Berth.Network.EndpointRecord? ep, string networkId)
    {
        EndpointSettings? asked = null;
        r.EndpointsConfig?.TryGetValue(network, out asked);
        return new EndpointSettings
        {
            IPAMConfig = asked?.IPAMConfig,
            Aliases = ep?.Aliases is { Count: > 0 } a ? a : asked?.Aliases,
            NetworkID = ep?.NetworkId ?? networkId,
            EndpointID = ep?.EndpointId ?? "",
            Gateway = ep?.Gateway ?? "",
            IPAddress = ep?.IPv4 ?? "",
            IPPrefixLen = ep?.PrefixLen ?? 0,
            MacAddress = ep?.MacAddress ?? "",
            DNSNames = ep?.DnsNames is { Count: > 0 } d ? d : null,
        };
    }

    public static ContainerInspectResponse Inspect(ContainerRecord r, ContainerPaths paths, string bridgeNetworkId, long? sizeRw, long? sizeRootFs)
    {
        var ep = r.Endpoint;
        var ports = ContainerPorts.Inspect(r);
        return new ContainerInspectResponse
        {
            Id = r.Id,
            Created = HumanTime.Rfc3339(r.Created),
            Path = r.Path,
            Args = r.Args,
            State = new ContainerState
            {
                Status = StatusWord(r.Status),
                Running = r.IsRunning,
                Paused = r.Status == ContainerStatus.Paused,
                Restarting = r.Status == ContainerStatus.Restarting,
                OOMKilled = r.OomKilled,
                Dead = r.Status == ContainerStatus.Dead,
                Pid = r.Pid,
                ExitCode = r.ExitCode,
                Error = r.Error,
                StartedAt = HumanTime.Rfc3339(r.StartedAt),
                FinishedAt = HumanTime.Rfc3339(r.FinishedAt),
                Health = r.Health,
            },
            Image = r.ImageId,
            ResolvConfPath = paths.ResolvConfFile(r.Id),
            HostnamePath = paths.HostnameFile(r.Id),
            HostsPath = paths.HostsFile(r.Id),
            LogPath = paths.LogFile(r.Id),
            Name = r.Name,
            RestartCount = r.RestartCount,
            Driver = r.Driver,
            // Containers created before the log configuration was stored show the default one.
            HostConfig = r.HostConfig.LogConfig is null ? r.HostConfig with { LogConfig = new LogConfig { Config = [] } } : r.HostConfig,
            GraphDriver = new DriverData { Name = r.Driver, Data = new Dictionary<string, string> { ["MergedDir"] = paths.Rootfs(r.Id) } },
            SizeRw = sizeRw,
            SizeRootFs = sizeRootFs,
            Mounts = MountPoints(r),
            Config = r.Config with { Image = r.ImageRef },
            NetworkSettings = new NetworkSettings
            {
                Bridge = "",
                SandboxID = r.SandboxKey is null ? "" : r.Id,
                SandboxKey = r.SandboxKey ?? "",
                Ports = ports,
                Gateway = ep?.Gateway ?? "",
                IPAddress = ep?.IPv4 ?? "",
                IPPrefixLen = ep?.PrefixLen ?? 0,
                MacAddress = ep?.MacAddress ?? "",
                EndpointID = ep?.EndpointId ?? "",
                Networks = Networks(r, bridgeNetworkId),
            },
        };
    }

    /// <summary>The list's one-line command, as dockerd writes it: the path, then the arguments, those with a space in quotes.</summary>
    public static string CommandLine(ContainerRecord r) =>
        r.Args.Count == 0 ? r.Path : r.Path + " " + string.Join(' ', r.Args.Select(a => a.Contains(' ') ? $"'{a}'" : a));

    public static ContainerSummary Summary(ContainerRecord r, string bridgeNetworkId, DateTimeOffset now, long? sizeRw, long? sizeRootFs)
    {
        return new ContainerSummary
        {
            Id = r.Id,
            Names = [r.Name],
            Image = r.ImageRef,
            ImageID = r.ImageId,
            Command = CommandLine(r),
            Created = r.Created.ToUnixTimeSeconds(),
            Ports = ContainerPorts.Summary(r),
            SizeRw = sizeRw,
            SizeRootFs = sizeRootFs,
            Labels = r.Config.Labels ?? new Dictionary<string, string>(),
            State = StatusWord(r.Status),
            Status = StatusText(r, now),
            HostConfig = new ContainerSummaryHostConfig { NetworkMode = r.HostConfig.NetworkMode ?? "bridge" },
            NetworkSettings = new ContainerSummaryNetworkSettings { Networks = Networks(r, bridgeNetworkId) },
            Mounts = MountPoints(r),
            Health = new ContainerSummaryHealth
            {
                // As dockerd: the same State.Health that inspect shows and the health filter matches.
                Status = r.Health?.Status ?? HealthRules.None,
                FailingStreak = r.Health?.FailingStreak ?? 0,
            },
        };
    }
}
