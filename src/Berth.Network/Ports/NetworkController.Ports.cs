using Berth.Core;
using Berth.Network.Ports;

namespace Berth.Network;

// Published ports (-p/-P): reserved host ports and DNAT rules, per endpoint. Publish after ConnectAsync; the ports go
// with the endpoint in DisconnectAsync, so every path that releases an endpoint releases its ports too.
public sealed partial class NetworkController
{
    private PortMapper? _portMapper;

    private PortMapper PortMapper => LazyInitializer.EnsureInitialized(ref _portMapper, () => new PortMapper(_firewall));

    /// <summary>
    /// Publishes <paramref name="requests"/> for <paramref name="endpoint"/> (a bridge endpoint from
    /// <see cref="ConnectAsync"/>): all or nothing; a host port in use is a <see cref="ErrorKind.Conflict"/>
    /// ("Bind for 0.0.0.0:8080 failed: port is already allocated") and then nothing is left behind.
    /// </summary>
    public Task<IReadOnlyList<PublishedPort>> PublishPortsAsync(EndpointRecord endpoint, IReadOnlyList<PortRequest> requests, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count == 0) return Task.FromResult<IReadOnlyList<PublishedPort>>([]);
        var info = Find(endpoint.NetworkId) ?? Find(endpoint.Network)
            ?? throw BerthException.NotFound($"network {endpoint.Network} not found");
        // dockerd publishes nothing on macvlan (the containers are on the parent's network already) and says nothing.
        if (info.Driver == MacvlanDriverName) return Task.FromResult<IReadOnlyList<PublishedPort>>([]);
        if (info.BridgeName is null || info.Subnet is null)
            throw BerthException.Invalid($"network {info.Name} (driver {info.Driver}) cannot publish ports");
        return PortMapper.PublishAsync(endpoint, info.BridgeName, info.Subnet, requests, ct);
    }

    /// <summary>
    /// Removes the endpoint's published ports (rules, then reservations); none is not an error. A failing nft call does
    /// not stop the endpoint's removal: the rules are out of the model, so the table's next apply (at the latest the
    /// daemon's next start) drops them.
    /// </summary>
    public async Task UnpublishPortsAsync(string endpointId, CancellationToken ct)
    {
        try
        {
            await PortMapper.UnpublishAsync(endpointId, ct).ConfigureAwait(false);
        }
        catch (BerthException e) when (e.Kind == ErrorKind.Unknown)
        {
            // Deliberately quiet: DisconnectAsync must still delete the veth and free the address.
        }
    }

    /// <summary>
    /// Daemon start, before <see cref="InitializeAsync(IReadOnlyCollection{EndpointRecord}, IReadOnlyCollection{string}, CancellationToken)"/>:
    /// the published ports of live-restored containers. Initialization installs their rules and drops all others.
    /// </summary>
    public void RestorePorts(IEnumerable<PublishedPort> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        PortMapper.Restore(ports);
    }
}
