using Berth.Core;
using Berth.Core.Interop;
using Berth.Network.Interop;
using Berth.Network.Ipam;
using Berth.Network.Linux;

namespace Berth.Network.Drivers;

/// <summary>
/// Docker's macvlan driver: each endpoint is a macvlan link over the network's parent interface, made directly inside
/// the sandbox as eth0/ethN with the endpoint's MAC and address. No bridge, no firewall rules, no host-side link: a
/// link goes with its sandbox. The one host object the driver may own is an 802.1q sub-interface (parent IFACE.VLAN)
/// that it created for the network; the controller decides when the last network using it is gone.
/// </summary>
internal sealed class MacvlanDriver : INetworkDriver
{
    public const string ParentOption = "parent", ModeOption = "macvlan_mode";

    private readonly Func<string, string> _sandboxPath;

    /// <param name="sandboxPath">Where a container's network namespace is (to remove an endpoint inside it).</param>
    public MacvlanDriver(Func<string, string> sandboxPath) => _sandboxPath = sandboxPath;

    public string Type => "macvlan";

    /// <summary>The macvlan mode of <paramref name="network"/> (Docker's default: bridge).</summary>
    public static string ModeOf(NetworkConfig network) =>
        network.Options.TryGetValue(ModeOption, out var m) && m.Length > 0 ? m : "bridge";

