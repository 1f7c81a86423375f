using System.Text;
using Berth.Api;
using Berth.Core;
using Berth.Network;

namespace Berth.Daemon.Containers;

/// <summary>
/// A container's networks beyond the default bridge: user-defined networks at create and start, live connect and
/// disconnect, and the resolv.conf of containers that use the embedded DNS.
/// </summary>
internal sealed partial class ContainerService
{
    /// <summary>Every endpoint a running container has (its network mode's first).</summary>
    public static IEnumerable<EndpointRecord> AllEndpoints(ContainerRecord r) =>
        r.Endpoint is { } ep ? [ep, .. r.ExtraEndpoints] : r.ExtraEndpoints;

    /// <summary>The driver of an endpoint's network, for events (a network removed meanwhile: bridge).</summary>
    private string DriverOf(EndpointRecord e) => _network.Find(e.NetworkId)?.Driver ?? "bridge";

    private static string PrimaryNetwork(ContainerRecord r) =>
        r.HostConfig.NetworkMode is null or "" or "default" ? NetworkController.BridgeNetwork : r.HostConfig.NetworkMode;

    /// <summary>Create-time checks: the networks exist, --ip and aliases only on user-defined networks (Docker's rules).</summary>
    private void ValidateNetworks(HostConfig host, NetworkingConfig? networking)
    {
        var mode = host.NetworkMode is null or "" or "default" ? NetworkController.BridgeNetwork : host.NetworkMode;
        if (mode is "host" or "none" || mode.StartsWith("container:", StringComparison.Ordinal))
        {
            if (networking?.EndpointsConfig is { Count: > 0 } eps && eps.Keys.Any(k => k != mode))
                throw BerthException.Invalid($"conflicting options: cannot attach both user-defined and non-user-defined network-modes");
            return;
        }
        // dockerd's 404. (The docker CLI answers any 404 from create by trying to pull the image first, as it does
        // against dockerd; the create after the pull then reports the missing network.)
        _ = _network.Find(mode) ?? throw BerthException.NotFound($"network {mode} not found");
        foreach (var (key, settings) in networking?.EndpointsConfig ?? [])
        {
            var name = key == "default" ? NetworkController.BridgeNetwork : key;
            var info = _network.Find(name) ?? throw BerthException.NotFound($"network {name} not found");
            if (info.Name is "host" or "none") throw BerthException.Invalid($"conflicting options: cannot attach both user-defined and non-user-defined network-modes");
            if (info.IsPredefined && !string.IsNullOrEmpty(settings?.IPAMConfig?.IPv4Address))
                throw BerthException.Invalid("user specified IP address is supported on user defined networks only");
            if (info.IsPredefined && settings?.Aliases is { Count: > 0 })
                throw BerthException.Invalid("network-scoped alias is supported only for containers in user defined networks");
            if (settings?.IPAMConfig?.IPv4Address is { Length: > 0 } ip && !System.Net.IPAddress.TryParse(ip, out _))
                throw BerthException.Invalid($"invalid IPv4 address: {ip}");
        }
    }

    private EndpointSettings? SettingsFor(ContainerRecord r, NetworkInfo info)
    {
        var eps = r.EndpointsConfig;
        if (eps is null) return null;
        if (eps.TryGetValue(info.Name, out var s) || eps.TryGetValue(info.Id, out s)) return s;
        if (info.Id == _network.DefaultBridge.Id && eps.TryGetValue("default", out s)) return s;
        return eps.FirstOrDefault(kv => kv.Key.Length >= 12 && info.Id.StartsWith(kv.Key, StringComparison.Ordinal)).Value;
    }

    private EndpointRequest RequestFor(ContainerRecord r, NetworkInfo info, EndpointSettings? settings)
    {
        var aliases = (settings?.Aliases ?? []).Where(a => !string.IsNullOrEmpty(a)).ToList();
        return new EndpointRequest
        {
            IPv4 = settings?.IPAMConfig?.IPv4Address is { Length: > 0 } ip ? ip : null,
            Aliases = aliases,
            DnsNames = info.IsPredefined ? [] : [r.Name.TrimStart('/'), .. aliases, r.Id[..12]],
            Upstreams = r.HostConfig.Dns ?? [],
        };
    }

