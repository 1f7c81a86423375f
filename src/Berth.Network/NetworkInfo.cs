namespace Berth.Network;

/// <summary>A network as the API lists it. Subnet, Gateway and BridgeName are null for host and none.</summary>
public sealed record NetworkInfo
{
    public required string Name { get; init; }
    public required string Id { get; init; }
    public required string Driver { get; init; }
    public string Scope { get; init; } = "local";
    public string? Subnet { get; init; }
    public string? Gateway { get; init; }
    public string? BridgeName { get; init; }
    /// <summary>The persisted record of a user-defined network; null for the predefined ones.</summary>
    public NetworkRecord? User { get; init; }
    public bool IsPredefined => User is null;
}

/// <summary>
/// One container's attachment to one network. The daemon persists it with the container and hands the live ones
/// back to <see cref="NetworkController.InitializeAsync(IReadOnlyCollection{EndpointRecord}, CancellationToken)"/>.
/// </summary>
public sealed record EndpointRecord
{
    public required string ContainerId { get; init; }
    public required string Network { get; init; }
    public required string NetworkId { get; init; }
    public required string EndpointId { get; init; }
    public required string IPv4 { get; init; }
    public required int PrefixLen { get; init; }
    public required string Gateway { get; init; }
    public required string MacAddress { get; init; }
    /// <summary>The host end of the veth pair, attached to the bridge.</summary>
    public required string HostVeth { get; init; }
    /// <summary>The interface name inside the sandbox.</summary>
    public string Interface { get; init; } = "eth0";
    /// <summary>Names other containers on the network resolve to this endpoint (user-defined networks only).</summary>
    public IReadOnlyList<string> DnsNames { get; init; } = [];
    public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>The sandbox's default route does not go through this endpoint (a second network, an internal one).</summary>
    public bool NoDefaultRoute { get; init; }
}
