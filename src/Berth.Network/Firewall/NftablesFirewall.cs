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

    public async Task RemoveAllAsync(CancellationToken ct)
    {
        await _apply.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _networks = _networks.Clear();
            // Same add-then-delete trick: removing a table that is not there is not an error.
            await Command.RunCheckedAsync("nft", ["-f", "-"], $"add table ip {_table}\ndelete table ip {_table}\n",
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
            await Command.RunCheckedAsync("nft", ["-f", "-"], NftRuleset.Render(_table, next.Values),
                $"apply nftables table ip {_table}", ct).ConfigureAwait(false);
            _networks = next;
        }
        finally
        {
            _apply.Release();
        }
    }
}
