using System.Security.Cryptography;

namespace Berth.Integration.Tests;

/// <summary>
/// The macvlan driver with the real docker CLI on a real kernel. The parent is one end of a veth pair each test makes
/// (bm&lt;6 hex&gt;a/b, both up: a veth end has carrier only while its peer is up) and removes in DisposeAsync, also
/// after a failure. Each test uses a subnet no other test does (10.246.x.0/24).
/// </summary>
public sealed class MacvlanTests(DaemonFixture d) : IClassFixture<DaemonFixture>, IAsyncLifetime
{
    private readonly string _parent = $"bm{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}a";
    private string Peer => _parent[..^1] + "b";

    public async Task InitializeAsync()
    {
        var r = await d.ShellAsync($"ip link add {_parent} type veth peer name {Peer} && ip link set {_parent} up && ip link set {Peer} up");
        Assert.True(r.ExitCode == 0, $"making the veth pair {_parent}/{Peer}: {r}");
    }

    public async Task DisposeAsync()
    {
        // Deleting one end deletes its peer.
        await d.RunAsync("ip", ["link", "del", _parent], null);
    }

    private async Task<string> Ok(params string[] args)
    {
        var r = await d.DockerAsync(args);
        Assert.True(r.ExitCode == 0, $"docker {string.Join(' ', args)}: {r}\n{d.DaemonLog}");
        return r.Stdout.Trim();
    }

    private async Task Remove(string[] containers, string[] networks)
    {
        foreach (var c in containers) await d.DockerAsync("rm", "-f", c);
        foreach (var n in networks) await d.DockerAsync("network", "rm", n);
    }

    /// <summary>Every macvlan link in the host's namespace whose lower device is the test's parent.</summary>
    private async Task<string> MacvlanChildren()
    {
        var r = await d.ShellAsync($"ip -d -o link show type macvlan | grep -F '@{_parent}:' || true");
        return r.Stdout.Trim();
    }

    /// <summary>`ip -d link show IFACE` in the container's sandbox, with the host's iproute2 (busybox's ip has no -d).</summary>
    private async Task<string> SandboxLink(string container, string iface)
    {
        var id = await Ok("inspect", "-f", "{{.Id}}", container);
        var r = await d.RunAsync("nsenter", [$"--net={Path.Combine(d.ExecRoot, "netns", id)}", "ip", "-d", "link", "show", iface], null);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout;
    }

