using System.Text;
using Berth.Network.Ipam;

namespace Berth.Network.Firewall;

/// <summary>
/// The rules that keep bridge networks apart (Docker's DOCKER-ISOLATION chains): nothing is forwarded from one of
/// the daemon's bridges to another; an internal network forwards nothing to or from any other interface and its
/// containers reach only the gateway address of the host; enable_icc=false drops traffic between the bridge's ports
/// (seen by the ip hooks through br_netfilter). They come first in the forward chain, before any accept.
/// </summary>
internal static class NftIsolationRules
{
    public static void AppendForward(StringBuilder sb, IReadOnlyList<BridgeFirewallConfig> networks)
    {
        foreach (var n in networks)
        {
            var br = Quote(n.BridgeName);
            var others = networks.Where(o => o.BridgeName != n.BridgeName).Select(o => Quote(o.BridgeName)).ToList();
            if (n.Internal)
            {
                sb.Append("\t\tiifname ").Append(br).Append(" oifname != ").Append(br).Append(" drop\n");
                sb.Append("\t\toifname ").Append(br).Append(" iifname != ").Append(br).Append(" drop\n");
            }
            else if (others.Count > 0)
            {
                sb.Append("\t\tiifname ").Append(br).Append(" oifname { ").Append(string.Join(", ", others)).Append(" } drop\n");
            }
            if (!n.Icc)
                sb.Append("\t\tiifname ").Append(br).Append(" oifname ").Append(br).Append(" drop\n");
        }
    }

    /// <summary>An input chain only when an internal network needs one: its containers reach the host's gateway address only.</summary>
    public static void AppendInput(StringBuilder sb, IReadOnlyList<BridgeFirewallConfig> networks)
    {
        var internals = networks.Where(n => n.Internal).ToList();
        if (internals.Count == 0) return;
        sb.Append("\tchain input {\n");
        sb.Append("\t\ttype filter hook input priority filter; policy accept;\n");
        foreach (var n in internals)
            sb.Append("\t\tiifname ").Append(Quote(n.BridgeName)).Append(" ip daddr != ").Append(Ipv4.Format(n.Gateway)).Append(" drop\n");
        sb.Append("\t}\n");
    }

    private static string Quote(string name) => $"\"{name}\"";
}
