using System.Net;
using System.Text.Json;
using Berth.Core;
using Berth.Network.Dns;
using Berth.Network.Drivers;
using Berth.Network.Ipam;

namespace Berth.Network;

/// <summary>
/// User-defined bridge networks (create, remove, persistence under &lt;DataRoot&gt;/network/user, kernel objects
/// recreated at start), endpoints on any bridge network, and the embedded DNS of sandboxes on user networks.
/// </summary>
public sealed partial class NetworkController
{
    public const string BridgeNameOption = "com.docker.network.bridge.name";
    public const string IccOption = "com.docker.network.bridge.enable_icc";
    public const string MasqueradeOption = "com.docker.network.bridge.enable_ip_masquerade";
    public const string MtuOption = "com.docker.network.driver.mtu";

    /// <summary>One network the controller hands out endpoints on (the default bridge, a user bridge or macvlan network).</summary>
    private sealed class BridgeNet
    {
        public required NetworkInfo Info { get; init; }
        public required NetworkConfig Config { get; init; }
        public required AddressPool Pool { get; init; }
        public uint RangeStart { get; init; }
        public uint RangeEnd { get; init; }
    }

    // Guarded by _lock (as _endpoints): bridge networks by ID, resolvers and their upstreams by container ID.
    private readonly Dictionary<string, BridgeNet> _bridgeNets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EmbeddedResolver> _resolvers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<IPEndPoint>> _upstreams = new(StringComparer.Ordinal);
    // Serializes network create/remove (kernel work, awaited) so names, subnets and bridges are checked and taken atomically.
    private readonly SemaphoreSlim _networkOps = new(1, 1);
    private SubnetPools? _pools;

    private string UserDir => Path.Combine(_options.DataRoot, "network", "user");
    private string OwnedBridgesFile => Path.Combine(_options.DataRoot, "network", "bridges");

    private void LoadUserNetworks()
    {
        _pools = new SubnetPools(_options.DefaultAddressPools);
        _bridgeNets[_bridge.Id] = new BridgeNet
        {
            Info = DefaultBridge, Config = _bridge, Pool = _bridgePool,
            RangeStart = _bridgePool.Subnet.Address + 1, RangeEnd = _bridgePool.Subnet.Broadcast - 1,
        };
        if (!Directory.Exists(UserDir)) return;
        foreach (var file in Directory.EnumerateFiles(UserDir, "*.json"))
        {
            NetworkRecord rec;
            try
            {
                rec = JsonSerializer.Deserialize(File.ReadAllBytes(file), NetworkJsonContext.Default.NetworkRecord)
                      ?? throw new JsonException("empty record");
            }
            catch (JsonException e)
            {
                throw new BerthException(ErrorKind.Unknown, $"corrupt network record {file}: {e.Message}", e);
            }
            var net = Build(rec);
            _bridgeNets[rec.Id] = net;
        }
    }

    private BridgeNet Build(NetworkRecord rec)
    {
        var subnet = Ipv4Cidr.Parse(rec.Subnet, out _);
        bool macvlan = rec.Driver == MacvlanDriverName;
        // A macvlan network without --gateway has none (dockerd reserves no address and sets no default route).
        var gateway = rec.Gateway.Length == 0 ? 0 : Ipv4.Parse(rec.Gateway);
        var pool = new AddressPool(subnet);
        if (gateway != 0) pool.Reserve(gateway);
        uint start = subnet.Address + 1, end = subnet.Broadcast - 1;
        if (rec.IPRange is { } range)
        {
            var r = Ipv4Cidr.Parse(range, out _);
            start = Math.Max(start, r.Address);
            end = Math.Min(end, r.Broadcast);
        }
        return new BridgeNet
        {
            Info = new NetworkInfo
            {
                Name = rec.Name,
                Id = rec.Id,
                Driver = rec.Driver,
                Subnet = rec.Subnet,
                Gateway = rec.Gateway,
                BridgeName = macvlan ? null : rec.BridgeName,
                User = rec,
            },
            Config = new NetworkConfig
            {
                Name = rec.Name,
                Id = rec.Id,
                Driver = rec.Driver,
                Subnet = subnet,
                Gateway = gateway,
                InterfaceName = rec.BridgeName,
                Mtu = rec.Mtu,
                Masquerade = rec.Masquerade && !rec.Internal && !macvlan,
                Internal = rec.Internal,
                Icc = rec.Icc,
                Options = rec.Options,
                OwnsInterface = !macvlan || rec.CreatedParent,
            },
            Pool = pool,
            RangeStart = start,
            RangeEnd = end,
        };
    }

