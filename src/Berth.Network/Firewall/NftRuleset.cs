using System.Text;

namespace Berth.Network.Firewall;

/// <summary>
/// Renders Berth's whole nftables table from its typed model. The table is always replaced as a unit in one
/// `nft -f` transaction (add, delete, define), so the kernel never sees half a ruleset and the text can be
/// checked against golden files.
/// </summary>
internal static class NftRuleset
{
    public static string Render(string table, IEnumerable<BridgeFirewallConfig> networks, IReadOnlyCollection<PublishedPort>? ports = null)
    {
        ports ??= [];
        var list = networks.OrderBy(n => n.BridgeName, StringComparer.Ordinal).ToList();
        var sb = new StringBuilder();
        // "add" first so that "delete" cannot fail on a fresh host; both apply atomically with the definition.
        sb.Append("add table ip ").Append(table).Append('\n');
        sb.Append("delete table ip ").Append(table).Append('\n');
        sb.Append("table ip ").Append(table).Append(" {\n");

        sb.Append("\tchain postrouting {\n");
        sb.Append("\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        foreach (var n in list)
        {
            if (!n.Masquerade) continue;
            sb.Append("\t\tip saddr ").Append(n.Subnet).Append(" oifname != ").Append(Quote(n.BridgeName)).Append(" masquerade\n");
        }
        sb.Append("\t}\n");

        sb.Append("\tchain forward {\n");
        sb.Append("\t\ttype filter hook forward priority filter; policy accept;\n");
        NftIsolationRules.AppendForward(sb, list);
        foreach (var n in list)
        {
            var br = Quote(n.BridgeName);
            // Containers may send anywhere; into the bridge only replies get through (no published ports yet),
            // as with Docker's default bridge.
            sb.Append("\t\tiifname ").Append(br).Append(" accept\n");
            sb.Append("\t\toifname ").Append(br).Append(" ct state established,related accept\n");
            NftPortRules.AppendForwardAccepts(sb, n.BridgeName, ports);
            sb.Append("\t\toifname ").Append(br).Append(" drop\n");
        }
        sb.Append("\t}\n");
        NftIsolationRules.AppendInput(sb, list);
        NftPortRules.AppendNatChains(sb, ports);

        sb.Append("}\n");
        return sb.ToString();
    }

    private static string Quote(string name) => $"\"{name}\"";
}
