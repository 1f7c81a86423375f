using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;

namespace Berth.Integration.Tests;

/// <summary>
/// Published ports (-p/-P) with the real docker CLI: DNAT in the daemon's nft table, reachable on loopback, on the
/// bridge gateway, from other containers through the host and from another network namespace; a port in use is a
/// clear error that leaves nothing behind; stop/rm/restart take the rules away.
/// </summary>
public sealed class PortsTests(DaemonFixture d) : IClassFixture<DaemonFixture>, IDisposable
{
    private readonly EngineApi _api = new(d.Socket);

    public void Dispose() => _api.Dispose();

    private string Table => $"berth_{d.Bridge}";

    private const string Httpd = "mkdir -p /www && echo \"page of $HOSTNAME\" > /www/index.html && exec httpd -f -p 80 -h /www";

    /// <summary>A port nobody holds right now (the kernel picks it), for the test to publish.</summary>
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Any, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private async Task<string> RunWebAsync(string name, params string[] publish)
    {
        var r = await d.DockerAsync(["run", "-d", "--name", name, "--hostname", name, .. publish, "busybox", "sh", "-c", Httpd]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout.Trim();
    }

    /// <summary>curl with bounded retries (httpd needs a moment after the container starts); null if it never answers.</summary>
    private async Task<string?> CurlAsync(string url, string? netns = null, int tries = 20)
    {
        for (int i = 0; i < tries; i++)
        {
            var r = netns is null
                ? await d.RunAsync("curl", ["-sS", "-m", "3", url], null, 30)
                : await d.RunAsync("ip", ["netns", "exec", netns, "curl", "-sS", "-m", "3", url], null, 30);
            if (r.ExitCode == 0) return r.Stdout;
            await Task.Delay(250);
        }
        return null;
    }

    private async Task<string> NftTableAsync()
    {
        var r = await d.RunAsync("nft", ["list", "table", "ip", Table], null, 30);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout;
    }

    private async Task<int> VethCountAsync()
    {
        var r = await d.RunAsync("ip", ["-o", "link", "show", "master", d.Bridge], null, 30);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    private static string DportPattern(int port) => $"dport {port} ";

    [Fact]
    public async Task LoopbackPublish_ServesOnLoopbackOnly_AndShowsEverywhere()
    {
        var name = "lo" + d.Tag;
        int port = FreePort();
        try
        {
            await RunWebAsync(name, "-p", $"127.0.0.1:{port}:80");
            Assert.Equal($"page of {name}\n", await CurlAsync($"http://127.0.0.1:{port}/"));
            // Published on 127.0.0.1 only: the gateway address does not take it.
            Assert.Null(await CurlAsync($"http://{d.Gateway}:{port}/", tries: 1));

            var ports = await d.DockerAsync("inspect", "-f", "{{json .NetworkSettings.Ports}}", name);
            Assert.Equal($$"""{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"{{port}}"}]}""", ports.Stdout.Trim());
            var ps = await d.DockerAsync("ps", "--filter", $"name={name}", "--format", "{{.Ports}}");
            Assert.Equal($"127.0.0.1:{port}->80/tcp", ps.Stdout.Trim());
            var dp = await d.DockerAsync("port", name);
            Assert.Equal($"80/tcp -> 127.0.0.1:{port}", dp.Stdout.Trim());
            var bp = await d.BerthAsync("port", name, "80");
            Assert.Equal($"127.0.0.1:{port}", bp.Stdout.Trim());
            var bps = await d.BerthAsync("ps", "--filter", $"name={name}", "--format", "{{.Ports}}");
            Assert.Equal($"127.0.0.1:{port}->80/tcp", bps.Stdout.Trim());
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task AnyAddressPublish_ServesOnGateway_AndHairpinFromContainers()
    {
        var name = "any" + d.Tag;
        int port = FreePort();
        try
        {
            await RunWebAsync(name, "-p", $"{port}:80");
            Assert.Equal($"page of {name}\n", await CurlAsync($"http://{d.Gateway}:{port}/"));
            Assert.Equal($"page of {name}\n", await CurlAsync($"http://127.0.0.1:{port}/"));
            var ports = await d.DockerAsync("inspect", "-f", "{{json .NetworkSettings.Ports}}", name);
            Assert.Equal($$"""{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"{{port}}"}]}""", ports.Stdout.Trim());

            // Another container through the host's address, and the container itself (hairpin). nc, not busybox's wget:
            // the static busybox's wget crashes resolving its service names.
            var get = $"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {d.Gateway} {port}";
            var other = await d.DockerAsync("run", "--rm", "busybox", "sh", "-c", get);
            Assert.True(other.ExitCode == 0, other.ToString());
            Assert.StartsWith("HTTP/1.1 200 OK", other.Stdout);
            Assert.EndsWith($"\r\n\r\npage of {name}\n", other.Stdout);
            var self = await d.DockerAsync("exec", name, "sh", "-c", get);
            Assert.True(self.ExitCode == 0, self.ToString());
            Assert.EndsWith($"\r\n\r\npage of {name}\n", self.Stdout);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task UserDefinedNetwork_PublishesToo()
    {
        var net = "pn" + d.Tag;
        var name = "un" + d.Tag;
        int port = FreePort();
        try
        {
            var create = await d.DockerAsync("network", "create", net);
            Assert.True(create.ExitCode == 0, create.ToString());
            await RunWebAsync(name, "--network", net, "-p", $"{port}:80");
            Assert.Equal($"page of {name}\n", await CurlAsync($"http://127.0.0.1:{port}/"));
            Assert.Equal($"page of {name}\n", await CurlAsync($"http://{d.Gateway}:{port}/"));
            Assert.Equal($"80/tcp -> 0.0.0.0:{port}", (await d.DockerAsync("port", name)).Stdout.Trim());
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
            await d.DockerAsync("network", "rm", net);
        }
        Assert.DoesNotContain(DportPattern(port), await NftTableAsync());
    }

    [Fact]
    public async Task PublishAll_WithImageExpose_GetsRandomPortThatServes()
    {
        var image = $"exposed{d.Tag}:latest";
        var name = "pa" + d.Tag;
        try
        {
            var imp = await d.ShellAsync($"{d.RepoRoot}/scripts/mkbusybox.sh | DOCKER_HOST={d.DockerHost} /usr/local/bin/docker import --change 'EXPOSE 80' --change 'EXPOSE 53/udp' - {image}");
            Assert.True(imp.ExitCode == 0, imp.ToString());
            var run = await d.DockerAsync("run", "-d", "--name", name, "--hostname", name, "-P", image, "sh", "-c", Httpd);
            Assert.True(run.ExitCode == 0, run.ToString());

            var port = await d.DockerAsync("port", name, "80");
            Assert.True(port.ExitCode == 0, port.ToString());
            Assert.Matches(@"^0\.0\.0\.0:\d+$", port.Stdout.Trim());
            int hostPort = int.Parse(port.Stdout.Trim().Split(':')[1]);
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            Assert.InRange(hostPort, range[0], range[1]);
            Assert.Equal($"page of {name}\n", await CurlAsync($"http://127.0.0.1:{hostPort}/"));

            var udp = await d.DockerAsync("port", name, "53/udp");
            Assert.Matches(@"^0\.0\.0\.0:\d+$", udp.Stdout.Trim());
            Assert.NotEqual(port.Stdout, udp.Stdout.Replace("53/udp", ""));
            var all = await d.DockerAsync("port", name);
            Assert.Equal(2, all.Stdout.Trim().Split('\n').Length);
            var ps = await d.DockerAsync("ps", "--filter", $"name={name}", "--format", "{{.Ports}}");
            Assert.Contains($"0.0.0.0:{hostPort}->80/tcp", ps.Stdout);
            Assert.Equal(ps.Stdout, (await d.BerthAsync("ps", "--filter", $"name={name}", "--format", "{{.Ports}}")).Stdout);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
            await d.DockerAsync("rmi", image);
        }
    }

    [Fact]
    public async Task ExposedButUnpublished_IsNullInInspect_AndPortRangeMapsOneToOne()
    {
        var name = "rg" + d.Tag;
        int a = 0;
        for (int i = 0; i < 20 && a == 0; i++)
        {
            int p = FreePort();
            if (p < 65535 && CanListen(p + 1)) a = p;
        }
        Assert.NotEqual(0, a);
        try
        {
            var run = await d.DockerAsync("run", "-d", "--name", name, "--expose", "9000", "-p", $"127.0.0.1:{a}-{a + 1}:80-81", "busybox", "sleep", "300");
            Assert.True(run.ExitCode == 0, run.ToString());
            var json = await d.DockerAsync("inspect", "-f", "{{json .NetworkSettings.Ports}}", name);
            using var doc = JsonDocument.Parse(json.Stdout);
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("9000/tcp").ValueKind);
            Assert.Equal($"{a}", doc.RootElement.GetProperty("80/tcp")[0].GetProperty("HostPort").GetString());
            Assert.Equal($"{a + 1}", doc.RootElement.GetProperty("81/tcp")[0].GetProperty("HostPort").GetString());
            var ps = await d.DockerAsync("ps", "--filter", $"name={name}", "--format", "{{.Ports}}");
            Assert.Contains("9000/tcp", ps.Stdout);
            Assert.Contains($"127.0.0.1:{a}->80/tcp", ps.Stdout);
            var bps = await d.BerthAsync("ps", "--filter", $"name={name}", "--format", "{{.Ports}}");
            Assert.Equal(ps.Stdout, bps.Stdout); // same PORTS column from both clients
            var id = (await d.DockerAsync("inspect", "-f", "{{.Id}}", name)).Stdout.Trim()[..12];
            Assert.Contains(id, (await d.DockerAsync("ps", "-q", "--filter", "publish=81")).Stdout);
            Assert.DoesNotContain(id, (await d.DockerAsync("ps", "-q", "--filter", "publish=9000")).Stdout);
            Assert.Contains(id, (await d.DockerAsync("ps", "-q", "--filter", "expose=8999-9001/tcp")).Stdout);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    private static bool CanListen(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Any, port);
            l.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [Fact]
    public async Task OutsideClientInAnotherNetns_ReachesThePublishedPort()
    {
        var name = "ns" + d.Tag;
        var hex = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var netns = $"berth-pt-{hex}";
        var hostEnd = $"bp{hex}a";
        var nsEnd = $"bp{hex}b";
        // A /30 of our own from 10.251.0.0/16: host end .1, client .2.
        int block = RandomNumberGenerator.GetInt32(0, 16384) * 4;
        var net = $"10.251.{block / 256}";
        var hostIp = $"{net}.{block % 256 + 1}";
        var clientIp = $"{net}.{block % 256 + 2}";
        int port = FreePort();
        try
        {
            await RunWebAsync(name, "-p", $"{port}:80");
            async Task Ip(params string[] args)
            {
                var r = await d.RunAsync("ip", args, null, 30);
                Assert.True(r.ExitCode == 0, $"ip {string.Join(' ', args)}: {r}");
            }
            await Ip("netns", "add", netns);
            await Ip("link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd, "netns", netns);
            await Ip("addr", "add", $"{hostIp}/30", "dev", hostEnd);
            await Ip("link", "set", hostEnd, "up");
            await Ip("-n", netns, "addr", "add", $"{clientIp}/30", "dev", nsEnd);
            await Ip("-n", netns, "link", "set", nsEnd, "up");
            await Ip("-n", netns, "link", "set", "lo", "up");
            await Ip("-n", netns, "route", "add", "default", "via", hostIp);

            Assert.Equal($"page of {name}\n", await CurlAsync($"http://{hostIp}:{port}/", netns));
        }
        finally
        {
            await d.RunAsync("ip", ["netns", "del", netns], null, 30);
            await d.RunAsync("ip", ["link", "del", hostEnd], null, 30);
            await d.DockerAsync("rm", "-f", name);
        }
        Assert.False(Directory.Exists($"/sys/class/net/{hostEnd}"));
    }

    [Fact]
    public async Task PortInUse_IsClearError_ContainerNotRunning_NothingLeaked()
    {
        var name = "busy" + d.Tag;
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;
        int veths = await VethCountAsync();
        try
        {
            var r = await d.DockerAsync("run", "-d", "--name", name, "-p", $"127.0.0.1:{port}:80", "busybox", "sleep", "300");
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains($"Bind for 127.0.0.1:{port} failed: port is already allocated", r.Stderr);
            var running = await d.DockerAsync("inspect", "-f", "{{.State.Running}}", name);
            Assert.Equal("false", running.Stdout.Trim());
            Assert.DoesNotContain(DportPattern(port), await NftTableAsync());
            Assert.Equal(veths, await VethCountAsync());

            // The same with a wildcard publish of a port someone holds on one address.
            var r2 = await d.DockerAsync("run", "-d", "--name", name + "2", "-p", $"{port}:80", "busybox", "sleep", "300");
            Assert.NotEqual(0, r2.ExitCode);
            Assert.Contains($"Bind for 0.0.0.0:{port} failed: port is already allocated", r2.Stderr);
            Assert.DoesNotContain(DportPattern(port), await NftTableAsync());
            Assert.Equal(veths, await VethCountAsync());

            // Once the port is free, the container starts and serves.
            busy.Stop();
            var start = await d.DockerAsync("start", name);
            Assert.True(start.ExitCode == 0, start.ToString());
            Assert.Contains(DportPattern(port), await NftTableAsync());
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name + "2");
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task AddressNotOnThisHost_FailsTheStart_HostModeWarns()
    {
        var name = "na" + d.Tag;
        int port = FreePort();
        try
        {
            // 203.0.113.0/24 is TEST-NET-3: never an address of this host (and no packet is sent to it).
            var r = await d.DockerAsync("run", "-d", "--name", name, "-p", $"203.0.113.7:{port}:80", "busybox", "sleep", "300");
            Assert.Equal(125, r.ExitCode);
            Assert.Contains($"Bind for 203.0.113.7:{port} failed: cannot assign requested address", r.Stderr);
            Assert.DoesNotContain(DportPattern(port), await NftTableAsync());

            var host = await d.DockerAsync("run", "--rm", "--network", "host", "-p", $"{port}:80", "busybox", "true");
            Assert.True(host.ExitCode == 0, host.ToString());
            Assert.Contains("Published ports are discarded when using host network mode", host.Stderr);
            Assert.True(CanListen(port));
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task StopAndRemove_TakeTheRulesAndThePortAway()
    {
        var name = "st" + d.Tag;
        int port = FreePort();
        try
        {
            await RunWebAsync(name, "-p", $"{port}:80/tcp", "-p", $"{port}:5300/udp");
            var table = await NftTableAsync();
            Assert.Contains($"tcp {DportPattern(port)}", table);
            Assert.Contains($"udp {DportPattern(port)}", table);
            Assert.False(CanListen(port)); // reserved by the daemon while the container runs

            Assert.Equal(0, (await d.DockerAsync("stop", "-t", "1", name)).ExitCode);
            Assert.DoesNotContain(DportPattern(port), await NftTableAsync());
            Assert.True(CanListen(port));
            Assert.Equal("{}", (await d.DockerAsync("inspect", "-f", "{{json .NetworkSettings.Ports}}", name)).Stdout.Trim());

            Assert.Equal(0, (await d.DockerAsync("start", name)).ExitCode);
            Assert.Contains(DportPattern(port), await NftTableAsync());
            Assert.Equal($"page of {name}\n", await CurlAsync($"http://127.0.0.1:{port}/"));

            Assert.Equal(0, (await d.DockerAsync("rm", "-f", name)).ExitCode);
            Assert.DoesNotContain(DportPattern(port), await NftTableAsync());
            Assert.True(CanListen(port));
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task DaemonRestart_KeepsRulesOfLiveContainers_DropsRulesOfGoneOnes()
    {
        var live = "lv" + d.Tag;
        var gone = "gn" + d.Tag;
        int livePort = FreePort(), gonePort = FreePort();
        try
        {
            await RunWebAsync(live, "-p", $"{livePort}:80");
            await RunWebAsync(gone, "-p", $"{gonePort}:80");
            var pid = (await d.DockerAsync("inspect", "-f", "{{.State.Pid}}", gone)).Stdout.Trim();
            Assert.Matches(@"^\d+$", pid);

            await d.KillDaemonAsync();
            // The container we started ends while no daemon watches it.
            Assert.Equal(0, (await d.RunAsync("kill", ["-9", pid], null, 30)).ExitCode);
            await d.StartDaemonAsync();

            var table = await NftTableAsync();
            Assert.Contains(DportPattern(livePort), table);
            Assert.DoesNotContain(DportPattern(gonePort), table);
            Assert.Equal($"page of {live}\n", await CurlAsync($"http://127.0.0.1:{livePort}/"));
            Assert.False(CanListen(livePort));
            Assert.True(CanListen(gonePort));
        }
        finally
        {
            await d.DockerAsync("rm", "-f", live);
            await d.DockerAsync("rm", "-f", gone);
        }
    }

    [Theory]
    [InlineData("""{"70000/tcp":[{"HostPort":"8080"}]}""", "invalid port specification: \"70000\"")]
    [InlineData("""{"80/tcp":[{"HostPort":"70000"}]}""", "invalid port specification: \"70000\"")]
    [InlineData("""{"80/sctpx":[{"HostPort":"8080"}]}""", "invalid proto: sctpx")]
    [InlineData("""{"80/tcp":[{"HostIp":"1.2.3","HostPort":"8080"}]}""", "invalid IP address: 1.2.3")]
    public async Task BadBindings_Are400_WithMessage(string bindings, string message)
    {
        var r = await _api.PostAsync("/containers/create", """{"Image":"busybox","Cmd":["true"],"HostConfig":{"PortBindings":""" + bindings + "}}");
        Assert.Contains(message, EngineApi.AssertError(r, HttpStatusCode.BadRequest));
        await _api.AssertAliveAsync();
    }

    [Theory]
    [InlineData("70000:80", "invalid hostPort: 70000")]
    [InlineData("80/sctpx", "invalid proto: sctpx")]
    [InlineData("1.2.3:80:80", "invalid IP address: 1.2.3")]
    public async Task BadPublishFlags_AreRejectedByBothClients(string spec, string message)
    {
        foreach (var cli in new Func<string[], Task<CommandResult>>[] { d.DockerAsync, d.BerthAsync })
        {
            var r = await cli(["run", "--rm", "-p", spec, "busybox", "true"]);
            Assert.Equal(125, r.ExitCode);
            Assert.Contains(message, r.Stderr);
        }
    }

    [Fact]
    public async Task BerthRun_PublishesLikeDocker()
    {
        var name = "br" + d.Tag;
        int port = FreePort();
        try
        {
            var run = await d.BerthAsync("run", "-d", "--name", name, "--hostname", name, "-p", $"127.0.0.1:{port}:80", "--expose", "81", "-P", "busybox", "sh", "-c", Httpd);
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Equal($"page of {name}\n", await CurlAsync($"http://127.0.0.1:{port}/"));
            var all = (await d.BerthAsync("port", name)).Stdout.Trim().Split('\n');
            Assert.Equal(2, all.Length);
            Assert.Equal($"80/tcp -> 127.0.0.1:{port}", all[0]);
            Assert.Matches(@"^81/tcp -> 0\.0\.0\.0:\d+$", all[1]);
            var docker = (await d.DockerAsync("port", name)).Stdout.Trim().Split('\n');
            Assert.Equal(all, docker);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }
}
