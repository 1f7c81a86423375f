using System.Text.Json;
using Berth.Core;

namespace Berth.Network.Tests;

public sealed class NetworkControllerTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    private static string NewContainerId() => Ids.NewId();

    [Fact]
    public async Task PredefinedNetworks_HaveStableIds()
    {
        await using var net = new TestNetwork();
        var first = net.Controller.List();
        Assert.Equal(["bridge", "host", "none"], first.Select(n => n.Name));
        Assert.Equal(["bridge", "host", "null"], first.Select(n => n.Driver));
        Assert.All(first, n => Assert.Matches("^[0-9a-f]{64}$", n.Id));
        Assert.Equal($"{net.Prefix}.0/24", net.Controller.DefaultBridge.Subnet);
        Assert.Equal(net.Gateway, net.Controller.DefaultBridge.Gateway);

        var again = new NetworkController(net.Options).List();
        Assert.Equal(first.Select(n => n.Id), again.Select(n => n.Id));
        Assert.Same(net.Controller.DefaultBridge, net.Controller.Find(net.Controller.DefaultBridge.Id[..12]));
    }

    [Fact]
    public async Task Sandbox_IsBindMountedNamespace_WithLoopbackUp_AndRemovable()
    {
        await using var net = new TestNetwork();
        var id = NewContainerId();
        var path = await net.Controller.CreateSandboxAsync(id, Ct);
        Assert.Equal(Path.Combine(net.NetnsDir, id), path);

        var r = await TestNetwork.Run("nsenter", $"--net={path}", "ip", "-j", "link", "show", "lo");
        Assert.Equal(0, r.Code);
        Assert.Contains("\"UP\"", r.Out);
        // A different namespace from ours: it has nothing but lo.
        var links = await TestNetwork.Run("nsenter", $"--net={path}", "ip", "-j", "link");
        Assert.Single(JsonDocument.Parse(links.Out).RootElement.EnumerateArray());
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<BerthException>(() => net.Controller.CreateSandboxAsync(id, Ct))).Kind);

        await net.Controller.RemoveSandboxAsync(id, Ct);
        Assert.False(File.Exists(path));
        await net.Controller.RemoveSandboxAsync(id, Ct); // idempotent
    }

    [Fact]
    public async Task Connect_EndToEnd_Traffic_Firewall_Disconnect_Shutdown()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        await c.InitializeAsync([], Ct);
        Assert.True(TestNetwork.LinkExists(net.Options.BridgeName));

        var nft = await TestNetwork.Run("nft", "-j", "list", "table", "ip", net.Options.NftTablePrefix);
        Assert.Equal(0, nft.Code);
        Assert.Contains("masquerade", nft.Out);
        Assert.Contains($"{net.Prefix}.0", nft.Out);

        var a = NewContainerId();
        var b = NewContainerId();
        var nsA = await c.CreateSandboxAsync(a, Ct);
        var nsB = await c.CreateSandboxAsync(b, Ct);
        var epA = await c.ConnectAsync(a, nsA, "bridge", null, Ct);
        var epB = await c.ConnectAsync(b, nsB, "bridge", null, Ct);

        Assert.Equal($"{net.Prefix}.2", epA.IPv4);
        Assert.Equal($"{net.Prefix}.3", epB.IPv4);
        Assert.Equal(24, epA.PrefixLen);
        Assert.Equal(net.Gateway, epA.Gateway);
        Assert.Equal($"02:42:0a:d5:{int.Parse(net.Prefix.Split('.')[2], System.Globalization.CultureInfo.InvariantCulture):x2}:02", epA.MacAddress);
        Assert.Equal(c.DefaultBridge.Id, epA.NetworkId);
        Assert.Matches("^vb[0-9a-f]{10}$", epA.HostVeth);
        Assert.True(TestNetwork.LinkExists(epA.HostVeth));
        Assert.Equal(net.Options.BridgeName, Path.GetFileName(File.ResolveLinkTarget($"/sys/class/net/{epA.HostVeth}/master", false)!.FullName));

        var addr = await TestNetwork.Run("nsenter", $"--net={nsA}", "ip", "-j", "addr", "show", "eth0");
        Assert.Contains($"\"local\":\"{epA.IPv4}\"", addr.Out);
        Assert.Contains(epA.MacAddress, addr.Out);
        var route = await TestNetwork.Run("nsenter", $"--net={nsA}", "ip", "route", "show", "default");
        Assert.Contains($"default via {net.Gateway} dev eth0", route.Out);

        Assert.True(await TestNetwork.Ping(nsA, net.Gateway), "sandbox A cannot ping the gateway");
        Assert.True(await TestNetwork.Ping(null, epA.IPv4), "host cannot ping sandbox A");
        Assert.True(await TestNetwork.Ping(nsA, epB.IPv4), "sandbox A cannot ping sandbox B");
        Assert.True(await TestNetwork.Ping(nsB, epA.IPv4), "sandbox B cannot ping sandbox A");

        await c.DisconnectAsync(epA, Ct);
        Assert.False(TestNetwork.LinkExists(epA.HostVeth));
        var gone = await TestNetwork.Run("nsenter", $"--net={nsA}", "ip", "link", "show", "eth0");
        Assert.NotEqual(0, gone.Code);
        await c.DisconnectAsync(epA, Ct); // idempotent

        // The freed address is the lowest free one again.
        var epA2 = await c.ConnectAsync(a, nsA, "bridge", null, Ct);
        Assert.Equal(epA.IPv4, epA2.IPv4);

        await c.DisconnectAsync(epA2, Ct);
        await c.DisconnectAsync(epB, Ct);
        await c.RemoveSandboxAsync(a, Ct);
        await c.RemoveSandboxAsync(b, Ct);

        await c.ShutdownAsync(removeBridge: true, Ct);
        Assert.False(TestNetwork.LinkExists(net.Options.BridgeName));
        Assert.NotEqual(0, (await TestNetwork.Run("nft", "list", "table", "ip", net.Options.NftTablePrefix)).Code);
    }

    [Fact]
    public async Task Masquerade_LetsSandboxReachAnAddressWithNoRouteBack()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        await c.InitializeAsync([], Ct);
        // An "outside" host: a namespace on a /30 hanging off the host. It has no route to the container subnet,
        // so the sandbox's ping can only come back if it left masqueraded as the host's 10.214.x.1.
        var third = net.Prefix.Split('.')[2];
        var outsideNs = Path.Combine(net.Root, "outside-ns");
        var outsideLink = "bto" + net.Options.BridgeName[2..];
        File.Create(outsideNs).Dispose();
        try
        {
            Assert.Equal(0, (await TestNetwork.Run("unshare", $"--net={outsideNs}", "true")).Code);
            Assert.Equal(0, (await TestNetwork.Run("ip", "link", "add", outsideLink, "type", "veth", "peer", "name", "eth0", "netns", outsideNs)).Code);
            Assert.Equal(0, (await TestNetwork.Run("ip", "addr", "add", $"10.214.{third}.1/30", "dev", outsideLink)).Code);
            Assert.Equal(0, (await TestNetwork.Run("ip", "link", "set", outsideLink, "up")).Code);
            Assert.Equal(0, (await TestNetwork.Run("nsenter", $"--net={outsideNs}", "ip", "addr", "add", $"10.214.{third}.2/30", "dev", "eth0")).Code);
            Assert.Equal(0, (await TestNetwork.Run("nsenter", $"--net={outsideNs}", "ip", "link", "set", "eth0", "up")).Code);

            var id = NewContainerId();
            var ns = await c.CreateSandboxAsync(id, Ct);
            await c.ConnectAsync(id, ns, "bridge", null, Ct);
            Assert.True(await TestNetwork.Ping(ns, $"10.214.{third}.2"), "sandbox cannot reach the outside namespace through NAT");
        }
        finally
        {
            await TestNetwork.Run("ip", "link", "del", outsideLink);
            Berth.Core.Interop.Sys.Umount2(outsideNs, Berth.Core.Interop.Sys.MNT_DETACH);
        }
    }

    [Fact]
    public async Task Connect_RequestedIp_HonouredOrRejected()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        await c.InitializeAsync([], Ct);
        var a = NewContainerId();
        var b = NewContainerId();
        var nsA = await c.CreateSandboxAsync(a, Ct);
        var nsB = await c.CreateSandboxAsync(b, Ct);

        var ep = await c.ConnectAsync(a, nsA, "bridge", $"{net.Prefix}.77", Ct);
        Assert.Equal($"{net.Prefix}.77", ep.IPv4);
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<BerthException>(() => c.ConnectAsync(a, nsA, "bridge", null, Ct))).Kind);
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<BerthException>(() => c.ConnectAsync(b, nsB, "bridge", $"{net.Prefix}.77", Ct))).Kind);
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<BerthException>(() => c.ConnectAsync(b, nsB, "bridge", net.Gateway, Ct))).Kind);
        Assert.Equal(ErrorKind.InvalidArgument, (await Assert.ThrowsAsync<BerthException>(() => c.ConnectAsync(b, nsB, "bridge", "192.0.2.9", Ct))).Kind);
        Assert.Equal(ErrorKind.InvalidArgument, (await Assert.ThrowsAsync<BerthException>(() => c.ConnectAsync(b, nsB, "bridge", "not-an-ip", Ct))).Kind);
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<BerthException>(() => c.ConnectAsync(b, nsB, "nosuchnet", null, Ct))).Kind);
        Assert.Equal(ErrorKind.InvalidArgument, (await Assert.ThrowsAsync<BerthException>(() => c.ConnectAsync(b, nsB, "host", null, Ct))).Kind);

        // Failed attempts leave nothing behind: B gets the lowest address.
        var epB = await c.ConnectAsync(b, nsB, "bridge", null, Ct);
        Assert.Equal($"{net.Prefix}.2", epB.IPv4);

        // Removing a sandbox with an endpoint still connected frees its address and veth too.
        await c.RemoveSandboxAsync(a, Ct);
        Assert.False(TestNetwork.LinkExists(ep.HostVeth));
        var nsA2 = await c.CreateSandboxAsync(a, Ct);
        Assert.Equal(ep.IPv4, (await c.ConnectAsync(a, nsA2, "bridge", ep.IPv4, Ct)).IPv4);
    }

    [Fact]
    public async Task Connect_ManyInParallel_DistinctAddresses()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        await c.InitializeAsync([], Ct);
        var ids = Enumerable.Range(0, 12).Select(_ => NewContainerId()).ToList();
        var eps = await Task.WhenAll(ids.Select(async id =>
        {
            var ns = await c.CreateSandboxAsync(id, Ct);
            return await c.ConnectAsync(id, ns, "bridge", null, Ct);
        }));
        Assert.Equal(12, eps.Select(e => e.IPv4).Distinct().Count());
        AssertAllThreadsInOurNamespace();
        Assert.Equal(Enumerable.Range(2, 12).Select(i => $"{net.Prefix}.{i}").Order(), eps.Select(e => e.IPv4).Order());
        Assert.All(eps, e => Assert.True(TestNetwork.LinkExists(e.HostVeth)));

        await Task.WhenAll(eps.Select(async e =>
        {
            await c.DisconnectAsync(e, Ct);
            await c.RemoveSandboxAsync(e.ContainerId, Ct);
        }));
        Assert.All(eps, e => Assert.False(TestNetwork.LinkExists(e.HostVeth)));
        AssertAllThreadsInOurNamespace();
    }

    /// <summary>
    /// Namespace work runs on threads that return home: no thread of this process may be left in a sandbox. The
    /// dedicated namespace threads (berth-netns) are where that work happens, for other test classes running in
    /// parallel too; every other thread must be home.
    /// </summary>
    private static void AssertAllThreadsInOurNamespace()
    {
        var ours = new FileInfo("/proc/self/ns/net").LinkTarget;
        Assert.StartsWith("net:[", ours);
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string? ns, name;
            try
            {
                name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                ns = new FileInfo(Path.Combine(task, "ns", "net")).LinkTarget;
            }
            catch (IOException) { continue; } // the thread exited meanwhile
            catch (UnauthorizedAccessException) { continue; }
            if (ns is null || name == "berth-netns") continue;
            Assert.True(ns == ours, $"thread {Path.GetFileName(task)} ({name}) is in {ns}, not in {ours}");
        }
    }

    [Fact]
    public async Task Connect_FailureReleasesAddress()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        await c.InitializeAsync([], Ct);
        var a = NewContainerId();
        var missing = Path.Combine(net.Root, "no-such-netns");
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<BerthException>(() => c.ConnectAsync(a, missing, "bridge", null, Ct))).Kind);
        // A file that is not a namespace: the kernel refuses it, nothing stays behind.
        var notNs = Path.Combine(net.Root, "plain-file");
        File.WriteAllText(notNs, "");
        await Assert.ThrowsAsync<BerthException>(() => c.ConnectAsync(a, notNs, "bridge", null, Ct));
        var ports = await TestNetwork.Run("ip", "-j", "link", "show", "master", net.Options.BridgeName);
        Assert.Equal("[]", ports.Out.Trim());

        var ns = await c.CreateSandboxAsync(a, Ct);
        var ep = await c.ConnectAsync(a, ns, "bridge", null, Ct);
        Assert.Equal($"{net.Prefix}.2", ep.IPv4);
    }

    [Fact]
    public async Task NotInitialized_ConnectIsUnavailable_ShutdownWithoutRemoveKeepsBridge()
    {
        await using var net = new TestNetwork();
        var c = net.Controller;
        var a = NewContainerId();
        var ns = await c.CreateSandboxAsync(a, Ct);
        Assert.Equal(ErrorKind.Unavailable, (await Assert.ThrowsAsync<BerthException>(() => c.ConnectAsync(a, ns, "bridge", null, Ct))).Kind);
        await c.InitializeAsync([], [a], Ct);
        Assert.True(File.Exists(ns));
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<BerthException>(() => c.InitializeAsync([], Ct))).Kind);
        await c.ShutdownAsync(removeBridge: false, Ct);
        Assert.True(TestNetwork.LinkExists(net.Options.BridgeName));
        Assert.Equal(0, (await TestNetwork.Run("nft", "list", "table", "ip", net.Options.NftTablePrefix)).Code);
    }

    [Fact]
    public async Task Initialize_ReconcilesOrphans_AndKeepsLiveEndpoints()
    {
        await using var net = new TestNetwork();
        // "Before the kill -9": two containers connected, one sandbox-only container.
        var before = net.Controller;
        await before.InitializeAsync([], Ct);
        var live = NewContainerId();
        var orphan = NewContainerId();
        var noneNet = NewContainerId();
        var nsLive = await before.CreateSandboxAsync(live, Ct);
        var nsOrphan = await before.CreateSandboxAsync(orphan, Ct);
        var nsNone = await before.CreateSandboxAsync(noneNet, Ct);
        var epLive = await before.ConnectAsync(live, nsLive, "bridge", null, Ct);
        var epOrphan = await before.ConnectAsync(orphan, nsOrphan, "bridge", null, Ct);

        // An orphan veth whose namespace survives (someone holds it): only reconcile can remove it.
        var held = NewContainerId();
        var nsHeld = await before.CreateSandboxAsync(held, Ct);
        var epHeld = await before.ConnectAsync(held, nsHeld, "bridge", null, Ct);
        var keepAlive = Path.Combine(net.Root, "held-ns");
        File.Create(keepAlive).Dispose();
        Berth.Core.Interop.Sys.CheckIo(Berth.Core.Interop.Sys.Mount(nsHeld, keepAlive, null, Berth.Core.Interop.Sys.MS_BIND, null), "bind netns");
        try
        {
            var after = new NetworkController(net.Options);
            await after.InitializeAsync([epLive], [noneNet], Ct);

            Assert.True(File.Exists(nsLive));
            Assert.True(File.Exists(nsNone));
            Assert.False(File.Exists(nsOrphan));
            Assert.False(File.Exists(nsHeld));
            Assert.True(TestNetwork.LinkExists(epLive.HostVeth));
            Assert.False(TestNetwork.LinkExists(epHeld.HostVeth));
            // Kernel teardown of a dead namespace is asynchronous; give its veth a bounded moment.
            for (int i = 0; i < 50 && TestNetwork.LinkExists(epOrphan.HostVeth); i++) await Task.Delay(100);
            Assert.False(TestNetwork.LinkExists(epOrphan.HostVeth));

            // IPAM was rebuilt from the live endpoint: its address is taken, the orphans' are free again.
            Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<BerthException>(() => after.ConnectAsync(noneNet, nsNone, "bridge", epLive.IPv4, Ct))).Kind);
            var ep = await after.ConnectAsync(noneNet, nsNone, "bridge", null, Ct);
            Assert.Equal(epOrphan.IPv4, ep.IPv4);
            Assert.True(await TestNetwork.Ping(nsNone, epLive.IPv4));

            await after.ShutdownAsync(removeBridge: true, Ct);
            Assert.False(TestNetwork.LinkExists(net.Options.BridgeName));
        }
        finally
        {
            Berth.Core.Interop.Sys.Umount2(keepAlive, Berth.Core.Interop.Sys.MNT_DETACH);
        }
    }
}
