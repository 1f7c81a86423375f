using System.Text;
using System.Text.Json;
using Berth.Core;
using Berth.Core.Interop;
using Berth.Network.Firewall;
using Berth.Network.Interop;
using Berth.Network.Ipam;
using Berth.Network.Linux;

namespace Berth.Network.Drivers;

/// <summary>
/// Docker's bridge driver: a Linux bridge holding the gateway address, one veth pair per endpoint (host end on the
/// bridge, the other end as eth0 in the sandbox), NAT and forwarding rules through <see cref="IFirewall"/>.
/// Endpoints are plumbed over rtnetlink (no process spawns: they are on the container-start path); the rarer
/// network setup and reconcile use `ip`.
/// </summary>
internal sealed class BridgeDriver : INetworkDriver
{
    /// <summary>Host ends are "vb" + 10 hex of the endpoint ID: findable, and within IFNAMSIZ.</summary>
    public const string HostVethPrefix = "vb";

    private readonly IFirewall _firewall;

    public BridgeDriver(IFirewall firewall) => _firewall = firewall;

    public string Type => "bridge";

    public static string HostVethName(string endpointId) => HostVethPrefix + endpointId[..10];

    public static bool IsHostVethName(string name) =>
        name.Length == HostVethPrefix.Length + 10 && name.StartsWith(HostVethPrefix, StringComparison.Ordinal)
        && name.AsSpan(HostVethPrefix.Length).ContainsAnyExcept("0123456789abcdef") == false;

    public async Task EnsureNetworkAsync(NetworkConfig network, CancellationToken ct)
    {
        var br = network.InterfaceName;
        var sys = $"/sys/class/net/{br}";
        bool exists = Directory.Exists(sys);
        if (exists && !Directory.Exists($"{sys}/bridge"))
            throw BerthException.Conflict($"interface {br} exists and is not a bridge");

        var batch = new StringBuilder();
        if (!exists) batch.Append($"link add name {br} mtu {network.Mtu} type bridge\n");
        batch.Append($"addr replace {Ipv4.Format(network.Gateway)}/{network.Subnet.PrefixLen} brd + dev {br}\n");
        batch.Append($"link set {br} up\n");
        await HostTool.RunCheckedAsync("ip", ["-batch", "-"], batch.ToString(), $"set up bridge {br}", ct).ConfigureAwait(false);

        EnableIpv4Forwarding();
        await _firewall.AddNetworkAsync(new BridgeFirewallConfig
        {
            BridgeName = br,
            Subnet = network.Subnet,
            Masquerade = network.Masquerade,
            Internal = network.Internal,
            Icc = network.Icc,
            Gateway = network.Gateway,
        }, ct).ConfigureAwait(false);
    }

    public async Task DeleteNetworkAsync(NetworkConfig network, CancellationToken ct)
    {
        await _firewall.RemoveNetworkAsync(network.InterfaceName, ct).ConfigureAwait(false);
        await DeleteLinkAsync(network.InterfaceName, ct).ConfigureAwait(false);
    }

    public async Task CreateEndpointAsync(NetworkConfig network, EndpointRecord ep, string netnsPath, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        uint ip = Ipv4.Parse(ep.IPv4);
        var mac = Convert.FromHexString(ep.MacAddress.Replace(":", "", StringComparison.Ordinal));
        int nsFd = NetSys.Open(netnsPath, NetSys.O_RDONLY | NetSys.O_CLOEXEC);
        if (nsFd < 0 && Sys.Errno == Sys.ENOENT)
            throw BerthException.NotFound($"network namespace {netnsPath} not found");
        Sys.CheckIo(nsFd, $"open network namespace {netnsPath}");
        using var host = RtNetlink.Open();
        try
        {
            // The peer is created directly inside the sandbox under its final name, so there is no rename or move
            // step, and the host end joins the bridge and comes up in the same request.
            int bridge = host.GetIndex(network.InterfaceName);
            host.CreateVeth(ep.HostVeth, network.Mtu, bridge, ep.Interface, mac, nsFd,
                $"create veth {ep.HostVeth} for container {ep.ContainerId}");
        }
        finally
        {
            NetSys.Close(nsFd);
        }

        try
        {
            using var inside = Sandbox.NetnsManager.TakeSocket(netnsPath) ?? await RtNetlink.OpenInNamespaceAsync(netnsPath).ConfigureAwait(false);
            var what = $"configure {ep.Interface} of container {ep.ContainerId}";
            int index = inside.GetIndex(ep.Interface);
            inside.AddAddress(index, ip, ep.PrefixLen, network.Subnet.Broadcast, what);
            // Up before the route: the kernel refuses a gateway on a link that is down.
            inside.SetUp(index, what);
            if (!ep.NoDefaultRoute) inside.AddDefaultRoute(Ipv4.Parse(ep.Gateway), index, what);
        }
        catch
        {
            host.DeleteLink(ep.HostVeth);
            throw;
        }
    }

    public Task DeleteEndpointAsync(NetworkConfig network, EndpointRecord ep, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var host = RtNetlink.Open();
        host.DeleteLink(ep.HostVeth);
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<string>> RemoveOrphanLinksAsync(NetworkConfig network, IReadOnlySet<string> liveLinks, CancellationToken ct)
    {
        if (!Directory.Exists($"/sys/class/net/{network.InterfaceName}")) return [];
        // Only ports of our own bridge: another daemon on this host (tests run several) owns veths on its bridge.
        var json = await HostTool.RunCheckedAsync("ip", ["-j", "link", "show", "master", network.InterfaceName, "type", "veth"], null,
            $"list ports of {network.InterfaceName}", ct).ConfigureAwait(false);
        var orphans = ParseLinkNames(json).Where(n => IsHostVethName(n) && !liveLinks.Contains(n)).ToList();
        if (orphans.Count == 0) return orphans;
        // -force: a veth whose namespace is being torn down may vanish between the listing and here.
        var batch = string.Concat(orphans.Select(n => $"link del {n}\n"));
        await HostTool.RunAsync("ip", ["-force", "-batch", "-"], batch, ct).ConfigureAwait(false);
        return orphans;
    }

    internal static List<string> ParseLinkNames(string json)
    {
        var names = new List<string>();
        if (string.IsNullOrWhiteSpace(json)) return names;
        using var doc = JsonDocument.Parse(json);
        foreach (var link in doc.RootElement.EnumerateArray())
            if (link.TryGetProperty("ifname", out var n) && n.GetString() is { } name)
                names.Add(name);
        return names;
    }

    private static async Task DeleteLinkAsync(string name, CancellationToken ct)
    {
        var r = await HostTool.RunAsync("ip", ["link", "del", name], null, ct).ConfigureAwait(false);
        if (r.ExitCode != 0 && !r.Stderr.Contains("Cannot find device", StringComparison.Ordinal))
            throw new BerthException(ErrorKind.Unknown, $"delete link {name}: {r.Stderr.Trim()}");
    }

    private static void EnableIpv4Forwarding()
    {
        const string path = "/proc/sys/net/ipv4/ip_forward";
        if (File.ReadAllText(path).Trim() != "1")
            File.WriteAllText(path, "1");
    }

    private static string Num(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
