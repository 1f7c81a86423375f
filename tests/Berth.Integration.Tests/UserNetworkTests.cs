using System.Net;
using System.Net.Sockets;

namespace Berth.Integration.Tests;

/// <summary>
/// User-defined networks with the real docker CLI: embedded DNS by name and alias, isolation between networks,
/// live connect/disconnect, internal networks, kernel clean-up across a restart, bad input. Busybox's wget crashes
/// (Debian's static build), so HTTP inside containers goes through `nc`.
/// </summary>
public sealed class UserNetworkTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private const string Get = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3";

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

    private Task<string> StartWeb(string name, string network, params string[] extra) =>
        Ok(["run", "-d", "--name", name, "--network", network, .. extra, "busybox", "sh", "-c",
            $"mkdir -p /www && echo hello-{name} > /www/index.html && exec httpd -f -p 80 -h /www"]);

    [Fact]
    public async Task NamesAndAliasesResolveOnTheirNetworkOnly()
    {
        try
        {
            await Ok("network", "create", "un1");
            await Ok("network", "create", "un2");
            await StartWeb("unweb", "un1", "--network-alias", "unalias");
            var byName = await Ok("run", "--rm", "--network", "un1", "busybox", "sh", "-c", $"{Get} unweb 80");
            Assert.Contains("hello-unweb", byName);
            var byAlias = await Ok("run", "--rm", "--network", "un1", "busybox", "sh", "-c", $"{Get} unalias 80");
            Assert.Contains("hello-unweb", byAlias);
            var resolv = await Ok("run", "--rm", "--network", "un1", "busybox", "cat", "/etc/resolv.conf");
            Assert.Contains("nameserver 127.0.0.11", resolv);

            var ip = await Ok("inspect", "-f", "{{(index .NetworkSettings.Networks \"un1\").IPAddress}}", "unweb");
            Assert.Matches(@"^\d+\.\d+\.\d+\.\d+$", ip);
            // From the other network: the name is unknown and the address unreachable.
            var other = await d.DockerAsync("run", "--rm", "--network", "un2", "busybox", "sh", "-c",
                $"nslookup unweb 127.0.0.11; echo lookup=$?; {Get} {ip} 80; echo http=$?");
            Assert.True(other.ExitCode == 0, other.ToString());
            Assert.Contains("NXDOMAIN", other.Stdout);
            Assert.Contains("http=1", other.Stdout);
            Assert.DoesNotContain("hello-unweb", other.Stdout);
            // The network shows its container.
            var members = await Ok("network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}", "un1");
            Assert.StartsWith($"unweb {ip}/", members);
        }
        finally
        {
            await Remove(["unweb"], ["un1", "un2"]);
        }
    }

    [Fact]
    public async Task ConnectAddsAnInterfaceLiveAndDisconnectRemovesIt()
    {
        try
        {
            await Ok("network", "create", "cn1");
            await Ok("network", "create", "cn2");
            await StartWeb("cnweb", "cn2");
            await Ok("run", "-d", "--name", "cnc", "--network", "cn1", "busybox", "sleep", "300");
            Assert.DoesNotContain("eth1", await Ok("exec", "cnc", "ip", "-o", "link"));
            var before = await d.DockerAsync("exec", "cnc", "sh", "-c", $"{Get} cnweb 80");
            Assert.DoesNotContain("hello-cnweb", before.Stdout);

            await Ok("network", "connect", "--alias", "cnalias", "cn2", "cnc");
            var links = await Ok("exec", "cnc", "ip", "-o", "-4", "addr", "show", "eth1");
            var ip = await Ok("inspect", "-f", "{{(index .NetworkSettings.Networks \"cn2\").IPAddress}}", "cnc");
            Assert.Contains(ip + "/", links);
            Assert.Contains("hello-cnweb", await Ok("exec", "cnc", "sh", "-c", $"{Get} cnweb 80"));
            // Its alias on cn2 resolves for the others there.
            Assert.Contains(ip, await Ok("exec", "cnweb", "nslookup", "cnalias", "127.0.0.11"));

            await Ok("network", "disconnect", "cn2", "cnc");
            Assert.DoesNotContain("eth1", await Ok("exec", "cnc", "ip", "-o", "link"));
            Assert.Equal("cnweb", await Ok("network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", "cn2"));
        }
        finally
        {
            await Remove(["cnc", "cnweb"], ["cn1", "cn2"]);
        }
    }

    [Fact]
    public async Task CreatedContainerDisconnectedAndReconnectedStartsWithItsNewSettings()
    {
        try
        {
            // docker-compose's sequence: create on the project network, disconnect, connect again with the aliases.
            await Ok("network", "create", "rc1");
            await StartWeb("rcweb", "rc1");
            await Ok("create", "--name", "rcc", "--network", "rc1", "busybox", "sleep", "300");
            await Ok("network", "disconnect", "rc1", "rcc");
            Assert.Equal("{}", await Ok("inspect", "-f", "{{json .NetworkSettings.Networks}}", "rcc"));
            await Ok("network", "connect", "--alias", "rcalias", "rc1", "rcc");
            await Ok("start", "rcc");
            Assert.Equal("[\"rcalias\"]", await Ok("inspect", "-f", "{{json (index .NetworkSettings.Networks \"rc1\").Aliases}}", "rcc"));
            var ip = await Ok("inspect", "-f", "{{(index .NetworkSettings.Networks \"rc1\").IPAddress}}", "rcc");
            Assert.Contains(ip, await Ok("exec", "rcweb", "nslookup", "rcalias", "127.0.0.11"));

            // Disconnected and not connected again: it starts without that network (loopback alone), as under dockerd.
            await Ok("create", "--name", "rcnone", "--network", "rc1", "busybox", "sleep", "300");
            await Ok("network", "disconnect", "rc1", "rcnone");
            await Ok("start", "rcnone");
            Assert.Equal("lo", await Ok("exec", "rcnone", "sh", "-c", "ls /sys/class/net"));
            Assert.Equal("{}", await Ok("inspect", "-f", "{{json .NetworkSettings.Networks}}", "rcnone"));
            // A second disconnect has nothing to take away.
            await Ok("stop", "-t", "0", "rcnone");
            var again = await d.DockerAsync("network", "disconnect", "rc1", "rcnone");
            Assert.NotEqual(0, again.ExitCode);
            Assert.Contains("is not connected to network rc1", again.Stderr);
        }
        finally
        {
            await Remove(["rcc", "rcnone", "rcweb"], ["rc1"]);
        }
    }

    [Fact]
    public async Task RunWithIpAndRemoveWhileInUse()
    {
        try
        {
            await Ok("network", "create", "--subnet", "10.251.77.0/28", "--gateway", "10.251.77.1", "ipn");
            await Ok("run", "-d", "--name", "ipc", "--network", "ipn", "--ip", "10.251.77.9", "busybox", "sleep", "300");
            Assert.Contains("10.251.77.9/28", await Ok("exec", "ipc", "ip", "-o", "-4", "addr", "show", "eth0"));
            var rm = await d.DockerAsync("network", "rm", "ipn");
            Assert.NotEqual(0, rm.ExitCode);
            Assert.Contains("active endpoints", rm.Stderr);
            var bridge = await d.DockerAsync("network", "rm", "bridge");
            Assert.NotEqual(0, bridge.ExitCode);
            Assert.Contains("pre-defined network", bridge.Stderr);
        }
        finally
        {
            await Remove(["ipc"], ["ipn"]);
        }
    }

    [Fact]
    public async Task BridgeNameAndIccOptionsAreHonoured()
    {
        var bridge = $"bn{d.Tag}";
        try
        {
            await Ok("network", "create", "-o", $"com.docker.network.bridge.name={bridge}", "-o", "com.docker.network.bridge.enable_icc=false", "iccn");
            Assert.True(Directory.Exists($"/sys/class/net/{bridge}"), $"bridge {bridge} missing");
            Assert.Equal(bridge, await Ok("network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.name\"}}", "iccn"));
            await StartWeb("iccweb", "iccn");
            var ip = await Ok("inspect", "-f", "{{(index .NetworkSettings.Networks \"iccn\").IPAddress}}", "iccweb");
            // Names still resolve, but container-to-container traffic on the bridge is dropped.
            var r = await d.DockerAsync("run", "--rm", "--network", "iccn", "busybox", "sh", "-c", $"nslookup iccweb 127.0.0.11; {Get} {ip} 80; echo http=$?");
            Assert.Contains(ip, r.Stdout);
            Assert.Contains("http=1", r.Stdout);
            Assert.DoesNotContain("hello-iccweb", r.Stdout);
            // The host still reaches it through the gateway.
            var host = await d.RunAsync("curl", ["-s", "-m", "5", $"http://{ip}/"], null);
            Assert.Contains("hello-iccweb", host.Stdout);
        }
        finally
        {
            await Remove(["iccweb"], ["iccn"]);
        }
        Assert.False(Directory.Exists($"/sys/class/net/{bridge}"), $"bridge {bridge} left behind");
    }

    [Fact]
    public async Task InternalNetworkCannotReachTheHost()
    {
        // The test's own listener on the default bridge's gateway address, bounded by the containers' nc timeouts.
        using var listener = new TcpListener(IPAddress.Parse(d.Gateway), 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var serve = Task.Run(async () =>
        {
            try
            {
                while (!cts.IsCancellationRequested)
                {
                    using var c = await listener.AcceptTcpClientAsync(cts.Token);
                    await c.GetStream().WriteAsync("reached-host\n"u8.ToArray(), cts.Token);
                }
            }
            catch (OperationCanceledException) { }
            catch (SocketException) { }
        });
        try
        {
            await Ok("network", "create", "--internal", "inn");
            // The listener works: a container on the default bridge reaches it.
            var control = await Ok("run", "--rm", "busybox", "sh", "-c", $"nc -w 3 {d.Gateway} {port} </dev/null");
            Assert.Contains("reached-host", control);
            var r = await d.DockerAsync("run", "--rm", "--network", "inn", "busybox", "sh", "-c", $"nc -w 3 {d.Gateway} {port} </dev/null; echo rc=$?");
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.DoesNotContain("reached-host", r.Stdout);
            Assert.Contains("rc=1", r.Stdout);
            var isInternal = await Ok("network", "inspect", "-f", "{{.Internal}}", "inn");
            Assert.Equal("true", isInternal);
        }
        finally
        {
            await Remove([], ["inn"]);
            cts.Cancel();
            listener.Stop();
            await serve;
        }
    }

    [Fact]
    public async Task RemovedObjectsAreGoneAfterRestart()
    {
        try
        {
            var goneId = await Ok("network", "create", "gone");
            var keptId = await Ok("network", "create", "kept");
            var goneBridge = "br-" + goneId[..12];
            var keptBridge = "br-" + keptId[..12];
            await Ok("run", "-d", "--name", "gonec", "--network", "gone", "busybox", "sleep", "300");
            var veth = await d.ShellAsync($"ip -o link show master {goneBridge} | awk -F': ' '{{print $2}}' | cut -d@ -f1");
            var vethName = veth.Stdout.Trim();
            Assert.StartsWith("vb", vethName);
            Assert.Contains(goneBridge, (await d.RunAsync("nft", ["list", "ruleset"], null)).Stdout);

            await Ok("rm", "-f", "gonec");
            await Ok("network", "rm", "gone");
            await d.StopDaemonAsync();
            await d.StartDaemonAsync();

            var links = (await d.RunAsync("ip", ["-o", "link"], null)).Stdout;
            var ruleset = (await d.RunAsync("nft", ["list", "ruleset"], null)).Stdout;
            Assert.DoesNotContain(goneBridge, links);
            Assert.DoesNotContain(vethName, links);
            Assert.DoesNotContain(goneBridge, ruleset);
            // The network that stays is back in the kernel after the restart.
            Assert.Contains(keptBridge, links);
            Assert.Contains(keptBridge, ruleset);
            Assert.Equal("kept", await Ok("network", "ls", "--filter", "type=custom", "--format", "{{.Name}}"));
        }
        finally
        {
            await Remove(["gonec"], ["gone", "kept"]);
        }
    }

    [Theory]
    [InlineData("10.300.0.0/24", null, "invalid CIDR address", 400)]
    [InlineData(null, "nosuchdriver", "plugin \"nosuchdriver\" not found", 400)]
    public async Task BadInputIsRefused(string? subnet, string? driver, string message, int status)
    {
        var args = new List<string> { "network", "create" };
        if (subnet is not null) args.AddRange(["--subnet", subnet]);
        if (driver is not null) args.AddRange(["-d", driver]);
        args.Add("badnet");
        var r = await d.DockerAsync([.. args]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        var body = $"{{\"Name\":\"badnet\"{(subnet is null ? "" : $",\"IPAM\":{{\"Config\":[{{\"Subnet\":\"{subnet}\"}}]}}")}{(driver is null ? "" : $",\"Driver\":\"{driver}\"")}}}";
        var http = await d.RunAsync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", d.Socket, "-X", "POST",
            "-H", "Content-Type: application/json", "-d", body, "http://berth/networks/create"], null);
        Assert.Equal(status.ToString(), http.Stdout.Trim());
        Assert.NotEqual(0, (await d.DockerAsync("network", "inspect", "badnet")).ExitCode);
    }

    [Fact]
    public async Task OverlappingSubnetIsAConflict()
    {
        try
        {
            await Ok("network", "create", "--subnet", "10.251.88.0/28", "ovl1");
            var r = await d.DockerAsync("network", "create", "--subnet", "10.251.88.0/24", "ovl2");
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains("Pool overlaps with other one on this address space", r.Stderr);
            var http = await d.RunAsync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", d.Socket, "-X", "POST",
                "-H", "Content-Type: application/json", "-d", "{\"Name\":\"ovl3\",\"IPAM\":{\"Config\":[{\"Subnet\":\"10.251.88.8/29\"}]}}",
                "http://berth/networks/create"], null);
            Assert.Equal("409", http.Stdout.Trim());
            var dup = await d.DockerAsync("network", "create", "ovl1");
            Assert.Contains("already exists", dup.Stderr);
            var run = await d.DockerAsync("run", "--rm", "--network", "nosuchnet", "busybox", "true");
            Assert.NotEqual(0, run.ExitCode);
            var create = await d.RunAsync("curl", ["-s", "-w", " %{http_code}", "--unix-socket", d.Socket, "-X", "POST",
                "-H", "Content-Type: application/json", "-d", "{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"nosuchnet\"}}",
                "http://berth/containers/create"], null);
            Assert.EndsWith(" 404", create.Stdout.Trim());
            Assert.Contains("network nosuchnet not found", create.Stdout);
            var ipOnBridge = await d.DockerAsync("run", "--rm", "--ip", "10.251.88.3", "busybox", "true");
            Assert.Contains("user specified IP address is supported on user defined networks only", ipOnBridge.Stderr);
        }
        finally
        {
            await Remove([], ["ovl1", "ovl2", "ovl3"]);
        }
    }

    [Fact]
    public async Task UnknownDottedNamesAreForwardedToTheContainersDnsServers()
    {
        // The test's own resolver on a loopback address of its own: it answers every A query with 10.9.8.7.
        await using var dns = new LoopbackDns();
        var addr = dns.Address;
        try
        {
            await Ok("network", "create", "fwd");
            var r = await Ok("run", "--rm", "--network", "fwd", "--dns", addr.ToString(), "busybox", "nslookup", "-type=a", "thing.berth-test.example", "127.0.0.11");
            Assert.Contains("10.9.8.7", r);
            Assert.Contains("thing.berth-test.example", dns.Asked);
            // Single-label names nobody has are answered here, never sent upstream.
            var single = await d.DockerAsync("run", "--rm", "--network", "fwd", "--dns", addr.ToString(), "busybox", "nslookup", "-type=a", "nobodyhere", "127.0.0.11");
            Assert.Contains("NXDOMAIN", single.Stdout + single.Stderr);
            Assert.DoesNotContain("nobodyhere", dns.Asked);
        }
        finally
        {
            await Remove([], ["fwd"]);
        }
    }

    [Fact]
    public async Task BerthCliManagesNetworks()
    {
        try
        {
            var id = (await d.BerthAsync("network", "create", "--label", "team=blue", "bn1")).Stdout.Trim();
            Assert.Matches("^[0-9a-f]{64}$", id);
            var ls = await d.BerthAsync("network", "ls", "--filter", "label=team=blue", "--format", "{{.Name}} {{.Driver}}");
            Assert.Equal("bn1 bridge", ls.Stdout.Trim());
            Assert.Contains("\"Name\": \"bn1\"", (await d.BerthAsync("network", "inspect", "bn1")).Stdout);
            await Ok("run", "-d", "--name", "bnc", "busybox", "sleep", "300");
            var connect = await d.BerthAsync("network", "connect", "--alias", "bnalias", "bn1", "bnc");
            Assert.True(connect.ExitCode == 0, connect.ToString());
            Assert.Contains("bnalias", await Ok("inspect", "-f", "{{json .NetworkSettings.Networks.bn1.Aliases}}", "bnc"));
            var disconnect = await d.BerthAsync("network", "disconnect", "bn1", "bnc");
            Assert.True(disconnect.ExitCode == 0, disconnect.ToString());
            Assert.DoesNotContain("eth1", await Ok("exec", "bnc", "ip", "-o", "link"));
            var prune = await d.BerthAsync("network", "prune", "-f");
            Assert.Contains("bn1", prune.Stdout);
            Assert.NotEqual(0, (await d.BerthAsync("network", "inspect", "bn1")).ExitCode);
        }
        finally
        {
            await Remove(["bnc"], ["bn1"]);
        }
    }
}