    /// <summary>Splits "eth0.10" into the base link and the VLAN ID; false when the name has no such form.</summary>
    public static bool TryParseVlan(string parent, out string baseLink, out string vlan)
    {
        baseLink = vlan = "";
        var parts = parent.Split('.');
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0) return false;
        (baseLink, vlan) = (parts[0], parts[1]);
        return true;
    }

    public async Task EnsureNetworkAsync(NetworkConfig network, CancellationToken ct)
    {
        var parent = network.InterfaceName;
        // A parent that is missing at daemon start (someone removed it) is not fatal: its endpoints fail to connect
        // with a clear message. Only a sub-interface this driver made for the network is made again.
        if (LinkExists(parent) || !network.OwnsInterface) return;
        await CreateVlanAsync(parent, ct).ConfigureAwait(false);
    }

    public async Task DeleteNetworkAsync(NetworkConfig network, CancellationToken ct)
    {
        // Never the user's parent: only an IFACE.VLAN sub-interface this driver created (and the controller says no
        // other network uses any more).
        if (!network.OwnsInterface || !TryParseVlan(network.InterfaceName, out _, out _) || !LinkExists(network.InterfaceName)) return;
        // And only while it is still a vlan link: a name reused by someone else since is theirs.
        var show = await HostTool.RunAsync("ip", ["-d", "-j", "link", "show", network.InterfaceName], null, ct).ConfigureAwait(false);
        if (show.ExitCode != 0 || !show.Stdout.Contains("\"info_kind\":\"vlan\"", StringComparison.Ordinal)) return;
        var r = await HostTool.RunAsync("ip", ["link", "del", network.InterfaceName], null, ct).ConfigureAwait(false);
        if (r.ExitCode != 0 && !r.Stderr.Contains("Cannot find device", StringComparison.Ordinal))
            throw new BerthException(ErrorKind.Unknown, $"delete vlan link {network.InterfaceName}: {r.Stderr.Trim()}");
    }

    /// <summary>Creates the 802.1q sub-interface IFACE.VLAN over IFACE and brings it up; a kernel without 802.1q → 400.</summary>
    public static async Task CreateVlanAsync(string parent, CancellationToken ct)
    {
        if (!TryParseVlan(parent, out var baseLink, out var vlan))
            throw BerthException.Invalid($"invalid subinterface vlan name {parent}, example formatting is eth0.10");
        var r = await HostTool.RunAsync("ip", ["link", "add", "link", baseLink, "name", parent, "type", "vlan", "id", vlan], null, ct).ConfigureAwait(false);
        if (r.ExitCode != 0)
        {
            var why = r.Stderr.Trim();
            // The kernel answers "Unknown device type" (no 8021q module) or "Operation not supported".
            if (why.Contains("Unknown device type", StringComparison.OrdinalIgnoreCase) || why.Contains("not supported", StringComparison.OrdinalIgnoreCase))
                throw BerthException.Invalid(
                    $"failed to create {parent} vlan link: 802.1q VLAN devices are not available on this host (the kernel refused: {why}); " +
                    $"create the sub-interface yourself or use a parent without a VLAN ID");
            throw BerthException.Invalid($"failed to create {parent} vlan link: {why}");
        }
        var up = await HostTool.RunAsync("ip", ["link", "set", parent, "up"], null, ct).ConfigureAwait(false);
        if (up.ExitCode != 0)
        {
            await HostTool.RunAsync("ip", ["link", "del", parent], null, CancellationToken.None).ConfigureAwait(false);
            throw BerthException.Invalid($"failed to enable {parent} the macvlan parent link: {up.Stderr.Trim()}");
        }
    }

    public static bool LinkExists(string name) =>
        name.Length > 0 && !name.Contains('/') && name is not ("." or "..") && Directory.Exists($"/sys/class/net/{name}");

    public async Task CreateEndpointAsync(NetworkConfig network, EndpointRecord ep, string netnsPath, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var mode = RtNetlink.MacvlanMode(ModeOf(network))
                   ?? throw BerthException.Invalid($"requested macvlan mode '{ModeOf(network)}' is not valid, 'bridge' mode is the macvlan driver default");
        uint ip = Ipv4.Parse(ep.IPv4);
        var mac = Convert.FromHexString(ep.MacAddress.Replace(":", "", StringComparison.Ordinal));
        int nsFd = NetSys.Open(netnsPath, NetSys.O_RDONLY | NetSys.O_CLOEXEC);
        if (nsFd < 0 && Sys.Errno == Sys.ENOENT)
            throw BerthException.NotFound($"network namespace {netnsPath} not found");
        Sys.CheckIo(nsFd, $"open network namespace {netnsPath}");
        try
        {
            using var host = RtNetlink.Open();
            int parent;
            try
            {
                parent = host.GetIndex(network.InterfaceName);
            }
            catch (BerthException e) when (e.Kind == ErrorKind.NotFound)
            {
                throw BerthException.Invalid($"the parent interface {network.InterfaceName} of macvlan network {network.Name} was not found on the host");
            }
            host.CreateMacvlan(ep.Interface, parent, mode, mac, nsFd, $"create the macvlan port {ep.Interface} of container {ep.ContainerId} on {network.InterfaceName}");
        }
        finally
        {
            NetSys.Close(nsFd);
        }

        using var inside = await RtNetlink.OpenInNamespaceAsync(netnsPath).ConfigureAwait(false);
        try
        {
            var what = $"configure {ep.Interface} of container {ep.ContainerId}";
            int index = inside.GetIndex(ep.Interface);
            inside.AddAddress(index, ip, ep.PrefixLen, network.Subnet.Broadcast, what);
            inside.SetUp(index, what);
            if (!ep.NoDefaultRoute && ep.Gateway.Length > 0) inside.AddDefaultRoute(Ipv4.Parse(ep.Gateway), index, what);
        }
        catch
        {
            inside.DeleteLink(ep.Interface);
            throw;
        }
    }

    public async Task DeleteEndpointAsync(NetworkConfig network, EndpointRecord ep, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        // The link lives in the sandbox only; a sandbox already gone took it along.
        var path = _sandboxPath(ep.ContainerId);
        if (!File.Exists(path)) return;
        RtNetlink inside;
        try
        {
            inside = await RtNetlink.OpenInNamespaceAsync(path).ConfigureAwait(false);
        }
        catch (BerthException)
        {
            return; // an empty mount point (the namespace was unmounted): nothing of ours is left in it
        }
        using (inside) inside.DeleteLink(ep.Interface);
    }

    /// <summary>No host-side links: every macvlan link lives (and dies) in its sandbox, which the controller reconciles.</summary>
    public Task<IReadOnlyList<string>> RemoveOrphanLinksAsync(NetworkConfig network, IReadOnlySet<string> liveLinks, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<string>>([]);
}
