using System.Net;
using System.Net.Sockets;
using Berth.Core;

namespace Berth.Network.Tests;

/// <summary>
/// A container's exit path (<see cref="NetworkController.ReleaseSandboxAsync"/>): what a next container needs is free
/// when it returns; the veths are deleted after, and an address comes back only with its link gone.
/// </summary>
public sealed class ReleaseSandboxTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Release_FreesPortsNamesAndSandboxAtOnce_LinksAndAddressesAfter()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        await c.InitializeAsync([], Ct);
        var a = Ids.NewId();
        var nsA = await c.CreateSandboxAsync(a, Ct);
        var ep = await c.ConnectAsync(a, nsA, "bridge", null, Ct);
        int port = FreePort();
        await c.PublishPortsAsync(ep, [new PortRequest { ContainerPort = 80, Proto = "tcp", HostIp = "127.0.0.1", HostPortStart = port, HostPortEnd = port }], Ct);
        Assert.False(PortFree(port));

        await c.ReleaseSandboxAsync(a, [ep], Ct);
        Assert.True(PortFree(port));
        Assert.False(File.Exists(nsA));
        Assert.DoesNotContain(c.EndpointsOn(c.DefaultBridge.Id), e => e.ContainerId == a);

        // The same container starts again at once: a new sandbox and a new endpoint, no conflict with the old one.
        var nsA2 = await c.CreateSandboxAsync(a, Ct);
        var ep2 = await c.ConnectAsync(a, nsA2, "bridge", null, Ct);
        Assert.NotEqual(ep.HostVeth, ep2.HostVeth);
        Assert.True(TestNetwork.LinkExists(ep2.HostVeth));

        await c.WhenReleasedAsync(a);
        Assert.False(TestNetwork.LinkExists(ep.HostVeth));
        await c.ReleaseSandboxAsync(a, [ep2], Ct);
        await c.WhenAllReleasedAsync();
        Assert.False(TestNetwork.LinkExists(ep2.HostVeth));
        // Both addresses are back: the next container gets the lowest.
        var b = Ids.NewId();
        var epB = await c.ConnectAsync(b, await c.CreateSandboxAsync(b, Ct), "bridge", null, Ct);
        Assert.Equal($"{net.Prefix}.2", epB.IPv4);
        await c.RemoveSandboxAsync(b, Ct);
    }

    [Fact]
    public async Task RequestedAddress_OfAContainerJustReleased_WaitsForItsLink_ThenIsGiven()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        await c.InitializeAsync([], Ct);
        var a = Ids.NewId();
        var ep = await c.ConnectAsync(a, await c.CreateSandboxAsync(a, Ct), "bridge", null, Ct);

        await c.ReleaseSandboxAsync(a, [ep], Ct);
        var b = Ids.NewId();
        var epB = await c.ConnectAsync(b, await c.CreateSandboxAsync(b, Ct), "bridge", ep.IPv4, Ct);
        Assert.Equal(ep.IPv4, epB.IPv4);
        // Never two links for one address: the old one was gone before the address was handed out again.
        Assert.False(TestNetwork.LinkExists(ep.HostVeth));
        await c.RemoveSandboxAsync(b, Ct);
        Assert.False(TestNetwork.LinkExists(epB.HostVeth));
    }

    private static bool PortFree(int port)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            s.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
