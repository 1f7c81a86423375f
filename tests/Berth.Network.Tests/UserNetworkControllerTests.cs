using Berth.Core;
using Berth.Network.Ipam;

namespace Berth.Network.Tests;

public sealed class UserNetworkControllerTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task UserNetworks_ResolveIsolatePersistAndGoAway()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        await c.InitializeAsync([], Ct);
        var prefix = net.Prefix.Replace("10.213.", "10.214.", StringComparison.Ordinal);
        var u1 = await c.CreateNetworkAsync(new NetworkCreateRequest { Name = "u1", Subnet = $"{prefix}.0/28" }, Ct);
        var u2 = await c.CreateNetworkAsync(new NetworkCreateRequest { Name = "u2", Subnet = $"{prefix}.16/28" }, Ct);
        string a = Ids.NewId(), b = Ids.NewId(), x = Ids.NewId();
        try
        {
            Assert.Equal("br-" + u1.Id[..12], u1.BridgeName);
            Assert.True(TestNetwork.LinkExists(u1.BridgeName!));
            var overlap = await Assert.ThrowsAsync<BerthException>(() => c.CreateNetworkAsync(new NetworkCreateRequest { Name = "u3", Subnet = $"{prefix}.8/29" }, Ct));
            Assert.Equal(ErrorKind.Conflict, overlap.Kind);

            var nsA = await c.CreateSandboxAsync(a, Ct);
            var nsB = await c.CreateSandboxAsync(b, Ct);
            var nsX = await c.CreateSandboxAsync(x, Ct);
            var epA = await c.ConnectEndpointAsync(a, nsA, "u1", new EndpointRequest { DnsNames = ["alpha", "Al"] }, Ct);
            await c.ConnectEndpointAsync(b, nsB, "u1", new EndpointRequest { IPv4 = $"{prefix}.9", DnsNames = ["beta"] }, Ct);
            var epX = await c.ConnectEndpointAsync(x, nsX, "u2", new EndpointRequest { DnsNames = ["xray"] }, Ct);
            // A second network on one sandbox: eth1, and no second default route.
            var epA2 = await c.ConnectEndpointAsync(a, nsA, "u2", new EndpointRequest { DnsNames = ["alpha"] }, Ct);
            Assert.Equal("eth1", epA2.Interface);
            Assert.True(epA2.NoDefaultRoute);

            Assert.Equal([Ipv4.Parse(epA.IPv4)], c.LookupName(b, "alpha")!);
            Assert.Equal([Ipv4.Parse(epA.IPv4)], c.LookupName(b, "al")!);
            Assert.Null(c.LookupName(b, "xray")); // on u2 only
            Assert.Equal([Ipv4.Parse(epX.IPv4)], c.LookupName(a, "xray")!); // a is on both
            Assert.Equal("beta.u1", c.LookupAddress(a, Ipv4.Parse($"{prefix}.9")));

            Assert.True(await TestNetwork.Ping(nsB, epA.IPv4), "b cannot reach a on their network");
            Assert.False(await TestNetwork.Ping(nsB, epX.IPv4), "b reaches x across networks");

            // The records are on disk: another controller on the same data-root knows the networks.
            Assert.Equal("u1", new NetworkController(net.Options).Find(u1.Id)?.Name);

            var busy = await Assert.ThrowsAsync<BerthException>(() => c.RemoveNetworkAsync("u1", Ct));
            Assert.Equal(ErrorKind.Conflict, busy.Kind);
            await c.RemoveSandboxAsync(a, Ct);
            await c.RemoveSandboxAsync(b, Ct);
            await c.RemoveSandboxAsync(x, Ct);
            await c.RemoveNetworkAsync("u1", Ct);
            Assert.False(TestNetwork.LinkExists(u1.BridgeName!));
            Assert.Null(c.Find("u1"));
            Assert.Null(new NetworkController(net.Options).Find("u1"));
        }
        finally
        {
            foreach (var id in new[] { a, b, x }) await c.RemoveSandboxAsync(id, CancellationToken.None);
            foreach (var n in new[] { "u1", "u2" })
            {
                try { await c.RemoveNetworkAsync(n, CancellationToken.None); } catch (BerthException) { }
            }
            await TestNetwork.Run("ip", "link", "del", u1.BridgeName!);
            await TestNetwork.Run("ip", "link", "del", u2.BridgeName!);
        }
    }
}