    private IReadOnlyList<NetworkInfo> AllNetworks()
    {
        lock (_lock)
            return [.. _networks, .. _bridgeNets.Values.Where(n => !n.Info.IsPredefined).Select(n => n.Info).OrderBy(n => n.Name, StringComparer.Ordinal)];
    }

    private BridgeNet NetOf(string networkId)
    {
        lock (_lock)
            return _bridgeNets.TryGetValue(networkId, out var n) ? n : throw BerthException.NotFound($"network {networkId} not found");
    }

    /// <summary>The endpoints connected to <paramref name="networkId"/> right now.</summary>
    public IReadOnlyList<EndpointRecord> EndpointsOn(string networkId)
    {
        lock (_lock) return _endpoints.Values.Where(e => e.NetworkId == networkId).ToList();
    }

    /// <summary>The endpoints of one container, in the order they were connected.</summary>
    public IReadOnlyList<EndpointRecord> EndpointsOf(string containerId)
    {
        lock (_lock) return _endpoints.Values.Where(e => e.ContainerId == containerId).ToList();
    }

    // ---- create / remove ----

    public async Task<NetworkInfo> CreateNetworkAsync(NetworkCreateRequest req, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(req);
        var name = req.Name ?? "";
        if (name.Length == 0) throw BerthException.Invalid("network name cannot be empty");
        if (!IsValidName(name)) throw BerthException.Invalid($"invalid network name \"{name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        if (name is BridgeNetwork or HostNetwork or NoneNetwork)
            throw new BerthException(ErrorKind.Forbidden, $"operation is not permitted on predefined {name} network ");
        var driver = string.IsNullOrEmpty(req.Driver) ? "bridge" : req.Driver;
        if (driver is "host" or "null")
            throw new BerthException(ErrorKind.Forbidden, $"only one instance of \"{driver}\" network is allowed");
        if (driver is not ("bridge" or MacvlanDriverName)) throw BerthException.Invalid($"plugin \"{driver}\" not found");
        bool macvlan = driver == MacvlanDriverName;
        if (req.IpamDriver is { Length: > 0 } ipamDriver && ipamDriver != "default")
            throw BerthException.Invalid($"plugin \"{ipamDriver}\" not found");
        if (req.EnableIPv6) throw BerthException.Invalid("IPv6 networks are not supported by Berth");
        if (req.IpamConfigCount > 1) throw BerthException.Invalid("only one IPv4 subnet per network is supported");

        Ipv4Cidr? subnet = null;
        if (!string.IsNullOrEmpty(req.Subnet))
        {
            subnet = ParseSubnet(req.Subnet);
        }
        else if (!string.IsNullOrEmpty(req.Gateway) || !string.IsNullOrEmpty(req.IPRange))
        {
            throw BerthException.Invalid("invalid network config: a gateway or IP range needs a subnet");
        }
        Ipv4Cidr? range = null;
        if (!string.IsNullOrEmpty(req.IPRange))
        {
            range = ParseSubnet(req.IPRange, "ip-range");
            if (!SubnetPools.Overlaps(range.Value, subnet!.Value) || range.Value.PrefixLen < subnet.Value.PrefixLen)
                throw BerthException.Invalid($"no matching subnet for range {req.IPRange}");
        }
        uint? gateway = null;
        if (!string.IsNullOrEmpty(req.Gateway))
        {
            if (!Ipv4.TryParse(req.Gateway, out var g)) throw BerthException.Invalid($"invalid gateway address {req.Gateway}");
            if (!subnet!.Value.Contains(g) || g == subnet.Value.Address || g == subnet.Value.Broadcast)
                throw BerthException.Invalid($"no matching subnet for gateway {req.Gateway}");
            gateway = g;
        }

        var options = new Dictionary<string, string>(req.Options, StringComparer.Ordinal);
        bool icc = ParseBoolOption(options, IccOption, true);
        bool masquerade = ParseBoolOption(options, MasqueradeOption, true);
        int mtu = _options.Mtu;
        if (options.TryGetValue(MtuOption, out var mtuText) && (!int.TryParse(mtuText, out mtu) || mtu is < 68 or > 65535))
            throw BerthException.Invalid($"invalid value for {MtuOption}: {mtuText}");

        await _networkOps.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            lock (_lock)
            {
                if (_state != State.Ready) throw new BerthException(ErrorKind.Unavailable, "network controller is not initialized");
                if (_bridgeNets.Values.Any(n => n.Info.Name == name))
                    throw BerthException.Conflict($"network with name {name} already exists");
            }
            var id = Ids.NewId();
            // macvlan: the parent interface stands where a bridge network has its bridge.
            var (bridgeName, createdParent) = macvlan ? CheckMacvlan(options) : (BridgeNameFor(options, id), false);
            List<Ipv4Cidr> used;
            lock (_lock) used = _bridgeNets.Values.Select(n => n.Config.Subnet).ToList();
            if (subnet is { } given)
            {
                if (used.Any(u => SubnetPools.Overlaps(u, given)))
                    throw BerthException.Conflict("invalid pool request: Pool overlaps with other one on this address space");
            }
            else
            {
                // The host's routes too: another daemon's (or a test's) bridge must not be taken from under it.
                subnet = _pools!.Allocate([.. used, .. SubnetPools.HostRoutes()]);
            }
            var rec = new NetworkRecord
            {
                Id = id,
                Name = name,
                Driver = driver,
                Created = DateTimeOffset.UtcNow,
                Subnet = subnet.Value.ToString(),
                IPRange = range?.ToString(),
                Gateway = gateway is { } gw ? Ipv4.Format(gw) : macvlan ? "" : Ipv4.Format(subnet.Value.Address + 1),
                BridgeName = bridgeName,
                Internal = req.Internal,
                Attachable = req.Attachable,
                Icc = icc,
                Masquerade = masquerade,
                Mtu = mtu,
                Labels = new Dictionary<string, string>(req.Labels, StringComparer.Ordinal),
                Options = options,
                SubnetGiven = !string.IsNullOrEmpty(req.Subnet),
                CreatedParent = createdParent,
            };
            var net = Build(rec);
            Directory.CreateDirectory(UserDir);
            if (!macvlan) ChangeOwnedBridges(add: bridgeName);
            try
            {
                await DriverFor(net.Config).EnsureNetworkAsync(net.Config, ct).ConfigureAwait(false);
                AtomicFile.WriteAllBytes(Path.Combine(UserDir, id + ".json"), JsonSerializer.SerializeToUtf8Bytes(rec, NetworkJsonContext.Default.NetworkRecord));
            }
            catch
            {
                try { await DriverFor(net.Config).DeleteNetworkAsync(RemovalConfig(net), CancellationToken.None).ConfigureAwait(false); }
                catch (BerthException) { /* reconciled at the next start */ }
                if (!macvlan) ChangeOwnedBridges(remove: bridgeName);
                throw;
            }
            lock (_lock) _bridgeNets[id] = net;
            return net.Info;
        }
        finally
        {
            _networkOps.Release();
        }
    }

