using System.Collections.Immutable;
using Berth.Core;
using Berth.Network.Linux;

namespace Berth.Network.Firewall;

/// <summary>Keeps the typed model of table <c>ip &lt;table&gt;</c> and pushes the whole table on every change.</summary>
internal sealed class NftablesFirewall : IFirewall
{
    private readonly string _table;
    // Serializes model change + apply, so the kernel always ends up with the latest model; held across the nft
    // call on purpose (firewall updates are rare: network create/remove).
    private readonly SemaphoreSlim _apply = new(1, 1);
    private ImmutableDictionary<string, BridgeFirewallConfig> _networks = ImmutableDictionary<string, BridgeFirewallConfig>.Empty;
    // Published ports by endpoint ID; changed under _apply like _networks.
    private ImmutableDictionary<string, IReadOnlyList<PublishedPort>> _ports = ImmutableDictionary<string, IReadOnlyList<PublishedPort>>.Empty;

    public NftablesFirewall(string table)
    {
        if (string.IsNullOrEmpty(table) || table.Length > 64 || !table.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            throw BerthException.Invalid($"invalid nftables table name \"{table}\"");
        _table = table;
    }

    public string Table => _table;

    public Task AddNetworkAsync(BridgeFirewallConfig network, CancellationToken ct) =>
        ChangeAsync(m => m.SetItem(network.BridgeName, network), ct);

    public Task RemoveNetworkAsync(string bridgeName, CancellationToken ct) =>
        ChangeAsync(m => m.Remove(bridgeName), ct);

    public Task AddPortsAsync(string endpointId, IReadOnlyList<PublishedPort> ports, CancellationToken ct) =>
        ChangePortsAsync(m => m.SetItem(endpointId, ports), ct);

    // Every endpoint's removal passes here; most have no ports, and the immutable model can be read without the lock.
    public Task RemovePortsAsync(string endpointId, CancellationToken ct) =>
        Volatile.Read(ref _ports).ContainsKey(endpointId) ? ChangePortsAsync(m => m.Remove(endpointId), ct, keepOnFailure: true) : Task.CompletedTask;

    public void SeedPorts(IEnumerable<KeyValuePair<string, IReadOnlyList<PublishedPort>>> ports)
    {
        _apply.Wait();
        try { _ports = _ports.SetItems(ports); }
        finally { _apply.Release(); }
    }

    /// <param name="keepOnFailure">
    /// A removal stays in the model even when nft fails: the endpoint is gone either way, and the next apply of the
    /// table must not bring its rules back.
    /// </param>
    private async Task ChangePortsAsync(Func<ImmutableDictionary<string, IReadOnlyList<PublishedPort>>, ImmutableDictionary<string, IReadOnlyList<PublishedPort>>> change, CancellationToken ct, bool keepOnFailure = false)
    {
        await _apply.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var next = change(_ports);
            if (next == _ports) return; // nothing of ours changes: no nft call (a container without ports stopping)
            if (keepOnFailure) _ports = next;
            await HostTool.RunCheckedAsync("nft", ["-f", "-"], NftRuleset.Render(_table, _networks.Values, AllPorts(next)),
                $"apply nftables table ip {_table}", ct).ConfigureAwait(false);
            _ports = next;
        }
        finally
        {
            _apply.Release();
        }
    }

    private static List<PublishedPort> AllPorts(ImmutableDictionary<string, IReadOnlyList<PublishedPort>> ports) =>
        ports.Values.SelectMany(p => p).ToList();

    public async Task RemoveAllAsync(CancellationToken ct)
    {
        await _apply.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _networks = _networks.Clear();
            _ports = _ports.Clear();
            // Same add-then-delete trick: removing a table that is not there is not an error.
            await HostTool.RunCheckedAsync("nft", ["-f", "-"], $"add table ip {_table}\ndelete table ip {_table}\n",
                $"remove nftables table ip {_table}", ct).ConfigureAwait(false);
        }
        finally
        {
            _apply.Release();
        }
    }

    private async Task ChangeAsync(Func<ImmutableDictionary<string, BridgeFirewallConfig>, ImmutableDictionary<string, BridgeFirewallConfig>> change, CancellationToken ct)
    {
        await _apply.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var next = change(_networks);
            await HostTool.RunCheckedAsync("nft", ["-f", "-"], NftRuleset.Render(_table, next.Values, AllPorts(_ports)),
                $"apply nftables table ip {_table}", ct).ConfigureAwait(false);
            _networks = next;
        }
        finally
        {
            _apply.Release();
        }
    }
}
