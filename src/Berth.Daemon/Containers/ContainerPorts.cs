using System.Globalization;
using Berth.Api;
using Berth.Network;

namespace Berth.Daemon.Containers;

/// <summary>Published ports between the wire (PortBindings, ExposedPorts, NetworkSettings.Ports, ps) and the network.</summary>
internal static class ContainerPorts
{
    /// <summary>What to publish at start; throws Docker's 400s for bad bindings (also used to validate at create).</summary>
    public static IReadOnlyList<PortRequest> Requests(HostConfig host, ContainerConfig config) =>
        PortRequests.Parse(
            host.PortBindings?.Select(kv => new KeyValuePair<string, IReadOnlyList<(string? HostIp, string? HostPort)>?>(
                kv.Key, kv.Value?.Select(b => (b.HostIp, b.HostPort)).ToList())),
            config.ExposedPorts?.Keys, host.PublishAllPorts);

    public static void Validate(HostConfig host, ContainerConfig config, List<string> warnings)
    {
        var requests = Requests(host, config);
        if (requests.Count > 0 && (host.PortBindings?.Count > 0 || host.PublishAllPorts) && host.NetworkMode is "host" or "none")
            warnings.Add($"Published ports are discarded when using {host.NetworkMode} network mode");
    }

    /// <summary>
    /// NetworkSettings.Ports: every exposed port, null when not published; a running container's published ones
    /// with their host address and port.
    /// </summary>
    public static Dictionary<string, IReadOnlyList<PortBinding>?> Inspect(ContainerRecord r)
    {
        var ports = new Dictionary<string, IReadOnlyList<PortBinding>?>(StringComparer.Ordinal);
        if (!r.IsRunning && r.Ports is null) return ports; // Docker: {} for a container that does not run
        foreach (var p in (r.Config.ExposedPorts ?? []).Keys) ports[p] = null;
        foreach (var g in (r.Ports ?? []).GroupBy(p => p.Key, StringComparer.Ordinal))
            ports[g.Key] = g.Select(p => new PortBinding { HostIp = p.HostIp, HostPort = p.HostPort.ToString(CultureInfo.InvariantCulture) }).ToList();
        return ports;
    }

    /// <summary>The Ports of GET /containers/json: published ones with their host side, exposed-only ones without.</summary>
    public static List<PortSummary> Summary(ContainerRecord r)
    {
        var list = new List<PortSummary>();
        if (!r.IsRunning) return list;
        var published = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in r.Ports ?? [])
        {
            published.Add(p.Key);
            list.Add(new PortSummary { IP = p.HostIp, PrivatePort = p.ContainerPort, PublicPort = p.HostPort, Type = p.Proto });
        }
        foreach (var key in (r.Config.ExposedPorts ?? []).Keys)
        {
            if (published.Contains(key)) continue;
            var slash = key.IndexOf('/');
            if (!int.TryParse(slash < 0 ? key : key[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var port)) continue;
            list.Add(new PortSummary { PrivatePort = port, Type = slash < 0 ? "tcp" : key[(slash + 1)..] });
        }
        return list.OrderBy(p => p.PrivatePort).ThenBy(p => p.Type, StringComparer.Ordinal).ThenBy(p => p.PublicPort ?? 0).ToList();
    }
}

internal static class ContainerPortsPublishing
{
    /// <summary>Publishes the container's ports on its endpoint, with Docker's wording when a port is taken.</summary>
    public static async Task<IReadOnlyList<PublishedPort>?> PublishAsync(NetworkController network, ContainerRecord r, EndpointRecord endpoint, CancellationToken ct)
    {
        var requests = ContainerPorts.Requests(r.HostConfig, r.Config);
        if (requests.Count == 0) return null;
        try
        {
            return await network.PublishPortsAsync(endpoint, requests, ct).ConfigureAwait(false);
        }
        catch (Core.BerthException e) when (e.Kind is Core.ErrorKind.Conflict or Core.ErrorKind.InvalidArgument)
        {
            throw new Core.BerthException(e.Kind,
                $"driver failed programming external connectivity on endpoint {r.Name.TrimStart('/')} ({endpoint.EndpointId}): {e.Message}", e);
        }
    }
}

internal static class ContainerPortFilters
{
    /// <summary>
    /// ps's publish= and expose= filters, as dockerd reads them: "80", "80/udp" or "8000-8080/tcp" (container ports),
    /// matched against HostConfig.PortBindings and Config.ExposedPorts. Bad values are 400s.
    /// </summary>
    public static HashSet<string> Parse(string key, IReadOnlyList<string> values)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            if (value.Contains(':')) throw Core.BerthException.Invalid($"filter for '{key}' should not contain ':': {value}");
            var slash = value.IndexOf('/');
            var proto = slash < 0 ? "tcp" : value[(slash + 1)..].ToLowerInvariant();
            var range = slash < 0 ? value : value[..slash];
            var dash = range.IndexOf('-');
            if (!ushort.TryParse(dash < 0 ? range : range[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
                || !ushort.TryParse(dash < 0 ? range : range[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var end) || end < start)
                throw Core.BerthException.Invalid($"error while looking up for {key} {value}: invalid port range");
            for (int p = start; p <= end; p++) set.Add($"{p.ToString(CultureInfo.InvariantCulture)}/{proto}");
        }
        return set;
    }

    public static bool Matches(IEnumerable<string>? keys, HashSet<string> wanted) =>
        (keys ?? []).Any(k => wanted.Contains(k.Contains('/') ? k : k + "/tcp"));
}