    /// <summary>Removes a user-defined network and its kernel objects; 409 while endpoints use it, 403 for the predefined ones.</summary>
    public async Task<NetworkInfo> RemoveNetworkAsync(string nameOrId, CancellationToken ct)
    {
        await _networkOps.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var info = Find(nameOrId) ?? throw BerthException.NotFound($"network {nameOrId} not found");
            if (info.IsPredefined)
                throw new BerthException(ErrorKind.Forbidden, $"{info.Name} is a pre-defined network and cannot be removed");
            BridgeNet net;
            lock (_lock)
            {
                var users = _endpoints.Values.Where(e => e.NetworkId == info.Id).ToList();
                if (users.Count > 0)
                    throw BerthException.Conflict($"error while removing network: network {info.Name} id {info.Id} has active endpoints");
                net = _bridgeNets[info.Id];
                // Out of the map first: no connect can start on a network being removed.
                _bridgeNets.Remove(info.Id);
            }
            try
            {
                await DriverFor(net.Config).DeleteNetworkAsync(RemovalConfig(net), ct).ConfigureAwait(false);
            }
            catch
            {
                lock (_lock) _bridgeNets[info.Id] = net;
                throw;
            }
            File.Delete(Path.Combine(UserDir, info.Id + ".json"));
            if (net.Config.Driver != MacvlanDriverName) ChangeOwnedBridges(remove: net.Config.InterfaceName);
            return info;
        }
        finally
        {
            _networkOps.Release();
        }
    }

    /// <summary>The bridge of a new network: com.docker.network.bridge.name or br-&lt;12 hex of the ID&gt;, not in use anywhere.</summary>
    private string BridgeNameFor(Dictionary<string, string> options, string id)
    {
        var bridgeName = options.TryGetValue(BridgeNameOption, out var bn) && bn.Length > 0 ? bn : "br-" + id[..12];
        if (bridgeName.Length > 15 || !bridgeName.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw BerthException.Invalid($"invalid bridge name \"{bridgeName}\"");
        lock (_lock)
        {
            if (_bridgeNets.Values.Any(n => n.Config.InterfaceName == bridgeName))
                throw BerthException.Conflict($"bridge name {bridgeName} is already used by another network");
        }
        if (Directory.Exists($"/sys/class/net/{bridgeName}"))
            throw BerthException.Conflict($"interface {bridgeName} already exists on the host");
        return bridgeName;
    }

    private static bool IsValidName(string name) =>
        char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    private static Ipv4Cidr ParseSubnet(string text, string what = "subnet")
    {
        Ipv4Cidr cidr;
        uint host;
        try
        {
            cidr = Ipv4Cidr.Parse(text, out host);
        }
        catch (BerthException)
        {
            throw BerthException.Invalid($"invalid {what} {text}: invalid CIDR address: {text}");
        }
        if (host != cidr.Address) throw BerthException.Invalid($"invalid {what} {text}: it should be {cidr}");
        if (cidr.PrefixLen is < 8 or > 30) throw BerthException.Invalid($"invalid {what} {text}: the prefix length must be between 8 and 30");
        return cidr;
    }

    private static bool ParseBoolOption(Dictionary<string, string> options, string key, bool fallback)
    {
        if (!options.TryGetValue(key, out var v)) return fallback;
        return bool.TryParse(v, out var b) ? b : throw BerthException.Invalid($"invalid value for {key}: {v} (expected true or false)");
    }

    /// <summary>The bridges this daemon created for user networks, so a start after a crash removes the ones whose network is gone.</summary>
    private void ChangeOwnedBridges(string? add = null, string? remove = null)
    {
        lock (_lock)
        {
            var set = ReadOwnedBridges();
            if (add is not null) set.Add(add);
            if (remove is not null) set.Remove(remove);
            Directory.CreateDirectory(Path.GetDirectoryName(OwnedBridgesFile)!);
            AtomicFile.WriteAllText(OwnedBridgesFile, string.Concat(set.Order(StringComparer.Ordinal).Select(s => s + "\n")));
        }
    }

    private HashSet<string> ReadOwnedBridges() =>
        File.Exists(OwnedBridgesFile)
            ? File.ReadAllLines(OwnedBridgesFile).Where(l => l.Length > 0).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);

    // ---- start / stop ----

    /// <summary>Books a live endpoint's address in its network's pool at start; false for a record that fits no network.</summary>
    private bool BookLiveEndpoint(EndpointRecord ep)
    {
        var net = _bridgeNets.Values.FirstOrDefault(n => n.Info.Id == ep.NetworkId)
                  ?? (ep.Network == _bridge.Name ? _bridgeNets[_bridge.Id] : null);
        if (net is null) return false;
        if (!Ipv4.TryParse(ep.IPv4, out var ip) || !net.Pool.Subnet.Contains(ip) || net.Pool.IsAllocated(ip))
            return false; // a record from another configuration: its veth is reconciled away
        net.Pool.Reserve(ip);
        _endpoints[(ep.ContainerId, net.Info.Id)] = ep with { NetworkId = net.Info.Id };
        return true;
    }

    private async Task EnsureUserNetworksAsync(CancellationToken ct)
    {
        List<BridgeNet> nets;
        lock (_lock) nets = _bridgeNets.Values.Where(n => !n.Info.IsPredefined).ToList();
        // macvlan parents too: an interface a network uses is never taken for a stale bridge.
        var keep = nets.Select(n => n.Config.InterfaceName).ToHashSet(StringComparer.Ordinal);
        // Bridges of networks removed while this daemon was not there to do it (a crash between the steps).
        foreach (var stale in ReadOwnedBridges().Where(b => !keep.Contains(b)))
        {
            await _bridgeDriver.DeleteNetworkAsync(new NetworkConfig
            {
                Name = stale, Id = stale, Driver = "bridge", Subnet = default, Gateway = 0, InterfaceName = stale,
            }, ct).ConfigureAwait(false);
            ChangeOwnedBridges(remove: stale);
        }
        foreach (var n in nets)
        {
            if (n.Config.Driver == MacvlanDriverName)
            {
                // A parent gone while the daemon was away fails that network's connects, not the daemon's start.
                try { await DriverFor(n.Config).EnsureNetworkAsync(n.Config, ct).ConfigureAwait(false); }
                catch (BerthException) { }
                continue;
            }
            ChangeOwnedBridges(add: n.Config.InterfaceName);
            await _bridgeDriver.EnsureNetworkAsync(n.Config, ct).ConfigureAwait(false);
        }
    }

    private async Task ReconcileUserNetworksAsync(CancellationToken ct)
    {
        List<BridgeNet> nets;
        HashSet<string> liveLinks;
        List<EndpointRecord> dnsEndpoints;
        lock (_lock)
        {
            nets = _bridgeNets.Values.Where(n => !n.Info.IsPredefined).ToList();
            liveLinks = _endpoints.Values.Select(e => e.HostVeth).ToHashSet(StringComparer.Ordinal);
            dnsEndpoints = _endpoints.Values.Where(e => IsUserNetwork(e.NetworkId)).ToList();
        }
        foreach (var n in nets)
            await DriverFor(n.Config).RemoveOrphanLinksAsync(n.Config, liveLinks, ct).ConfigureAwait(false);
        // Live-restored containers on user networks get their resolver back.
        foreach (var id in dnsEndpoints.Select(e => e.ContainerId).Distinct())
        {
            try { await EnsureResolverAsync(id, _netns.PathFor(id), [], ct).ConfigureAwait(false); }
            catch (BerthException) { /* the sandbox is gone: the container's exit handling follows */ }
        }
    }

    private async Task DeleteUserNetworksAsync(CancellationToken ct)
    {
        List<BridgeNet> nets;
        lock (_lock) nets = _bridgeNets.Values.Where(n => !n.Info.IsPredefined).ToList();
        foreach (var n in nets)
            await DriverFor(n.Config).DeleteNetworkAsync(n.Config, ct).ConfigureAwait(false);
    }

    private bool IsUserNetwork(string networkId) => _bridgeNets.TryGetValue(networkId, out var n) && !n.Info.IsPredefined;

    // ---- endpoints ----

    /// <summary>
    /// Attaches the sandbox at <paramref name="netnsPath"/> to bridge network <paramref name="network"/> (name or ID).
    /// The first endpoint of a container on a routed network carries the default route; later ones are eth1, eth2...
    /// On a user-defined network the sandbox gets the embedded DNS at 127.0.0.11.
    /// </summary>
    public async Task<EndpointRecord> ConnectEndpointAsync(string containerId, string netnsPath, string network, EndpointRequest request, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(containerId);
        ArgumentException.ThrowIfNullOrEmpty(netnsPath);
        ArgumentNullException.ThrowIfNull(request);
        var info = Find(network) ?? throw BerthException.NotFound($"network {network} not found");
        BridgeNet net;
        lock (_lock)
        {
            if (!_bridgeNets.TryGetValue(info.Id, out net!))
                throw BerthException.Invalid($"network {info.Name} (driver {info.Driver}) does not take endpoints; use the container's network mode");
        }
        uint ip = 0;
        if (!string.IsNullOrEmpty(request.IPv4))
        {
            await WhenAllReleasedAsync().WaitAsync(ct).ConfigureAwait(false); // the address may be an exited container's, freed in a moment
            if (!Ipv4.TryParse(request.IPv4, out ip))
                throw BerthException.Invalid($"invalid IPv4 address \"{request.IPv4}\"");
            if (!net.Pool.Subnet.Contains(ip))
                throw BerthException.Invalid($"no configured subnet or ip-range contain the IP address {request.IPv4}");
        }

        EndpointRecord ep;
        var key = (containerId, info.Id);
        lock (_lock)
        {
            if (_state != State.Ready) throw new BerthException(ErrorKind.Unavailable, "network controller is not initialized");
            if (_endpoints.ContainsKey(key))
                throw BerthException.Conflict($"endpoint with name {request.DnsNames.FirstOrDefault() ?? containerId[..12]} already exists in network {info.Name}");
            var mine = _endpoints.Values.Where(e => e.ContainerId == containerId).ToList();
            if (ip == 0) ip = AllocateIn(net);
            else net.Pool.Reserve(ip);
            var endpointId = Ids.NewId();
            int n = 0;
            while (mine.Any(e => e.Interface == $"eth{n}")) n++;
            ep = new EndpointRecord
            {
                ContainerId = containerId,
                Network = info.Name,
                NetworkId = info.Id,
                EndpointId = endpointId,
                IPv4 = Ipv4.Format(ip),
                PrefixLen = net.Pool.Subnet.PrefixLen,
                Gateway = net.Config.Gateway == 0 ? "" : Ipv4.Format(net.Config.Gateway),
                MacAddress = Ipv4.MacFor(ip),
                // macvlan endpoints have no host-side link.
                HostVeth = net.Config.Driver == MacvlanDriverName ? "" : BridgeDriver.HostVethName(endpointId),
                Interface = $"eth{n}",
                DnsNames = info.IsPredefined ? [] : request.DnsNames.Select(d => d.ToLowerInvariant()).Distinct().ToList(),
                Aliases = request.Aliases,
                NoDefaultRoute = net.Config.Internal || net.Config.Gateway == 0 || mine.Any(e => !e.NoDefaultRoute),
            };
            // Booked before the kernel work so a parallel connect of the same container fails fast.
            _endpoints[key] = ep;
        }

        try
        {
            await DriverFor(net.Config).CreateEndpointAsync(net.Config, ep, netnsPath, ct).ConfigureAwait(false);
            if (!info.IsPredefined) await EnsureResolverAsync(containerId, netnsPath, request.Upstreams, ct).ConfigureAwait(false);
        }
        catch
        {
            try { await DriverFor(net.Config).DeleteEndpointAsync(net.Config, ep, CancellationToken.None).ConfigureAwait(false); }
            catch (BerthException) { }
            lock (_lock)
            {
                _endpoints.Remove(key);
                net.Pool.Release(ip);
            }
            throw;
        }
        return ep;
    }

    private static uint AllocateIn(BridgeNet net)
    {
        if (net.RangeStart == net.Pool.Subnet.Address + 1 && net.RangeEnd == net.Pool.Subnet.Broadcast - 1)
            return net.Pool.Allocate();
        for (uint a = net.RangeStart; a <= net.RangeEnd && a >= net.RangeStart; a++)
        {
            if (net.Pool.IsAllocated(a)) continue;
            net.Pool.Reserve(a);
            return a;
        }
        throw new BerthException(ErrorKind.Unavailable, $"no available IPv4 address in the range of network {net.Info.Name}");
    }

    private async Task DisconnectCoreAsync(EndpointRecord endpoint, CancellationToken ct)
    {
        BridgeNet? net;
        lock (_lock)
        {
            _bridgeNets.TryGetValue(endpoint.NetworkId, out net);
            if (net is null && endpoint.Network == _bridge.Name) net = _bridgeNets[_bridge.Id];
        }
        // A network already removed: its bridge went with it, only the veth may remain.
        var config = net?.Config ?? _bridge;
        await DriverFor(net?.Config, endpoint).DeleteEndpointAsync(config, endpoint, ct).ConfigureAwait(false);
        lock (_lock)
        {
            var key = (endpoint.ContainerId, net?.Info.Id ?? endpoint.NetworkId);
            // Only the endpoint we booked frees its address: a stale record must not free a reused one.
            if (_endpoints.TryGetValue(key, out var booked) && booked.EndpointId == endpoint.EndpointId)
            {
                _endpoints.Remove(key);
                net?.Pool.Release(Ipv4.Parse(booked.IPv4));
            }
        }
    }

    // ---- DNS ----

    private async Task EnsureResolverAsync(string containerId, string netnsPath, IReadOnlyList<string> upstreams, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (upstreams.Count > 0)
                _upstreams[containerId] = upstreams.Select(u => IPAddress.TryParse(u, out var a) ? new IPEndPoint(a, 53) : null).OfType<IPEndPoint>().ToList();
            if (_resolvers.ContainsKey(containerId)) return;
        }
        var r = await EmbeddedResolver.StartAsync(containerId, netnsPath, LookupName, LookupAddress, () => UpstreamsFor(containerId)).ConfigureAwait(false);
        bool raced;
        lock (_lock)
        {
            raced = !_resolvers.TryAdd(containerId, r);
        }
        if (raced) r.Dispose();
    }

    private void StopResolver(string containerId)
    {
        EmbeddedResolver? r;
        lock (_lock)
        {
            _resolvers.Remove(containerId, out r);
            _upstreams.Remove(containerId);
        }
        r?.Dispose();
    }

    private IReadOnlyList<IPEndPoint> UpstreamsFor(string containerId)
    {
        lock (_lock)
            if (_upstreams.TryGetValue(containerId, out var list) && list.Count > 0) return list;
        return EmbeddedResolver.ReadResolvConf("/etc/resolv.conf");
    }

    /// <summary>Addresses of <paramref name="name"/> on the user networks <paramref name="containerId"/> is on; null when unknown there.</summary>
    internal IReadOnlyList<uint>? LookupName(string containerId, string name)
    {
        lock (_lock)
        {
            var nets = _endpoints.Values.Where(e => e.ContainerId == containerId && IsUserNetwork(e.NetworkId)).Select(e => e.NetworkId).ToHashSet();
            var found = _endpoints.Values
                .Where(e => nets.Contains(e.NetworkId) && e.DnsNames.Any(d => string.Equals(d, name, StringComparison.OrdinalIgnoreCase)))
                .Select(e => Ipv4.Parse(e.IPv4)).Distinct().ToList();
            return found.Count > 0 ? found : null;
        }
    }

    internal string? LookupAddress(string containerId, uint address)
    {
        var text = Ipv4.Format(address);
        lock (_lock)
        {
            var nets = _endpoints.Values.Where(e => e.ContainerId == containerId && IsUserNetwork(e.NetworkId)).Select(e => e.NetworkId).ToHashSet();
            var ep = _endpoints.Values.FirstOrDefault(e => nets.Contains(e.NetworkId) && e.IPv4 == text && e.DnsNames.Count > 0);
            return ep is null ? null : $"{ep.DnsNames[0]}.{ep.Network}";
        }
    }
}
