using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record NetworkInspectResult(JsonObject Raw);

public sealed partial class BerthClient
{
    public async Task<NetworkInspectResult> NetworkInspectAsync(string name, CancellationToken ct = default)
    {
        var node = await SendForNodeAsync(HttpMethod.Get, $"/networks/{Escape(name)}", null, null, ct).ConfigureAwait(false);
        return new NetworkInspectResult(node as JsonObject ?? []);
    }
}
