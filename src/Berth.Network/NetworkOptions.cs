namespace Berth.Network;

/// <summary>How the daemon's networking is set up (dockerd's --bridge, --bip, --mtu, plus Berth's roots).</summary>
public sealed class NetworkOptions
{
    /// <summary>Runtime state (lost at reboot with the namespaces it names): sandboxes live in &lt;ExecRoot&gt;/netns.</summary>
    public required string ExecRoot { get; init; }

    /// <summary>Persistent state: network IDs live in &lt;DataRoot&gt;/network.</summary>
    public required string DataRoot { get; init; }

    /// <summary>The Linux bridge behind the default "bridge" network (at most 15 characters).</summary>
    public string BridgeName { get; init; } = "berth0";

    /// <summary>Gateway address and prefix of the default bridge, as dockerd's --bip takes it.</summary>
    public string BridgeCidr { get; init; } = "172.18.0.1/16";

    /// <summary>Name of Berth's nftables table (family ip).</summary>
    public string NftTablePrefix { get; init; } = "berth";

    public int Mtu { get; init; } = 1500;

    /// <summary>Where subnets of networks created without one come from (dockerd's default-address-pools); empty: Docker's.</summary>
    public IReadOnlyList<Ipam.AddressPoolSpec> DefaultAddressPools { get; init; } = [];
}
