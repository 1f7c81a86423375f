using System.Text.Json;
using Berth.Core;
using Berth.Network.Drivers;
using Berth.Network.Firewall;
using Berth.Network.Ipam;
using Berth.Network.Sandbox;

namespace Berth.Network;

/// <summary>
/// The daemon's networking: sandboxes (network namespaces), the predefined networks (bridge, host, none), IPAM and
/// endpoints. Lifecycle: construct, <see cref="InitializeAsync(IReadOnlyCollection{EndpointRecord}, CancellationToken)"/>
/// once at daemon start (ensures the bridge and reconciles kernel state with the live containers), then
/// sandbox/connect/disconnect calls in any number and in parallel, then <see cref="ShutdownAsync"/>.
/// </summary>
public sealed partial class NetworkController
{
    public const string BridgeNetwork = "bridge", HostNetwork = "host", NoneNetwork = "none";

    private readonly NetworkOptions _options;
    private readonly NetnsManager _netns;
    private readonly IFirewall _firewall;
    private readonly INetworkDriver _bridgeDriver;
    private readonly NetworkConfig _bridge;
    private readonly AddressPool _bridgePool;
    private readonly IReadOnlyList<NetworkInfo> _networks;

    private enum State { New, Initializing, Ready }

    private readonly Lock _lock = new(); // guards _endpoints and _state
    private readonly Dictionary<(string ContainerId, string NetworkId), EndpointRecord> _endpoints = new();
    private State _state;

    public NetworkController(NetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BridgeName.Length is 0 or > 15 || !options.BridgeName.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw BerthException.Invalid($"invalid bridge name \"{options.BridgeName}\"");
        if (options.Mtu is < 68 or > 65535)
            throw BerthException.Invalid($"invalid MTU {options.Mtu}");
        _options = options;

        var subnet = Ipv4Cidr.Parse(options.BridgeCidr, out var gateway);
        _bridgePool = new AddressPool(subnet);
        _bridgePool.Reserve(gateway);

        var ids = LoadOrCreateIds(Path.Combine(options.DataRoot, "network", "networks.json"));
        _bridge = new NetworkConfig
        {
            Name = BridgeNetwork,
            Id = ids.Bridge,
            Driver = "bridge",
            Subnet = subnet,
            Gateway = gateway,
            InterfaceName = options.BridgeName,
            Mtu = options.Mtu,
        };
        DefaultBridge = new NetworkInfo
        {
            Name = BridgeNetwork,
            Id = ids.Bridge,
            Driver = "bridge",
            Subnet = subnet.ToString(),
            Gateway = Ipv4.Format(gateway),
            BridgeName = options.BridgeName,
        };
        _networks =
        [
            DefaultBridge,
            new NetworkInfo { Name = HostNetwork, Id = ids.Host, Driver = "host" },
            new NetworkInfo { Name = NoneNetwork, Id = ids.None, Driver = "null" },
        ];

        _netns = new NetnsManager(Path.Combine(options.ExecRoot, "netns"));
        _firewall = new NftablesFirewall(options.NftTablePrefix);
        _bridgeDriver = new BridgeDriver(_firewall);
        LoadUserNetworks();
    }

    public NetworkInfo DefaultBridge { get; }

    public IReadOnlyList<NetworkInfo> List() => AllNetworks();

    /// <summary>Finds a network by name, full ID or unique ID prefix (as Docker resolves network references).</summary>
    public NetworkInfo? Find(string nameOrId)
    {
        if (string.IsNullOrEmpty(nameOrId)) return null;
        var all = AllNetworks();
        var exact = all.FirstOrDefault(n => n.Id == nameOrId) ?? all.FirstOrDefault(n => n.Name == nameOrId);
        if (exact is not null) return exact;
        var byPrefix = all.Where(n => n.Id.StartsWith(nameOrId, StringComparison.Ordinal)).ToList();
        return byPrefix.Count == 1 ? byPrefix[0] : null;
    }

    /// <summary>The path a container's sandbox has (or would have).</summary>
    public string SandboxPath(string containerId) => _netns.PathFor(containerId);

    /// <summary>
    /// Daemon start: ensures the default bridge, its firewall rules and IPv4 forwarding, rebuilds IPAM from
    /// <paramref name="liveEndpoints"/>, and deletes sandboxes and host veths that belong to none of them.
    /// </summary>
    public Task InitializeAsync(IReadOnlyCollection<EndpointRecord> liveEndpoints, CancellationToken ct) =>
        InitializeAsync(liveEndpoints, [], ct);

    /// <param name="liveSandboxes">Containers whose sandbox must be kept although they have no endpoint (network "none").</param>
    public async Task InitializeAsync(IReadOnlyCollection<EndpointRecord> liveEndpoints, IReadOnlyCollection<string> liveSandboxes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(liveEndpoints);
        ArgumentNullException.ThrowIfNull(liveSandboxes);
        lock (_lock)
        {
            if (_state != State.New) throw BerthException.Conflict($"network controller is already {(_state == State.Ready ? "initialized" : "initializing")}");
            // A record from another configuration (changed --bip, a network gone) is not booked: its veth is reconciled away below.
            foreach (var ep in liveEndpoints) BookLiveEndpoint(ep);
            _state = State.Initializing;
        }

        try
        {
            await _bridgeDriver.EnsureNetworkAsync(_bridge, ct).ConfigureAwait(false);
            await EnsureUserNetworksAsync(ct).ConfigureAwait(false);
            await ReconcileAsync(liveSandboxes, ct).ConfigureAwait(false);
        }
        catch
        {
            // Back to the constructed state so the daemon may retry.
            lock (_lock)
            {
                foreach (var ep in _endpoints.Values)
                    if (_bridgeNets.TryGetValue(ep.NetworkId, out var n)) n.Pool.Release(Ipv4.Parse(ep.IPv4));
                _endpoints.Clear();
                _state = State.New;
            }
            throw;
        }
        // Only now: a connect racing the reconcile could have its fresh veth taken for an orphan.
        lock (_lock) _state = State.Ready;
        await ReconcileUserNetworksAsync(ct).ConfigureAwait(false);
    }

