using System.Net;
using System.Net.Sockets;
using Berth.Core;
using Berth.Network.Firewall;
using Berth.Network.Ports;

namespace Berth.Network.Tests;

public sealed class PortRequestTests
{
    private static IReadOnlyList<PortRequest> Parse(string key, params (string? Ip, string? Port)[] bindings) =>
        PortRequests.Parse([new(key, bindings.Length == 0 ? null : bindings.ToList())], [key], publishAll: false);

    [Fact]
    public void Binding_WithAddressAndPort()
    {
        var r = Assert.Single(Parse("80/tcp", ("127.0.0.1", "8080")));
        Assert.Equal(new PortRequest { ContainerPort = 80, Proto = "tcp", HostIp = "127.0.0.1", HostPortStart = 8080, HostPortEnd = 8080 }, r);
        Assert.Equal("80/tcp", r.Key);
    }

    [Fact]
    public void EmptyHostPortAndAnyAddress_MeanRandomOnEveryAddress()
    {
        var r = Assert.Single(Parse("53/udp", ("0.0.0.0", "")));
        Assert.Equal(("", 0, 0, "udp"), (r.HostIp, r.HostPortStart, r.HostPortEnd, r.Proto));
        // A key without bindings still publishes one random port, as dockerd does.
        Assert.Equal(0, Assert.Single(Parse("80")).HostPortStart);
    }

    [Fact]
    public void HostRange_IsKept_ForThePicker()
    {
        var r = Assert.Single(Parse("80/tcp", (null, "8000-8010")));
        Assert.Equal((8000, 8010), (r.HostPortStart, r.HostPortEnd));
    }

    [Fact]
    public void PublishAll_AddsEveryExposedPortWithoutBinding()
    {
        var list = PortRequests.Parse([new("80/tcp", [("", "8080")])], ["80/tcp", "443/tcp", "53/udp"], publishAll: true);
        Assert.Equal(["80/tcp", "443/tcp", "53/udp"], list.Select(r => r.Key));
        Assert.Equal([8080, 0, 0], list.Select(r => r.HostPortStart));
        Assert.Empty(PortRequests.Parse(null, ["80/tcp"], publishAll: false));
    }

    [Fact]
    public void AnSctpPortMayBeExposed_ButNotPublished()
    {
        // An image with EXPOSE 9/sctp runs; publishing it (by binding or -P) is refused with a clear message.
        Assert.Empty(PortRequests.Parse(null, ["9/sctp", "80/tcp"], publishAll: false));
        foreach (var publish in new Action[]
        {
            () => PortRequests.Parse(null, ["9/sctp"], publishAll: true),
            () => Parse("9/sctp", (null, "9000")),
        })
        {
            var e = Assert.Throws<BerthException>(publish);
            Assert.Equal("invalid port specification: \"9/sctp\": sctp is not supported", e.Message);
        }
        Assert.Equal("invalid proto: sctpx", Assert.Throws<BerthException>(() => PortRequests.Parse(null, ["9/sctpx"], publishAll: false)).Message);
    }

    [Theory]
    [InlineData("70000/tcp", null, null, "invalid port specification: \"70000\"")]
    [InlineData("80/sctpx", null, null, "invalid proto: sctpx")]
    [InlineData("x/tcp", null, null, "invalid port specification: \"x\"")]
    [InlineData("80/tcp", null, "70000", "invalid port specification: \"70000\"")]
    [InlineData("80/tcp", null, "90-80", "invalid port specification: \"90-80\"")]
    [InlineData("80/tcp", "1.2.3", "8080", "invalid IP address: 1.2.3")]
    [InlineData("80/tcp", "localhost", "8080", "invalid IP address: localhost")]
    public void BadInput_IsInvalidArgument_WithDockersMessage(string key, string? ip, string? port, string message)
    {
        var e = Assert.Throws<BerthException>(() => Parse(key, (ip, port)));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        Assert.StartsWith(message, e.Message);
    }
}

