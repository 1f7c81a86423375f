using System.Net;
using System.Net.Sockets;

namespace Berth.Integration.Tests;

/// <summary>
/// A container that joins a user-defined network later switches its /etc/resolv.conf to the embedded DNS, as dockerd
/// does, and gets its own servers back when it leaves the last one. The only upstream is a resolver the test runs on a
/// loopback address of its own (given with --dns); no real DNS server is asked.
/// </summary>
public sealed class ResolvConfOnConnectTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private async Task<string> Ok(params string[] args)
    {
        var r = await d.DockerAsync(args);
        Assert.True(r.ExitCode == 0, $"docker {string.Join(' ', args)}: {r}\n{d.DaemonLog}");
        return r.Stdout.Trim();
    }

    [Fact]
    public async Task ConnectSwitchesToTheEmbeddedDnsAndTheLastDisconnectSwitchesBack()
    {
        // The test's resolver answers every A query with 10.9.8.7 and records the names it was asked.
        await using var dns = new LoopbackDns();
        var addr = dns.Address;
        try
        {
            await Ok("network", "create", "rcn1");
            await Ok("network", "create", "rcn2");
            await Ok("run", "-d", "--name", "rcweb", "--network", "rcn1", "busybox", "sleep", "300");
            var webIp = await Ok("inspect", "-f", "{{(index .NetworkSettings.Networks \"rcn1\").IPAddress}}", "rcweb");
            await Ok("run", "-d", "--name", "rcc", "--dns", addr.ToString(), "busybox", "sleep", "300");

            // On the default bridge: the servers given, no embedded DNS.
            var before = await Ok("exec", "rcc", "cat", "/etc/resolv.conf");
            Assert.Contains($"nameserver {addr}", before);
            Assert.DoesNotContain("127.0.0.11", before);

            await Ok("network", "connect", "rcn1", "rcc");
            var after = await Ok("exec", "rcc", "cat", "/etc/resolv.conf");
            Assert.Contains("nameserver 127.0.0.11", after);
            Assert.DoesNotContain($"nameserver {addr}", after);
            // Names on the new network resolve through resolv.conf (no server named on the command line)...
            var byName = await Ok("exec", "rcc", "nslookup", "rcweb");
            Assert.Contains(webIp, byName);
            Assert.Contains("1 packets received", await Ok("exec", "rcc", "ping", "-c", "1", "-W", "2", "rcweb"));
            // ...and other names still reach the container's own server, now as the embedded DNS's upstream.
            Assert.Contains("10.9.8.7", await Ok("exec", "rcc", "nslookup", "-type=a", "thing.berth-test.example"));
            Assert.Contains("thing.berth-test.example", dns.Asked);
            Assert.DoesNotContain("rcweb", dns.Asked);

            // A second user network and leaving one of them: still the embedded DNS.
            await Ok("network", "connect", "rcn2", "rcc");
            await Ok("network", "disconnect", "rcn1", "rcc");
            Assert.Contains("nameserver 127.0.0.11", await Ok("exec", "rcc", "cat", "/etc/resolv.conf"));
            // Leaving the last one: the container's own servers again.
            await Ok("network", "disconnect", "rcn2", "rcc");
            var back = await Ok("exec", "rcc", "cat", "/etc/resolv.conf");
            Assert.Contains($"nameserver {addr}", back);
            Assert.DoesNotContain("127.0.0.11", back);

            // Connected while stopped: the next start writes the embedded DNS's resolv.conf.
            await Ok("create", "--name", "rcs", "--dns", addr.ToString(), "busybox", "sleep", "300");
            await Ok("network", "connect", "rcn1", "rcs");
            await Ok("start", "rcs");
            Assert.Contains("nameserver 127.0.0.11", await Ok("exec", "rcs", "cat", "/etc/resolv.conf"));
            Assert.Contains(webIp, await Ok("exec", "rcs", "nslookup", "rcweb"));
        }
        finally
        {
            foreach (var c in new[] { "rcc", "rcs", "rcweb" }) await d.DockerAsync("rm", "-f", c);
            foreach (var n in new[] { "rcn1", "rcn2" }) await d.DockerAsync("network", "rm", n);
        }
    }
}