    /// <summary>Connects a starting container to the network of its network mode.</summary>
    private async Task<EndpointRecord> ConnectPrimaryAsync(ContainerRecord r, string sandbox, CancellationToken ct)
    {
        var info = _network.Find(PrimaryNetwork(r)) ?? throw BerthException.NotFound($"network {PrimaryNetwork(r)} not found");
        return await _network.ConnectEndpointAsync(r.Id, sandbox, info.Id, RequestFor(r, info, SettingsFor(r, info)), ct);
    }

    /// <summary>Connects a starting container to the other networks it was created with or connected to while stopped.</summary>
    private async Task<IReadOnlyList<EndpointRecord>> ConnectOtherNetworksAsync(ContainerRecord r, string sandbox, CancellationToken ct)
    {
        var primary = _network.Find(PrimaryNetwork(r));
        var list = new List<EndpointRecord>();
        foreach (var key in (r.EndpointsConfig ?? []).Keys)
        {
            var name = key == "default" ? NetworkController.BridgeNetwork : key;
            var info = _network.Find(name) ?? throw BerthException.NotFound($"network {name} not found");
            if (info.Id == primary?.Id || list.Any(e => e.NetworkId == info.Id)) continue;
            list.Add(await _network.ConnectEndpointAsync(r.Id, sandbox, info.Id, RequestFor(r, info, SettingsFor(r, info)), ct));
        }
        return list;
    }

    /// <summary>
    /// Whether the container's resolv.conf points at the embedded DNS: while it is on any user-defined network, not
    /// only when that is its network mode (dockerd switches a default-bridge container over when it joins one).
    /// </summary>
    private bool UsesEmbeddedDns(ContainerRecord r) =>
        r.HostConfig.NetworkMode is not ("host" or "none")
        && _network.EndpointsOf(r.Id).Any(e => _network.Find(e.NetworkId) is { IsPredefined: false });

    /// <summary>
    /// After a live connect or disconnect: the embedded DNS (upstreams: --dns, else the host's servers) once the
    /// container is on a user-defined network, the filtered host servers again when it left the last one. Written in
    /// place: the container's /etc/resolv.conf is a bind mount of this very file (a rename would leave it stale).
    /// </summary>
    private void RefreshResolvConf(ContainerRecord r)
    {
        var path = _paths.ResolvConfFile(r.Id);
        try
        {
            if (!File.Exists(path)) return;
            string embedded = EmbeddedResolvConf(r), hostDerived = ResolvConf(r);
            var current = File.ReadAllText(path);
            // A file that is neither of ours was edited in the container: leave it, as dockerd does.
            if (current != embedded && current != hostDerived) return;
            var want = UsesEmbeddedDns(r) ? embedded : hostDerived;
            if (current != want) File.WriteAllText(path, want);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The connect itself happened and is saved; a resolv.conf that could not be rewritten is not worth failing it.
            _log.LogWarning("container {Id}: resolv.conf not updated: {Message}", r.Id[..12], e.Message);
        }
    }

    /// <summary>Docker's resolv.conf on a user-defined network: the embedded DNS, with the search and options given.</summary>
    private static string EmbeddedResolvConf(ContainerRecord r)
    {
        var sb = new StringBuilder();
        var host = File.Exists("/etc/resolv.conf") ? File.ReadAllLines("/etc/resolv.conf") : [];
        sb.Append("nameserver 127.0.0.11\n");
        var search = r.HostConfig.DnsSearch ?? [];
        if (search.Count > 0)
        {
            if (!(search is [ "." ])) sb.Append("search ").Append(string.Join(' ', search)).Append('\n');
        }
        else
        {
            foreach (var l in host.Where(l => l.StartsWith("search ") || l.StartsWith("domain "))) sb.Append(l).Append('\n');
        }
        var opts = (r.HostConfig.DnsOptions ?? []).ToList();
        if (!opts.Any(o => o.StartsWith("ndots:", StringComparison.Ordinal))) opts.Add("ndots:0");
        sb.Append("options ").Append(string.Join(' ', opts)).Append('\n');
        return sb.ToString();
    }

    // ---- connect / disconnect (POST /networks/{id}/connect, /disconnect) ----