public sealed class NftPortRulesTests
{
    private static PublishedPort Port(string ep, string hostIp, int hostPort, string cip, int cport, string proto = "tcp") => new()
    {
        EndpointId = ep, Proto = proto, HostIp = hostIp, HostPort = hostPort, ContainerIp = cip, ContainerPort = cport,
        Bridge = "berth0", Subnet = "172.18.0.0/16",
    };

    [Fact]
    public void RendersGoldenRuleset_WithPorts()
    {
        var text = NftRuleset.Render("berth", [new BridgeFirewallConfig { BridgeName = "berth0", Subnet = Ipam.Ipv4Cidr.Parse("172.18.0.1/16", out _) }],
            [Port("b", "0.0.0.0", 32768, "172.18.0.3", 80), Port("a", "127.0.0.1", 8080, "172.18.0.2", 80), Port("a", "0.0.0.0", 5353, "172.18.0.2", 53, "udp")]);
        var golden = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", "bridge-ports.nft"));
        Assert.Equal(golden, text);
    }

    [Fact]
    public void NoPorts_NoNatChains()
    {
        var text = NftRuleset.Render("t", [new BridgeFirewallConfig { BridgeName = "b0", Subnet = Ipam.Ipv4Cidr.Parse("10.0.0.1/24", out _) }], []);
        Assert.DoesNotContain("dnat", text);
        Assert.DoesNotContain("port-prerouting", text);
    }
}

public sealed class PortMapperTests
{
    private sealed class RecordingFirewall : IFirewall
    {
        public Dictionary<string, IReadOnlyList<PublishedPort>> Ports { get; } = [];
        public bool FailNextAdd { get; set; }
        public Task AddNetworkAsync(BridgeFirewallConfig network, CancellationToken ct) => Task.CompletedTask;
        public Task RemoveNetworkAsync(string bridgeName, CancellationToken ct) => Task.CompletedTask;
        public Task RemoveAllAsync(CancellationToken ct) => Task.CompletedTask;
        public void SeedPorts(IEnumerable<KeyValuePair<string, IReadOnlyList<PublishedPort>>> ports) { foreach (var (k, v) in ports) Ports[k] = v; }
        public Task RemovePortsAsync(string endpointId, CancellationToken ct) { Ports.Remove(endpointId); return Task.CompletedTask; }
        public Task AddPortsAsync(string endpointId, IReadOnlyList<PublishedPort> ports, CancellationToken ct)
        {
            if (FailNextAdd) { FailNextAdd = false; throw new BerthException(ErrorKind.Unknown, "nft failed"); }
            Ports[endpointId] = ports;
            return Task.CompletedTask;
        }
    }

