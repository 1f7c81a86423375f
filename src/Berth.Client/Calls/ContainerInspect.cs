using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record ContainerInspectOptions
{
    public bool Size { get; init; }
}

public sealed record ContainerInspectResult(JsonObject Raw);

public sealed partial class BerthClient
{
    public async Task<ContainerInspectResult> ContainerInspectAsync(string id, ContainerInspectOptions? options = null, CancellationToken ct = default)
    {
        var node = await SendForNodeAsync(HttpMethod.Get, $"/containers/{Escape(id)}/json", new Query().Flag("size", options?.Size ?? false), null, ct).ConfigureAwait(false);
        return new ContainerInspectResult(node as JsonObject ?? []);
    }
}
