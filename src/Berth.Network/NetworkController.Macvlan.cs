using Berth.Core;
using Berth.Network.Drivers;

namespace Berth.Network;

/// <summary>
/// The macvlan driver's part of the controller: which driver serves a network, and dockerd's checks of
/// `docker network create -d macvlan -o parent=IFACE [-o macvlan_mode=MODE]`. Networks of both drivers share the
/// bookkeeping of user networks (IPAM, endpoints, embedded DNS); only the kernel side differs.
/// </summary>
public sealed partial class NetworkController
{
    public const string MacvlanDriverName = "macvlan";

    private MacvlanDriver? _macvlanDriver;

    private INetworkDriver DriverFor(NetworkConfig network) =>
        network.Driver == MacvlanDriverName
            ? LazyInitializer.EnsureInitialized(ref _macvlanDriver, () => new MacvlanDriver(_netns.PathFor))
            : _bridgeDriver;

    /// <summary>The driver of an endpoint whose network may be gone already: macvlan endpoints have no host link.</summary>
    private INetworkDriver DriverFor(NetworkConfig? network, EndpointRecord endpoint) =>
        network is not null ? DriverFor(network)
        : endpoint.HostVeth.Length == 0 ? DriverFor(new NetworkConfig
        {
            Name = endpoint.Network, Id = endpoint.NetworkId, Driver = MacvlanDriverName, Subnet = default, Gateway = 0, InterfaceName = "",
        })
        : _bridgeDriver;

    /// <summary>
    /// dockerd's macvlan checks, before anything is made: a valid mode, a parent that is given (dockerd makes a dummy
    /// parent when there is none; this kernel has no dummy devices), not the loopback, existing on the host or of the
    /// form IFACE.VLAN over an existing IFACE (then the driver creates it), and passthru alone on its parent.
    /// Returns the parent and whether the driver owns it. Call with <see cref="_networkOps"/> held.
    /// </summary>
    private (string Parent, bool OwnsParent) CheckMacvlan(Dictionary<string, string> options)
    {
        var mode = options.TryGetValue(MacvlanDriver.ModeOption, out var m) && m.Length > 0 ? m : "bridge";
        if (Linux.RtNetlink.MacvlanMode(mode) is null)
            throw BerthException.Invalid($"requested macvlan mode '{mode}' is not valid, 'bridge' mode is the macvlan driver default");
        var parent = options.TryGetValue(MacvlanDriver.ParentOption, out var p) ? p : "";
        if (parent == "lo") throw BerthException.Invalid("loopback interface is not a valid macvlan parent link");
        if (parent.Length == 0)
            throw BerthException.Invalid(
                "macvlan networks need a parent interface here: -o parent=IFACE is required " +
                "(dockerd would create a dummy parent, but this host's kernel has no dummy devices)");
        if (parent.Length > 15 || parent.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || char.IsControl(c)) || parent is "." or "..")
            throw BerthException.Invalid($"invalid parent interface name \"{parent}\"");

        List<BridgeNet> sameParent;
        lock (_lock)
            sameParent = _bridgeNets.Values.Where(n => n.Config.Driver == MacvlanDriverName && n.Config.InterfaceName == parent).ToList();
        foreach (var other in sameParent)
        {
            if (mode == "passthru")
                throw BerthException.Conflict($"cannot use mode passthru, macvlan network {other.Info.Id} is already using parent interface {parent}");
            if (MacvlanDriver.ModeOf(other.Config) == "passthru")
                throw BerthException.Conflict($"macvlan network {other.Info.Id} is already using parent interface {parent} in mode passthru");
        }

        if (MacvlanDriver.LinkExists(parent))
            // A sub-interface the driver made for another network stays the driver's: removed with the last of them.
            return (parent, sameParent.Any(n => n.Config.OwnsInterface));
        if (!parent.Contains('.'))
            throw BerthException.Invalid($"-o parent interface was not found on the host: {parent}");
        if (!MacvlanDriver.TryParseVlan(parent, out var baseLink, out var vlanText))
            throw BerthException.Invalid($"required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received {parent}");
        if (!int.TryParse(vlanText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var vlan))
            throw BerthException.Invalid($"unable to parse a valid vlan id from: {vlanText} (ex. eth0.10 for vlan 10)");
        if (!MacvlanDriver.LinkExists(baseLink))
            throw BerthException.Invalid($"-o parent interface was not found on the host: {baseLink}");
        if (vlan is < 1 or > 4094)
            throw BerthException.Invalid($"vlan id must be between 1-4094, received: {vlan}");
        return (parent, true);
    }

    /// <summary>
    /// The config to remove <paramref name="net"/> with: an interface the driver made stays while another network
    /// (still in <see cref="_bridgeNets"/>) uses it.
    /// </summary>
    private NetworkConfig RemovalConfig(BridgeNet net)
    {
        if (net.Config.Driver != MacvlanDriverName || !net.Config.OwnsInterface) return net.Config;
        bool shared;
        lock (_lock)
            shared = _bridgeNets.Values.Any(n => n != net && n.Config.Driver == MacvlanDriverName && n.Config.InterfaceName == net.Config.InterfaceName);
        return shared ? net.Config with { OwnsInterface = false } : net.Config;
    }
}