    private static EndpointRecord Endpoint(string ip = "10.1.2.3") => new()
    {
        ContainerId = Ids.NewId(), Network = "bridge", NetworkId = Ids.NewId(), EndpointId = Ids.NewId(), IPv4 = ip, PrefixLen = 24,
        Gateway = "10.1.2.1", MacAddress = "02:42:0a:01:02:03", HostVeth = "vb0123456789",
    };

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static bool CanListen(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// A port given back can be listened on again. Tests of other classes run alongside and make loopback connections,
    /// whose source port may briefly be this one: a few tries, about a second in all, before it counts as still held.
    /// </summary>
    private static async Task<bool> FreedAsync(int port)
    {
        for (int i = 0; i < 20; i++)
        {
            if (CanListen(port)) return true;
            await Task.Delay(50);
        }
        return false;
    }

    // No bridge here: the mapper is given a no-op instead of setting route_localnet on it.
    private const string Bridge = "test0";

    [Fact]
    public async Task Publish_ReservesThePort_UntilUnpublish()
    {
        var fw = new RecordingFirewall();
        var mapper = new PortMapper(fw, (_, _) => { });
        var ep = Endpoint();
        int port = FreePort();
        var ports = await mapper.PublishAsync(ep, Bridge, "10.1.2.0/24",
            [new PortRequest { ContainerPort = 80, Proto = "tcp", HostIp = "127.0.0.1", HostPortStart = port, HostPortEnd = port }], default);
        var p = Assert.Single(ports);
        Assert.Equal(("127.0.0.1", port, "10.1.2.3", 80), (p.HostIp, p.HostPort, p.ContainerIp, p.ContainerPort));
        Assert.Same(ports, fw.Ports[ep.EndpointId]);
        Assert.False(CanListen(port));

        await mapper.UnpublishAsync(ep.EndpointId, default);
        Assert.Empty(fw.Ports);
        Assert.True(await FreedAsync(port));
    }

    [Fact]
    public async Task PortInUse_IsConflict_AndNothingIsKept()
    {
        var fw = new RecordingFirewall();
        var mapper = new PortMapper(fw, (_, _) => { });
        int free = FreePort();
        using var busy = new TcpListener(IPAddress.Any, 0);
        busy.Start();
        int taken = ((IPEndPoint)busy.LocalEndpoint).Port;

        var e = await Assert.ThrowsAsync<BerthException>(() => mapper.PublishAsync(Endpoint(), Bridge, "10.1.2.0/24",
        [
            new PortRequest { ContainerPort = 80, Proto = "tcp", HostIp = "127.0.0.1", HostPortStart = free, HostPortEnd = free },
            new PortRequest { ContainerPort = 81, Proto = "tcp", HostPortStart = taken, HostPortEnd = taken },
        ], default));
        Assert.Equal(ErrorKind.Conflict, e.Kind);
        Assert.Equal($"Bind for 0.0.0.0:{taken} failed: port is already allocated", e.Message);
        Assert.Empty(fw.Ports);
        Assert.True(await FreedAsync(free)); // the first port, reserved before the failure, was given back
    }

    [Fact]
    public async Task FirewallFailure_GivesThePortsBack()
    {
        var fw = new RecordingFirewall { FailNextAdd = true };
        var mapper = new PortMapper(fw, (_, _) => { });
        int port = FreePort();
        var ep = Endpoint();
        await Assert.ThrowsAsync<BerthException>(() => mapper.PublishAsync(ep, Bridge, "10.1.2.0/24",
            [new PortRequest { ContainerPort = 80, Proto = "tcp", HostIp = "127.0.0.1", HostPortStart = port, HostPortEnd = port }], default));
        Assert.True(await FreedAsync(port));
        // And the endpoint may publish again.
        var again = await mapper.PublishAsync(ep, Bridge, "10.1.2.0/24",
            [new PortRequest { ContainerPort = 80, Proto = "tcp", HostIp = "127.0.0.1", HostPortStart = port, HostPortEnd = port }], default);
        Assert.Single(again);
        await mapper.UnpublishAsync(ep.EndpointId, default);
    }

    [Fact]
    public async Task RandomPorts_ComeFromTheEphemeralRange_AndDiffer()
    {
        var fw = new RecordingFirewall();
        var mapper = new PortMapper(fw, (_, _) => { });
        var (lo, hi) = PortMapper.EphemeralRange();
        var ep = Endpoint();
        var ports = await mapper.PublishAsync(ep, Bridge, "10.1.2.0/24",
        [
            new PortRequest { ContainerPort = 80, Proto = "tcp", HostIp = "127.0.0.1" },
            new PortRequest { ContainerPort = 443, Proto = "tcp", HostIp = "127.0.0.1" },
            new PortRequest { ContainerPort = 53, Proto = "udp", HostIp = "127.0.0.1" },
        ], default);
        Assert.All(ports, p => Assert.InRange(p.HostPort, lo, hi));
        Assert.NotEqual(ports[0].HostPort, ports[1].HostPort);
        Assert.False(CanListen(ports[0].HostPort));
        await mapper.UnpublishAsync(ep.EndpointId, default);
    }

    [Fact]
    public async Task HostRange_PicksAFreePortOfTheRange()
    {
        var fw = new RecordingFirewall();
        var mapper = new PortMapper(fw, (_, _) => { });
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int taken = ((IPEndPoint)busy.LocalEndpoint).Port;
        var ep = Endpoint();
        // The range starts at the busy port; the picker moves on (or wraps) to another port of the range.
        int end = Math.Min(taken + 20, 65535);
        var p = Assert.Single(await mapper.PublishAsync(ep, Bridge, "10.1.2.0/24",
            [new PortRequest { ContainerPort = 80, Proto = "tcp", HostIp = "127.0.0.1", HostPortStart = taken, HostPortEnd = end }], default));
        Assert.InRange(p.HostPort, taken + 1, end);
        await mapper.UnpublishAsync(ep.EndpointId, default);
    }
}

public sealed class PublishedPortsControllerTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    private static async Task<string> Table(TestNetwork net) =>
        (await TestNetwork.Run("nft", "list", "table", "ip", net.Options.NftTablePrefix)).Out;

