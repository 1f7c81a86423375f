using Berth.Network.Firewall;
using Berth.Network.Ipam;

namespace Berth.Network.Tests;

public sealed class NftRulesetTests
{
    [Fact]
    public void RendersGoldenRuleset()
    {
        var text = NftRuleset.Render("berth", [new BridgeFirewallConfig { BridgeName = "berth0", Subnet = Ipv4Cidr.Parse("172.18.0.1/16", out _) }]);
        var golden = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", "bridge-default.nft"));
        Assert.Equal(golden, text);
    }

    [Fact]
    public void EmptyModelStillDefinesTable() =>
        Assert.Contains("table ip t {", NftRuleset.Render("t", []));
}
