using Berth.Core;
using Berth.Network.Drivers;
using Berth.Network.Ipam;
using Berth.Network.Sandbox;

namespace Berth.Network;

// A container's exit, fast. Deleting a veth is the slowest step of a container's whole network life: the kernel waits
// out RCU grace periods before RTM_DELLINK answers (about 20 ms on the 2-core development machine, most of the time
// the default bridge adds to `docker run --rm`). Nobody waiting for the exit needs the link gone, so the controller
// splits the teardown: what a next container could trip over happens at once, the link deletion on a thread of its
// own, and the address goes back to IPAM only when its link is gone (never two live links with one address).
public sealed partial class NetworkController
{
    // Guarded by _lock: link deletions in flight, by container ID.
    private readonly Dictionary<string, Task> _releasing = new(StringComparer.Ordinal);

    /// <summary>
    /// Container exit: releases the container's sandbox with its endpoints, the kernel's slow part in the background.
    /// When this returns, published ports are free, the embedded DNS no longer knows the container, the endpoints
    /// are off the books (a restart connects anew) and the namespace file is gone; bridge links are deleted and their
    /// addresses freed shortly after (<see cref="WhenReleasedAsync"/>). <paramref name="recorded"/>: the endpoints the
    /// container's record has, in case one is not booked here (their links are deleted all the same).
    /// </summary>
    public async Task ReleaseSandboxAsync(string containerId, IEnumerable<EndpointRecord> recorded, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(recorded);
        var path = _netns.PathFor(containerId);
        List<EndpointRecord> all;
        lock (_lock) all = _endpoints.Values.Where(e => e.ContainerId == containerId).ToList();
        foreach (var r in recorded)
            if (!all.Any(e => e.EndpointId == r.EndpointId)) all.Add(r);
        StopResolver(containerId);

        var deferred = new List<(EndpointRecord Endpoint, AddressPool? Pool)>();
        foreach (var ep in all)
        {
            await UnpublishPortsAsync(ep.EndpointId, ct).ConfigureAwait(false);
            if (!BridgeDriver.IsHostVethName(ep.HostVeth))
            {
                // Not a bridge endpoint (macvlan: its link lives in the sandbox): the driver's own removal, now.
                await DisconnectCoreAsync(ep, ct).ConfigureAwait(false);
                continue;
            }
            AddressPool? pool = null;
            lock (_lock)
            {
                _bridgeNets.TryGetValue(ep.NetworkId, out var net);
                if (net is null && ep.Network == _bridge.Name) net = _bridgeNets[_bridge.Id];
                var key = (ep.ContainerId, net?.Info.Id ?? ep.NetworkId);
                // Only the endpoint we booked frees its address (as in DisconnectCoreAsync); the address stays taken
                // until the link is gone.
                if (_endpoints.TryGetValue(key, out var booked) && booked.EndpointId == ep.EndpointId)
                {
                    _endpoints.Remove(key);
                    pool = net?.Pool;
                }
            }
            deferred.Add((ep, pool));
        }
        NetnsManager.RemovePath(path);
        if (deferred.Count == 0) return;

        Task deleting;
        lock (_lock)
        {
            var before = _releasing.GetValueOrDefault(containerId) ?? Task.CompletedTask;
            // A thread of its own (LongRunning): RTM_DELLINK blocks it for the kernel's grace periods, which must not
            // hold up the thread pool when many containers exit at once.
            deleting = before.ContinueWith(_ => DeleteLinks(deferred), CancellationToken.None,
                TaskContinuationOptions.LongRunning, TaskScheduler.Default);
            _releasing[containerId] = deleting;
        }
        _ = deleting.ContinueWith(t =>
        {
            lock (_lock)
                if (_releasing.TryGetValue(containerId, out var cur) && cur == t) _releasing.Remove(containerId);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Completes when the links of the container's last <see cref="ReleaseSandboxAsync"/> are deleted.</summary>
    public Task WhenReleasedAsync(string containerId)
    {
        lock (_lock) return _releasing.GetValueOrDefault(containerId) ?? Task.CompletedTask;
    }

    /// <summary>Completes when every link deletion in flight is done (a requested address may be one of theirs; daemon stop).</summary>
    public Task WhenAllReleasedAsync()
    {
        lock (_lock) return _releasing.Count == 0 ? Task.CompletedTask : Task.WhenAll(_releasing.Values.ToList());
    }

    private void DeleteLinks(List<(EndpointRecord Endpoint, AddressPool? Pool)> endpoints)
    {
        foreach (var (ep, pool) in endpoints)
        {
            try
            {
                // The bridge driver deletes by name only; the network config is not consulted.
                _bridgeDriver.DeleteEndpointAsync(_bridge, ep, CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (Exception)
            {
                // Never a faulted task: explicit removals and the daemon's stop wait on it.
                // Left for the reconcile at the next daemon start (the link is not a live endpoint's then); the
                // namespace is unmounted, so the kernel deletes the pair anyway once nothing holds it.
            }
            finally
            {
                pool?.Release(Ipv4.Parse(ep.IPv4));
            }
        }
    }
}
