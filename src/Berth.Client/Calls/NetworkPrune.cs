using Berth.Api;

namespace Berth.Client;

public sealed record NetworkPruneOptions
{
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

public sealed record NetworkPruneResult(NetworkPruneReport Report);

public sealed partial class BerthClient
{
    public async Task<NetworkPruneResult> NetworkPruneAsync(NetworkPruneOptions? options = null, CancellationToken ct = default)
    {
        var r = await SendForAsync(HttpMethod.Post, "/networks/prune", new Query().Filters(options?.Filters), null, ApiJsonContext.Default.NetworkPruneReport, ct).ConfigureAwait(false);
        return new NetworkPruneResult(r);
    }
}