    /// <summary>How many upper devices (macvlan ports) hold the parent in promiscuous mode: a veth has no unicast filter.</summary>
    private async Task<int> ParentPromiscuity()
    {
        var r = await d.ShellAsync($"ip -d -o link show {_parent} | grep -o 'promiscuity [0-9]*' | cut -d' ' -f2");
        return int.Parse(r.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task TwoContainersReachEachOtherByAddressAndName()
    {
        string[] containers = ["mva", "mvb"];
        try
        {
            var id = await Ok("network", "create", "-d", "macvlan", "--subnet", "10.246.11.0/24", "--gateway", "10.246.11.1",
                "-o", $"parent={_parent}", "mvn");
            await Ok("run", "-d", "--name", "mva", "--network", "mvn", "busybox", "sleep", "300");
            await Ok("run", "-d", "--name", "mvb", "--network", "mvn", "--ip", "10.246.11.77", "busybox", "sleep", "300");

            // eth0 is a macvlan port of the parent, in bridge mode by default, with the address and route IPAM gave.
            var link = await SandboxLink("mva", "eth0");
            Assert.Contains("macvlan mode bridge", link);
            var ipA = await Ok("inspect", "-f", "{{(index .NetworkSettings.Networks \"mvn\").IPAddress}}", "mva");
            Assert.StartsWith("10.246.11.", ipA);
            Assert.Contains("10.246.11.77/24", await Ok("exec", "mvb", "ip", "-o", "-4", "addr", "show", "eth0"));
            Assert.Contains("default via 10.246.11.1 dev eth0", await Ok("exec", "mva", "ip", "route"));
            Assert.True(await ParentPromiscuity() > 0, "the parent should carry the containers' macvlan ports");

            Assert.Contains("1 packets received", await Ok("exec", "mva", "ping", "-c", "1", "-W", "2", "10.246.11.77"));
            Assert.Contains("1 packets received", await Ok("exec", "mvb", "ping", "-c", "1", "-W", "2", ipA));
            // Names through the embedded DNS, as on user bridges.
            Assert.Contains("nameserver 127.0.0.11", await Ok("exec", "mva", "cat", "/etc/resolv.conf"));
            var byName = await Ok("exec", "mva", "ping", "-c", "1", "-W", "2", "mvb");
            Assert.Contains("(10.246.11.77)", byName);
            Assert.Contains("1 packets received", byName);

            // inspect: the driver, its options, the IPAM config, the containers.
            Assert.Equal("macvlan", await Ok("network", "inspect", "-f", "{{.Driver}}", "mvn"));
            Assert.Equal(_parent, await Ok("network", "inspect", "-f", "{{index .Options \"parent\"}}", "mvn"));
            Assert.Equal("10.246.11.0/24 10.246.11.1", await Ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "mvn"));
            var members = await Ok("network", "inspect", "-f", "{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}", "mvn");
            Assert.Contains($"mva={ipA}/24", members);
            Assert.Contains("mvb=10.246.11.77/24", members);
            Assert.Equal("mvn", await Ok("network", "ls", "--filter", "driver=macvlan", "--format", "{{.Name}}"));

            var rm = await d.DockerAsync("network", "rm", "mvn");
            Assert.NotEqual(0, rm.ExitCode);
            Assert.Contains("active endpoints", rm.Stderr);
            var status = await d.RunAsync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", d.Socket, "-X", "DELETE",
                $"http://berth/networks/{id}"], null);
            Assert.Equal("409", status.Stdout.Trim());

            await Ok("rm", "-f", "mva", "mvb");
            await Ok("network", "rm", "mvn");
            Assert.Equal("", await MacvlanChildren());
            Assert.Equal(0, await ParentPromiscuity());
            Assert.True(Directory.Exists($"/sys/class/net/{_parent}"), "the user's parent must outlive the network");
            Assert.Empty(Directory.Exists(Path.Combine(d.ExecRoot, "netns")) ? Directory.GetFiles(Path.Combine(d.ExecRoot, "netns")) : []);
        }
        finally
        {
            await Remove(containers, ["mvn"]);
        }
    }

    [Fact]
    public async Task InternalNetworkHasNoDefaultRouteAndDisconnectRemovesThePort()
    {
        try
        {
            // berth's CLI sends the same create.
            var created = await d.BerthAsync("network", "create", "-d", "macvlan", "--internal", "--subnet", "10.246.12.0/24", "--gateway", "10.246.12.1",
                "-o", $"parent={_parent}", "-o", "macvlan_mode=private", "mvi");
            Assert.True(created.ExitCode == 0, created.ToString());
            var refused = await d.BerthAsync("network", "create", "-d", "macvlan", "--subnet", "10.246.15.0/24", "mvi2");
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("-o parent=IFACE is required", refused.Stderr);
            await Ok("run", "-d", "--name", "mvic", "busybox", "sleep", "300");
            // Live connect of a default-bridge container: a second interface, a macvlan port in the mode asked for.
            await Ok("network", "connect", "mvi", "mvic");
            Assert.Contains("macvlan mode private", await SandboxLink("mvic", "eth1"));
            Assert.DoesNotContain("10.246.12.1", await Ok("exec", "mvic", "ip", "route"));
            Assert.Equal("private", await Ok("network", "inspect", "-f", "{{index .Options \"macvlan_mode\"}}", "mvi"));
            Assert.Equal("true", await Ok("network", "inspect", "-f", "{{.Internal}}", "mvi"));
            Assert.True(await ParentPromiscuity() > 0);

            await Ok("network", "disconnect", "mvi", "mvic");
            Assert.DoesNotContain("eth1", await Ok("exec", "mvic", "ip", "-o", "link"));
            Assert.Equal(0, await ParentPromiscuity());
        }
        finally
        {
            await Remove(["mvic"], ["mvi"]);
        }
        Assert.Equal("", await MacvlanChildren());
    }

    [Fact]
    public async Task LinksAreGoneAfterADaemonRestart()
    {
        try
        {
            await Ok("network", "create", "-d", "macvlan", "--subnet", "10.246.13.0/24", "-o", $"parent={_parent}", "mvr");
            await Ok("run", "-d", "--name", "mvrc", "--network", "mvr", "busybox", "sleep", "300");
            await Ok("run", "-d", "--name", "mvrk", "--network", "mvr", "busybox", "sleep", "300");
            var keptIp = await Ok("inspect", "-f", "{{(index .NetworkSettings.Networks \"mvr\").IPAddress}}", "mvrk");
            // No --gateway: dockerd gives a macvlan network none, and the container no default route.
            Assert.Equal("", await Ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "mvr"));
            Assert.DoesNotContain("default", await Ok("exec", "mvrc", "ip", "route"));
            Assert.True(await ParentPromiscuity() > 0);

            // The container dies while the daemon is away (killed with it): the next start reconciles its sandbox,
            // and the macvlan port in it, away.
            var pid = await Ok("inspect", "-f", "{{.State.Pid}}", "mvrc");
            await d.KillDaemonAsync();
            await d.RunAsync("kill", ["-9", pid], null);
            for (int i = 0; i < 100 && Directory.Exists($"/proc/{pid}"); i++) await Task.Delay(50);
            await d.StartDaemonAsync();
            for (int i = 0; i < 100 && (await Ok("network", "inspect", "-f", "{{len .Containers}}", "mvr")) != "1"; i++) await Task.Delay(50);
            Assert.Equal("exited", await Ok("inspect", "-f", "{{.State.Status}}", "mvrc"));
            // The live-restored container keeps its port, its address and its place on the network...
            Assert.Contains($"{keptIp}/24", await Ok("exec", "mvrk", "ip", "-o", "-4", "addr", "show", "eth0"));
            Assert.Equal("mvrk", await Ok("network", "inspect", "-f", "{{range .Containers}}{{.Name}}{{end}}", "mvr"));
            Assert.True(await ParentPromiscuity() > 0);
            // ...while the dead one's sandbox, and the port in it, are gone.
            var deadId = await Ok("inspect", "-f", "{{.Id}}", "mvrc");
            Assert.False(File.Exists(Path.Combine(d.ExecRoot, "netns", deadId)), "the dead container's sandbox is left");
            Assert.Equal("mvr", await Ok("network", "ls", "--filter", "driver=macvlan", "--format", "{{.Name}}"));
            await Ok("rm", "-f", "mvrk");
            Assert.Equal(0, await ParentPromiscuity());
            await Ok("network", "rm", "mvr");
            Assert.Equal("", await MacvlanChildren());
        }
        finally
        {
            await Remove(["mvrc", "mvrk"], ["mvr"]);
        }
    }

    [Theory]
    [InlineData("", "-o parent=IFACE is required")]
    [InlineData("parent=bmnosuch0", "-o parent interface was not found on the host: bmnosuch0")]
    [InlineData("parent=PARENT.10", "802.1q VLAN devices are not available on this host")]
    [InlineData("parent=PARENT.5000", "vlan id must be between 1-4094")]
    [InlineData("macvlan_mode=sideways", "requested macvlan mode 'sideways' is not valid")]
    [InlineData("parent=lo", "loopback interface is not a valid macvlan parent link")]
    public async Task BadInputIsRefused(string option, string message)
    {
        option = option.Replace("PARENT", _parent, StringComparison.Ordinal);
        var args = new List<string> { "network", "create", "-d", "macvlan", "--subnet", "10.246.14.0/24" };
        if (option.Length > 0) args.AddRange(["-o", option]);
        if (!option.StartsWith("parent=", StringComparison.Ordinal) && option.Length > 0) args.AddRange(["-o", $"parent={_parent}"]);
        args.Add("mvbad");
        var r = await d.DockerAsync([.. args]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(message, r.Stderr);

        var opts = string.Join(',', args.Select((a, i) => (a, i)).Where(x => x.i > 0 && args[x.i - 1] == "-o")
            .Select(x => $"\"{x.a.Split('=')[0]}\":\"{x.a.Split('=', 2)[1]}\""));
        var body = $"{{\"Name\":\"mvbad\",\"Driver\":\"macvlan\",\"IPAM\":{{\"Config\":[{{\"Subnet\":\"10.246.14.0/24\"}}]}},\"Options\":{{{opts}}}}}";
        var http = await d.RunAsync("curl", ["-s", "-w", " %{http_code}", "--unix-socket", d.Socket, "-X", "POST",
            "-H", "Content-Type: application/json", "-d", body, "http://berth/networks/create"], null);
        Assert.EndsWith(" 400", http.Stdout.Trim());
        Assert.Contains("\"message\"", http.Stdout);
        // Nothing half-made: no network, no sub-interface.
        Assert.NotEqual(0, (await d.DockerAsync("network", "inspect", "mvbad")).ExitCode);
        Assert.False(Directory.Exists($"/sys/class/net/{_parent}.10"));
        Assert.Equal("", await MacvlanChildren());
    }
}
