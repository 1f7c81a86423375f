using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record ImageHistoryOptions
{
    public string? Platform { get; init; }
}

public sealed record ImageHistoryResult(JsonArray Items);

public sealed partial class BerthClient
{
    public async Task<ImageHistoryResult> ImageHistoryAsync(string name, ImageHistoryOptions? options = null, CancellationToken ct = default)
    {
        var node = await SendForNodeAsync(HttpMethod.Get, $"/images/{ImagePath(name)}/history", new Query().Add("platform", options?.Platform), null, ct).ConfigureAwait(false);
        return new ImageHistoryResult(node as JsonArray ?? []);
    }
}