    [Fact]
    public async Task Ports_FollowTheirEndpoint_AndOnlyLiveOnesSurviveARestart()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        await c.InitializeAsync([], Ct);
        var id = Ids.NewId();
        var ns = await c.CreateSandboxAsync(id, Ct);
        var ep = await c.ConnectAsync(id, ns, "bridge", (string?)null, Ct);

        var ports = await c.PublishPortsAsync(ep, [new PortRequest { ContainerPort = 80, Proto = "tcp", HostIp = "127.0.0.1" }], Ct);
        var p = Assert.Single(ports);
        Assert.Equal((net.Options.BridgeName, $"{net.Prefix}.0/24", ep.IPv4), (p.Bridge, p.Subnet, p.ContainerIp));
        Assert.Contains($"ip daddr 127.0.0.1 tcp dport {p.HostPort} dnat to {ep.IPv4}:80", await Table(net));
        Assert.Equal("1", File.ReadAllText($"/proc/sys/net/ipv4/conf/{net.Options.BridgeName}/route_localnet").Trim());
        Assert.Equal("1", File.ReadAllText($"/sys/class/net/{ep.HostVeth}/brport/hairpin_mode").Trim());

        // A daemon restart that re-adopts the container keeps its rules (seeded before the first apply)...
        var again = new NetworkController(net.Options);
        again.RestorePorts(ports);
        await again.InitializeAsync([ep], [id], Ct);
        Assert.Contains($"dport {p.HostPort} dnat to {ep.IPv4}:80", await Table(net));

        // ...and one after which the container is gone drops them.
        await c.DisconnectAsync(ep, Ct);
        var third = new NetworkController(net.Options);
        await third.InitializeAsync([], Ct);
        Assert.DoesNotContain("dnat", await Table(net));
        await c.RemoveSandboxAsync(id, Ct);
    }

    [Fact]
    public async Task Disconnect_RemovesTheRules_AndFreesThePort()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        await c.InitializeAsync([], Ct);
        var id = Ids.NewId();
        var ns = await c.CreateSandboxAsync(id, Ct);
        var ep = await c.ConnectAsync(id, ns, "bridge", (string?)null, Ct);
        var p = Assert.Single(await c.PublishPortsAsync(ep, [new PortRequest { ContainerPort = 53, Proto = "udp" }], Ct));
        Assert.Contains($"udp dport {p.HostPort} dnat to {ep.IPv4}:53", await Table(net));
        Assert.Contains($"ip daddr {ep.IPv4} udp dport 53 ct status dnat accept", await Table(net));

        await c.RemoveSandboxAsync(id, Ct); // disconnects the endpoint, and its ports with it
        Assert.DoesNotContain("dnat", await Table(net));
        using var u = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Any, p.HostPort));
    }
}
