using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record VolumeInspectResult(JsonObject Raw);

public sealed partial class BerthClient
{
    public async Task<VolumeInspectResult> VolumeInspectAsync(string name, CancellationToken ct = default)
    {
        var node = await SendForNodeAsync(HttpMethod.Get, $"/volumes/{Escape(name)}", null, null, ct).ConfigureAwait(false);
        return new VolumeInspectResult(node as JsonObject ?? []);
    }
}
