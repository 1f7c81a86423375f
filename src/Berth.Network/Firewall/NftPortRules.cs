using System.Globalization;
using System.Text;

namespace Berth.Network.Firewall;

/// <summary>
/// The nftables side of published ports: DNAT of HostIp:HostPort to the container in a prerouting chain (traffic
/// from outside and from other containers) and an output chain (the host's own connections, loopback included),
/// masquerade of loopback-sourced and hairpin traffic into the bridge, forward accepts ahead of the bridge's drop, and
/// a guard that keeps 127.0.0.0/8 reachable from lo only.
/// </summary>
internal static class NftPortRules
{
    public static IEnumerable<PublishedPort> Sorted(IEnumerable<PublishedPort> ports) =>
        ports.OrderBy(p => p.HostPort).ThenBy(p => p.Proto, StringComparer.Ordinal).ThenBy(p => p.HostIp, StringComparer.Ordinal)
            .ThenBy(p => p.EndpointId, StringComparer.Ordinal);

    /// <summary>Lines for the bridge's forward chain, to be placed before its drop of new inbound traffic.</summary>
    public static void AppendForwardAccepts(StringBuilder sb, string bridgeName, IReadOnlyCollection<PublishedPort> ports)
    {
        // One accept per container address and port: only what was published gets in, and only through our DNAT.
        foreach (var (ip, proto, port) in ports.Where(p => p.Bridge == bridgeName)
                     .Select(p => (p.ContainerIp, p.Proto, p.ContainerPort)).Distinct()
                     .OrderBy(t => t.ContainerIp, StringComparer.Ordinal).ThenBy(t => t.Proto, StringComparer.Ordinal).ThenBy(t => t.ContainerPort))
        {
            sb.Append("\t\toifname ").Append(Quote(bridgeName)).Append(" ip daddr ").Append(ip).Append(' ').Append(proto)
              .Append(" dport ").Append(Num(port)).Append(" ct status dnat accept\n");
        }
    }

    /// <summary>The NAT chains; nothing at all when no port is published.</summary>
    public static void AppendNatChains(StringBuilder sb, IReadOnlyCollection<PublishedPort> ports)
    {
        if (ports.Count == 0) return;
        // route_localnet (set on bridges with ports) and DNAT of 127.0.0.1 ports both open loopback to the network:
        // a neighbour or a container could send to 127.0.0.1 and reach a loopback-published port or a host service
        // on loopback. Only lo may bring in packets for 127.0.0.0/8 (before NAT: replies are still addressed to the
        // gateway then).
        sb.Append("\tchain port-guard {\n");
        sb.Append("\t\ttype filter hook prerouting priority raw; policy accept;\n");
        sb.Append("\t\tiifname != \"lo\" ip daddr 127.0.0.0/8 drop\n");
        sb.Append("\t}\n");
        // Only destinations that are this host's own addresses: traffic passing through to elsewhere is not ours.
        sb.Append("\tchain port-prerouting {\n");
        sb.Append("\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
        sb.Append("\t\tfib daddr type local jump ports\n");
        sb.Append("\t}\n");
        sb.Append("\tchain port-output {\n");
        sb.Append("\t\ttype nat hook output priority -100; policy accept;\n");
        sb.Append("\t\tfib daddr type local jump ports\n");
        sb.Append("\t}\n");

        sb.Append("\tchain ports {\n");
        foreach (var p in Sorted(ports))
        {
            sb.Append("\t\t");
            if (p.HostIp is not ("" or "0.0.0.0")) sb.Append("ip daddr ").Append(p.HostIp).Append(' ');
            sb.Append(p.Proto).Append(" dport ").Append(Num(p.HostPort)).Append(" dnat to ")
              .Append(p.ContainerIp).Append(':').Append(Num(p.ContainerPort)).Append('\n');
        }
        sb.Append("\t}\n");

        sb.Append("\tchain port-postrouting {\n");
        sb.Append("\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        foreach (var (bridge, subnet) in ports.Select(p => (p.Bridge, p.Subnet)).Distinct().OrderBy(b => b.Bridge, StringComparer.Ordinal))
        {
            var br = Quote(bridge);
            // The host's connections to 127.0.0.1:port: the container cannot answer a loopback source (and the kernel
            // routes it into the bridge only with route_localnet), so they leave with the gateway's address.
            sb.Append("\t\toifname ").Append(br).Append(" ip saddr 127.0.0.0/8 masquerade\n");
            // Hairpin: a container reaching its own or a neighbour's published port through a host address must get
            // the answer back through the host, not straight over the bridge.
            sb.Append("\t\toifname ").Append(br).Append(" ip saddr ").Append(subnet).Append(" ct status dnat masquerade\n");
        }
        sb.Append("\t}\n");
    }

    private static string Quote(string name) => $"\"{name}\"";

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}
