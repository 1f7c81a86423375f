using Berth.Network.Ipam;

namespace Berth.Network.Firewall;

/// <summary>What the firewall must do for one bridge network: NAT its subnet out, let its traffic through forwarding.</summary>
internal sealed record BridgeFirewallConfig
{
    public required string BridgeName { get; init; }
    public required Ipv4Cidr Subnet { get; init; }
    /// <summary>Masquerade traffic from the subnet that leaves through another interface (Docker's enable_ip_masquerade).</summary>
    public bool Masquerade { get; init; } = true;
    /// <summary>Traffic between the bridge and any other interface is dropped; only the gateway address answers.</summary>
    public bool Internal { get; init; }
    public uint Gateway { get; init; }
    /// <summary>False: container-to-container traffic on the bridge is dropped.</summary>
    public bool Icc { get; init; } = true;
}

/// <summary>
/// The packet-filter side of the bridge driver. Operations come in Add/Remove pairs over typed configs, so a later
/// port-publishing change adds an AddPorts/RemovePorts pair and nothing else moves.
/// </summary>
internal interface IFirewall
{
    /// <summary>Installs (or replaces) the rules for <paramref name="network"/>; idempotent.</summary>
    Task AddNetworkAsync(BridgeFirewallConfig network, CancellationToken ct);

    /// <summary>Removes the rules of the network on <paramref name="bridgeName"/>; a missing one is not an error.</summary>
    Task RemoveNetworkAsync(string bridgeName, CancellationToken ct);

    /// <summary>Installs the DNAT and accept rules of the ports published for one endpoint (replacing its previous ones).</summary>
    Task AddPortsAsync(string endpointId, IReadOnlyList<PublishedPort> ports, CancellationToken ct);

    /// <summary>Removes the rules of the ports published for <paramref name="endpointId"/>; none is not an error.</summary>
    Task RemovePortsAsync(string endpointId, CancellationToken ct);

    /// <summary>
    /// Daemon start: the ports of live-restored endpoints enter the model without touching the kernel; the next apply
    /// (the bridge's own, during initialization) installs them and drops every rule of endpoints that are gone.
    /// </summary>
    void SeedPorts(IEnumerable<KeyValuePair<string, IReadOnlyList<PublishedPort>>> ports);

    /// <summary>Removes everything this firewall ever installed.</summary>
    Task RemoveAllAsync(CancellationToken ct);
}