    public async Task ConnectNetworkAsync(string networkRef, string containerRef, EndpointSettings? settings, CancellationToken ct)
    {
        var info = _network.Find(networkRef) ?? throw BerthException.NotFound($"network {networkRef} not found");
        var c = Get(containerRef);
        if (info.Name is "host" or "none")
            throw new BerthException(ErrorKind.Forbidden, $"container cannot be disconnected from host network or connected to host network");
        await c.Operation.WaitAsync(ct);
        try
        {
            var r = c.Record;
            if (r.HostConfig.NetworkMode is "host" or "none")
                throw BerthException.Invalid($"container sharing network namespace with another container or host cannot be connected to any other network");
            if (info.IsPredefined && !string.IsNullOrEmpty(settings?.IPAMConfig?.IPv4Address))
                throw BerthException.Invalid("user specified IP address is supported on user defined networks only");
            bool isPrimary = _network.Find(PrimaryNetwork(r))?.Id == info.Id;
            if (AllEndpoints(r).Any(e => e.NetworkId == info.Id) || (!r.IsRunning && (SettingsFor(r, info) is not null || (isPrimary && !r.PrimaryDetached))))
                throw new BerthException(ErrorKind.Forbidden, $"endpoint with name {r.Name.TrimStart('/')} already exists in network {info.Name}");
            var config = new Dictionary<string, EndpointSettings>(r.EndpointsConfig ?? [], StringComparer.Ordinal)
            {
                [info.Name] = settings ?? new EndpointSettings(),
            };
            // Connected again to its network mode's network: the next start joins it first again.
            bool detached = r.PrimaryDetached && !isPrimary;
            if (!r.IsRunning || r.SandboxKey is null)
            {
                Save(c, x => x with { EndpointsConfig = config, PrimaryDetached = detached });
                return;
            }
            var ep = await _network.ConnectEndpointAsync(r.Id, r.SandboxKey, info.Id, RequestFor(r, info, settings), ct);
            Save(c, x => x with { EndpointsConfig = config, ExtraEndpoints = [.. x.ExtraEndpoints, ep], PrimaryDetached = detached });
            RefreshResolvConf(c.Record);
            Events.Network("connect", info.Id, info.Name, info.Driver, r.Id);
        }
        finally
        {
            c.Operation.Release();
        }
    }

    public async Task DisconnectNetworkAsync(string networkRef, string containerRef, bool force, CancellationToken ct)
    {
        var info = _network.Find(networkRef) ?? throw BerthException.NotFound($"network {networkRef} not found");
        var c = Get(containerRef);
        if (info.Name is "host" or "none")
            throw new BerthException(ErrorKind.Forbidden, "container cannot be disconnected from host network or connected to host network");
        await c.Operation.WaitAsync(ct);
        try
        {
            var r = c.Record;
            var ep = AllEndpoints(r).FirstOrDefault(e => e.NetworkId == info.Id);
            var config = new Dictionary<string, EndpointSettings>(r.EndpointsConfig ?? [], StringComparer.Ordinal);
            bool configured = config.Remove(info.Name) | config.Remove(info.Id);
            // A stopped container is on its network mode's network until disconnected from it.
            bool isPrimary = _network.Find(PrimaryNetwork(r))?.Id == info.Id;
            bool attached = isPrimary && !r.PrimaryDetached && !r.IsRunning;
            if (ep is null && !configured && !attached && !(force && !r.IsRunning))
                throw new BerthException(ErrorKind.Forbidden, $"container {r.Id} is not connected to network {info.Name}");
            if (ep is not null) await _network.DisconnectAsync(ep, ct);
            Save(c, x => x with
            {
                EndpointsConfig = config,
                PrimaryDetached = x.PrimaryDetached || isPrimary,
                Endpoint = x.Endpoint?.EndpointId == ep?.EndpointId ? null : x.Endpoint,
                ExtraEndpoints = x.ExtraEndpoints.Where(e => e.EndpointId != ep?.EndpointId).ToList(),
            });
            if (ep is not null && c.Record.IsRunning) RefreshResolvConf(c.Record);
            if (ep is not null) Events.Network("disconnect", info.Id, info.Name, info.Driver, r.Id);
        }
        finally
        {
            c.Operation.Release();
        }
    }
}
