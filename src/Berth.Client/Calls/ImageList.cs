using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record ImageListOptions
{
    public bool All { get; init; }
    public bool SharedSize { get; init; }
    public bool Digests { get; init; }
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

public sealed record ImageListResult(JsonArray Items);

public sealed partial class BerthClient
{
    public async Task<ImageListResult> ImageListAsync(ImageListOptions? options = null, CancellationToken ct = default)
    {
        options ??= new();
        var query = new Query().Flag("all", options.All).Flag("shared-size", options.SharedSize).Flag("digests", options.Digests).Filters(options.Filters);
        var node = await SendForNodeAsync(HttpMethod.Get, "/images/json", query, null, ct).ConfigureAwait(false);
        return new ImageListResult(node as JsonArray ?? []);
    }
}
