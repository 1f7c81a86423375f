using System.Security.Cryptography;
using Berth.Core;
using Berth.Network.Ipam;

namespace Berth.Network.Tests;

/// <summary>
/// The macvlan driver through the controller, on a real kernel. The parent is one end of a veth pair the test makes
/// (bm&lt;6 hex&gt;a/b) and removes in DisposeAsync whatever happened; the subnet is 10.245.&lt;the test network's
/// third octet&gt;.0/24, which no other test uses.
/// </summary>
public sealed class MacvlanControllerTests : IAsyncLifetime
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private readonly string _parent = $"bm{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}a";
    private readonly TestNetwork _net = new();

    private string Subnet3 => _net.Prefix.Replace("10.213.", "10.245.", StringComparison.Ordinal);

    public async Task InitializeAsync()
    {
        var add = await TestNetwork.Run("ip", "link", "add", _parent, "type", "veth", "peer", "name", _parent[..^1] + "b");
        Assert.True(add.Code == 0, add.Err);
        await TestNetwork.Run("ip", "link", "set", _parent, "up");
        await TestNetwork.Run("ip", "link", "set", _parent[..^1] + "b", "up");
        await _net.Controller.InitializeAsync([], Ct);
    }

    public async Task DisposeAsync()
    {
        await _net.DisposeAsync();
        await TestNetwork.Run("ip", "link", "del", _parent);
    }

    private NetworkCreateRequest Macvlan(string name, string subnet, params (string Key, string Value)[] options) => new()
    {
        Name = name,
        Driver = "macvlan",
        Subnet = subnet,
        Options = options.ToDictionary(o => o.Key, o => o.Value),
    };

    private async Task<int> Promiscuity()
    {
        var r = await TestNetwork.Run("ip", "-d", "-o", "link", "show", _parent);
        var at = r.Out.IndexOf("promiscuity ", StringComparison.Ordinal);
        Assert.True(at >= 0, r.Out);
        return int.Parse(r.Out[(at + 12)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task EndpointsAreMacvlanPortsInTheSandboxThatReachEachOther()
    {
        var c = _net.Controller;
        var info = await c.CreateNetworkAsync(Macvlan("mv", $"{Subnet3}.0/24", ("parent", _parent)), Ct);
        Assert.Equal("macvlan", info.Driver);
        Assert.Null(info.BridgeName);
        Assert.Equal("", info.Gateway); // no --gateway: none, as dockerd
        string a = Ids.NewId(), b = Ids.NewId();
        var nsA = await c.CreateSandboxAsync(a, Ct);
        var nsB = await c.CreateSandboxAsync(b, Ct);
        var epA = await c.ConnectEndpointAsync(a, nsA, "mv", new EndpointRequest { DnsNames = ["alpha"] }, Ct);
        var epB = await c.ConnectEndpointAsync(b, nsB, "mv", new EndpointRequest { DnsNames = ["beta"] }, Ct);
        // The first address is a container's: no gateway was reserved.
        Assert.Equal($"{Subnet3}.1", epA.IPv4);
        Assert.Equal("", epA.HostVeth);
        Assert.True(epA.NoDefaultRoute);

        var link = await TestNetwork.Run("nsenter", $"--net={nsA}", "ip", "-d", "link", "show", "eth0");
        Assert.Contains("macvlan mode bridge", link.Out);
        Assert.Contains(epA.MacAddress, link.Out);
        Assert.True(await TestNetwork.Ping(nsA, epB.IPv4), "a cannot reach b on their macvlan network");
        Assert.Equal([Ipv4.Parse(epB.IPv4)], c.LookupName(a, "beta")!);
        Assert.True(await Promiscuity() > 0);
        // Nothing of the network is in the host's namespace.
        Assert.DoesNotContain("@" + _parent, (await TestNetwork.Run("ip", "-o", "link", "show", "type", "macvlan")).Out);

        // Persisted: another controller on the same data-root knows the driver and the parent.
        var again = new NetworkController(_net.Options).Find("mv");
        Assert.Equal("macvlan", again?.Driver);
        Assert.Equal(_parent, again?.User?.Options["parent"]);

        // Live disconnect removes the port from the sandbox.
        await c.DisconnectAsync(epB, Ct);
        Assert.NotEqual(0, (await TestNetwork.Run("nsenter", $"--net={nsB}", "ip", "link", "show", "eth0")).Code);
        var busy = await Assert.ThrowsAsync<BerthException>(() => c.RemoveNetworkAsync("mv", Ct));
        Assert.Equal(ErrorKind.Conflict, busy.Kind);
        await c.RemoveSandboxAsync(a, Ct);
        await c.RemoveSandboxAsync(b, Ct);
        Assert.Equal(0, await Promiscuity());
        await c.RemoveNetworkAsync("mv", Ct);
        Assert.True(TestNetwork.LinkExists(_parent), "the user's parent must never be removed");
    }

    [Fact]
    public async Task GatewayGivesADefaultRouteUnlessInternal()
    {
        var c = _net.Controller;
        await c.CreateNetworkAsync(Macvlan("gw", $"{Subnet3}.0/25", ("parent", _parent)) with { Gateway = $"{Subnet3}.1" }, Ct);
        await c.CreateNetworkAsync(Macvlan("in", $"{Subnet3}.128/25", ("parent", _parent)) with { Gateway = $"{Subnet3}.129", Internal = true }, Ct);
        string a = Ids.NewId(), b = Ids.NewId();
        try
        {
            var nsA = await c.CreateSandboxAsync(a, Ct);
            var nsB = await c.CreateSandboxAsync(b, Ct);
            var epA = await c.ConnectEndpointAsync(a, nsA, "gw", new EndpointRequest(), Ct);
            await c.ConnectEndpointAsync(b, nsB, "in", new EndpointRequest(), Ct);
            Assert.Equal($"{Subnet3}.2", epA.IPv4);
            Assert.Contains($"default via {Subnet3}.1 dev eth0", (await TestNetwork.Run("nsenter", $"--net={nsA}", "ip", "route")).Out);
            Assert.DoesNotContain("default", (await TestNetwork.Run("nsenter", $"--net={nsB}", "ip", "route")).Out);
        }
        finally
        {
            await c.RemoveSandboxAsync(a, Ct);
            await c.RemoveSandboxAsync(b, Ct);
        }
    }

    [Fact]
    public async Task DockerdsChecksRefuseBadNetworksAndLeaveNothing()
    {
        var c = _net.Controller;
        async Task<BerthException> Refused(NetworkCreateRequest req)
        {
            var e = await Assert.ThrowsAsync<BerthException>(() => c.CreateNetworkAsync(req, Ct));
            Assert.Null(c.Find(req.Name));
            return e;
        }
        var noParent = await Refused(Macvlan("x", $"{Subnet3}.0/24"));
        Assert.Equal(ErrorKind.InvalidArgument, noParent.Kind);
        Assert.Contains("-o parent=IFACE is required", noParent.Message);
        Assert.Contains("not found on the host: bmnosuch0", (await Refused(Macvlan("x", $"{Subnet3}.0/24", ("parent", "bmnosuch0")))).Message);
        Assert.Contains("loopback", (await Refused(Macvlan("x", $"{Subnet3}.0/24", ("parent", "lo")))).Message);
        Assert.Contains("'sideways' is not valid", (await Refused(Macvlan("x", $"{Subnet3}.0/24", ("parent", _parent), ("macvlan_mode", "sideways")))).Message);
        Assert.Contains("vlan id must be between 1-4094", (await Refused(Macvlan("x", $"{Subnet3}.0/24", ("parent", _parent + ".0")))).Message);
        Assert.Contains("unable to parse a valid vlan id", (await Refused(Macvlan("x", $"{Subnet3}.0/24", ("parent", _parent + ".x")))).Message);
        var vlan = await Refused(Macvlan("x", $"{Subnet3}.0/24", ("parent", _parent + ".10")));
        Assert.Equal(ErrorKind.InvalidArgument, vlan.Kind);
        Assert.Contains("802.1q VLAN devices are not available on this host", vlan.Message);
        Assert.False(TestNetwork.LinkExists(_parent + ".10"));

        // Several networks on one parent, as dockerd ≥ 28 allows; passthru only alone.
        await c.CreateNetworkAsync(Macvlan("p1", $"{Subnet3}.0/26", ("parent", _parent)), Ct);
        await c.CreateNetworkAsync(Macvlan("p2", $"{Subnet3}.64/26", ("parent", _parent), ("macvlan_mode", "vepa")), Ct);
        var passthru = await Refused(Macvlan("p3", $"{Subnet3}.128/26", ("parent", _parent), ("macvlan_mode", "passthru")));
        Assert.Equal(ErrorKind.Conflict, passthru.Kind);
        Assert.Contains("cannot use mode passthru", passthru.Message);
        await c.RemoveNetworkAsync("p1", Ct);
        await c.RemoveNetworkAsync("p2", Ct);
        Assert.True(TestNetwork.LinkExists(_parent));
    }
}
