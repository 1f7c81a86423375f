using Berth.Network.Ipam;

namespace Berth.Network.Drivers;

/// <summary>A network as a driver needs it. Built by the controller from options (later: from user-defined networks).</summary>
internal sealed record NetworkConfig
{
    public required string Name { get; init; }
    public required string Id { get; init; }
    public required string Driver { get; init; }
    public required Ipv4Cidr Subnet { get; init; }
    public required uint Gateway { get; init; }
    /// <summary>The kernel interface the driver owns for this network (the bridge; later a macvlan parent, a vxlan).</summary>
    public required string InterfaceName { get; init; }
    public int Mtu { get; init; } = 1500;
    public bool Masquerade { get; init; } = true;
    /// <summary>No traffic between the network and anything else (docker network create --internal).</summary>
    public bool Internal { get; init; }
    /// <summary>Containers on the network may talk to each other (com.docker.network.bridge.enable_icc).</summary>
    public bool Icc { get; init; } = true;
    /// <summary>The driver options the network was created with (docker network create -o), e.g. macvlan's parent and mode.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
    /// <summary>
    /// The driver created <see cref="InterfaceName"/> for this network and removes it with the network (a bridge; an
    /// 802.1q sub-interface under macvlan). False for an interface the user gave (a macvlan parent): never removed.
    /// </summary>
    public bool OwnsInterface { get; init; } = true;
}

/// <summary>
/// The kernel side of one network type. The controller owns IDs, IPAM and bookkeeping; a driver only makes the
/// kernel match (bridge and macvlan; overlay implements the same contract).
/// </summary>
internal interface INetworkDriver
{
    string Type { get; }

    /// <summary>Creates the network's kernel objects, or checks and completes them when they exist (daemon restart).</summary>
    Task EnsureNetworkAsync(NetworkConfig network, CancellationToken ct);

    /// <summary>Removes the network's kernel objects; missing ones are not an error.</summary>
    Task DeleteNetworkAsync(NetworkConfig network, CancellationToken ct);

    /// <summary>Plumbs <paramref name="endpoint"/> (address already allocated) into the sandbox at <paramref name="netnsPath"/>.</summary>
    Task CreateEndpointAsync(NetworkConfig network, EndpointRecord endpoint, string netnsPath, CancellationToken ct);

    /// <summary>Removes the endpoint's kernel objects; missing ones are not an error.</summary>
    Task DeleteEndpointAsync(NetworkConfig network, EndpointRecord endpoint, CancellationToken ct);

    /// <summary>Deletes host-side endpoint links of <paramref name="network"/> that are not in <paramref name="liveLinks"/>.</summary>
    Task<IReadOnlyList<string>> RemoveOrphanLinksAsync(NetworkConfig network, IReadOnlySet<string> liveLinks, CancellationToken ct);
}
