using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record ContainerListOptions
{
    public bool All { get; init; }
    public int? Limit { get; init; }
    public bool Size { get; init; }
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

// Items are the daemon's ContainerSummary objects as sent, so templates see every field.
public sealed record ContainerListResult(JsonArray Items);

public sealed partial class BerthClient
{
    public async Task<ContainerListResult> ContainerListAsync(ContainerListOptions? options = null, CancellationToken ct = default)
    {
        options ??= new();
        var query = new Query().Flag("all", options.All).Add("limit", options.Limit is > 0 ? options.Limit : null).Flag("size", options.Size).Filters(options.Filters);
        var node = await SendForNodeAsync(HttpMethod.Get, "/containers/json", query, null, ct).ConfigureAwait(false);
        return new ContainerListResult(node as JsonArray ?? []);
    }
}
