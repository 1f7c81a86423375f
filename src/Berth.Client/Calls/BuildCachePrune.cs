using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record BuildCachePruneOptions
{
    public bool All { get; init; }
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

public sealed record BuildCachePruneResult(IReadOnlyList<string> CachesDeleted, long SpaceReclaimed);

public sealed partial class BerthClient
{
    public async Task<BuildCachePruneResult> BuildCachePruneAsync(BuildCachePruneOptions? options = null, CancellationToken ct = default)
    {
        var query = new Query().Flag("all", options?.All ?? false).Filters(options?.Filters);
        var node = await SendForNodeAsync(HttpMethod.Post, "/build/prune", query, null, ct).ConfigureAwait(false) as JsonObject;
        var deleted = (node?["CachesDeleted"] as JsonArray)?.Select(n => n?.ToString() ?? "").ToList() ?? [];
        var space = node?["SpaceReclaimed"] is JsonValue v && v.TryGetValue<long>(out var s) ? s : 0;
        return new BuildCachePruneResult(deleted, space);
    }
}
