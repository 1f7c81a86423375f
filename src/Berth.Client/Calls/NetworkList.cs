using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record NetworkListOptions
{
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

public sealed record NetworkListResult(JsonArray Items);

public sealed partial class BerthClient
{
    public async Task<NetworkListResult> NetworkListAsync(NetworkListOptions? options = null, CancellationToken ct = default)
    {
        var node = await SendForNodeAsync(HttpMethod.Get, "/networks", new Query().Filters(options?.Filters), null, ct).ConfigureAwait(false);
        return new NetworkListResult(node as JsonArray ?? []);
    }
}