    private async Task ReconcileAsync(IReadOnlyCollection<string> liveSandboxes, CancellationToken ct)
    {
        // Sandboxes first: a namespace going away takes its veth with it, leaving fewer links to delete.
        var keep = new HashSet<string>(liveSandboxes, StringComparer.Ordinal);
        HashSet<string> liveLinks;
        lock (_lock)
        {
            foreach (var key in _endpoints.Keys) keep.Add(key.ContainerId);
            liveLinks = _endpoints.Values.Select(e => e.HostVeth).ToHashSet(StringComparer.Ordinal);
        }
        foreach (var id in _netns.List())
            if (!keep.Contains(id))
                NetnsManager.RemovePath(Path.Combine(_netns.Directory, id));
        await _bridgeDriver.RemoveOrphanLinksAsync(_bridge, liveLinks, ct).ConfigureAwait(false);
    }

    /// <summary>Creates the container's network namespace (with lo up) and returns its path for runc.</summary>
    public Task<string> CreateSandboxAsync(string containerId, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        lock (_lock)
        {
            // The reconcile in progress would take it for an orphan.
            if (_state == State.Initializing)
                throw new BerthException(ErrorKind.Unavailable, "network controller is initializing");
        }
        return _netns.CreateAsync(containerId);
    }

    /// <summary>
    /// Removes the container's network namespace; a missing one is not an error. Endpoints still connected are
    /// disconnected first, so their addresses are free again when this returns.
    /// </summary>
    public async Task RemoveSandboxAsync(string containerId, CancellationToken ct)
    {
        var path = _netns.PathFor(containerId);
        List<EndpointRecord> left;
        lock (_lock) left = _endpoints.Values.Where(e => e.ContainerId == containerId).ToList();
        StopResolver(containerId);
        foreach (var ep in left)
            await DisconnectAsync(ep, ct).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        NetnsManager.RemovePath(path);
    }

    /// <summary>
    /// Attaches the sandbox at <paramref name="netnsPath"/> to <paramref name="network"/> (name or ID; only the
    /// bridge network has endpoints). <paramref name="requestedIp"/> null means the lowest free address.
    /// </summary>
    public Task<EndpointRecord> ConnectAsync(string containerId, string netnsPath, string network, string? requestedIp, CancellationToken ct) =>
        ConnectEndpointAsync(containerId, netnsPath, network, new EndpointRequest { IPv4 = requestedIp }, ct);

    /// <summary>Removes the endpoint's veth pair and frees its address; an endpoint already gone is not an error.</summary>
    public async Task DisconnectAsync(EndpointRecord endpoint, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        // Empty: a macvlan endpoint, whose only link is inside the sandbox.
        if (endpoint.HostVeth.Length > 0 && !BridgeDriver.IsHostVethName(endpoint.HostVeth))
            throw BerthException.Invalid($"endpoint {endpoint.EndpointId} has no host veth of ours (\"{endpoint.HostVeth}\")");
        await UnpublishPortsAsync(endpoint.EndpointId, ct).ConfigureAwait(false); // published ports go with their endpoint
        await DisconnectCoreAsync(endpoint, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Daemon stop. With <paramref name="removeBridge"/> (clean shutdown, no container running) the bridge and the
    /// nftables table are deleted; otherwise everything stays for the containers that outlive the daemon.
    /// </summary>
    public async Task ShutdownAsync(bool removeBridge, CancellationToken ct)
    {
        await WhenAllReleasedAsync().WaitAsync(ct).ConfigureAwait(false); // links of exited containers still being deleted
        if (!removeBridge) return;
        await DeleteUserNetworksAsync(ct).ConfigureAwait(false);
        await _bridgeDriver.DeleteNetworkAsync(_bridge, ct).ConfigureAwait(false);
        await _firewall.RemoveAllAsync(ct).ConfigureAwait(false);
    }

    private static PredefinedNetworkIds LoadOrCreateIds(string path)
    {
        PredefinedNetworkIds? ids = null;
        if (File.Exists(path))
        {
            try
            {
                ids = JsonSerializer.Deserialize(File.ReadAllBytes(path), NetworkJsonContext.Default.PredefinedNetworkIds);
            }
            catch (JsonException e)
            {
                throw new BerthException(ErrorKind.Unknown, $"corrupt network state {path}: {e.Message}", e);
            }
        }
        ids ??= new PredefinedNetworkIds();
        var complete = ids with
        {
            Bridge = IsId(ids.Bridge) ? ids.Bridge : Ids.NewId(),
            Host = IsId(ids.Host) ? ids.Host : Ids.NewId(),
            None = IsId(ids.None) ? ids.None : Ids.NewId(),
        };
        if (complete != ids)
            AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(complete, NetworkJsonContext.Default.PredefinedNetworkIds));
        return complete;
    }

    private static bool IsId(string s) => s.Length == 64 && s.All(char.IsAsciiHexDigitLower);
}
