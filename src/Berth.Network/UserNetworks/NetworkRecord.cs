namespace Berth.Network;

/// <summary>A user-defined network as berthd persists it (&lt;DataRoot&gt;/network/user/&lt;id&gt;.json, written atomically).</summary>
public sealed record NetworkRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public string Driver { get; init; } = "bridge";
    public DateTimeOffset Created { get; init; }
    public required string Subnet { get; init; }
    public string? IPRange { get; init; }
    /// <summary>Empty for a macvlan network created without --gateway (no default route, as dockerd).</summary>
    public required string Gateway { get; init; }
    /// <summary>The bridge; for macvlan the parent interface.</summary>
    public required string BridgeName { get; init; }
    public bool Internal { get; init; }
    public bool Attachable { get; init; }
    public bool Icc { get; init; } = true;
    public bool Masquerade { get; init; } = true;
    public int Mtu { get; init; } = 1500;
    public Dictionary<string, string> Labels { get; init; } = new();
    public Dictionary<string, string> Options { get; init; } = new();
    /// <summary>Whether the subnet was given by the user (shown as such in inspect) or taken from the default pools.</summary>
    public bool SubnetGiven { get; init; }
    /// <summary>macvlan: the driver created the parent (an IFACE.VLAN sub-interface) and removes it with the last network on it.</summary>
    public bool CreatedParent { get; init; }
}

/// <summary>What <see cref="NetworkController.CreateNetworkAsync"/> takes: the API's create request, translated.</summary>
public sealed record NetworkCreateRequest
{
    public required string Name { get; init; }
    public string? Driver { get; init; }
    public bool Internal { get; init; }
    public bool Attachable { get; init; }
    public bool EnableIPv6 { get; init; }
    public string? Subnet { get; init; }
    public string? IPRange { get; init; }
    public string? Gateway { get; init; }
    /// <summary>More than one IPAM config entry (IPv4 only: Berth takes one subnet per network).</summary>
    public int IpamConfigCount { get; init; }
    public string? IpamDriver { get; init; }
    public Dictionary<string, string> Labels { get; init; } = new();
    public Dictionary<string, string> Options { get; init; } = new();
}

/// <summary>How one endpoint is asked for: address, DNS names, whether it carries the default route.</summary>
public sealed record EndpointRequest
{
    public string? IPv4 { get; init; }
    /// <summary>Names the endpoint answers to in the network's DNS (container name, aliases, short ID).</summary>
    public IReadOnlyList<string> DnsNames { get; init; } = [];
    public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>False for a container's second and later networks: the first one's gateway stays the default route.</summary>
    public bool DefaultRoute { get; init; } = true;
    /// <summary>Where the embedded DNS forwards names it does not know (--dns); empty: the host's resolv.conf.</summary>
    public IReadOnlyList<string> Upstreams { get; init; } = [];
}
