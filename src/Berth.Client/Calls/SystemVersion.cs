using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record ServerVersionResult(JsonObject Raw);

public sealed record SystemInfoResult(JsonObject Raw);

public sealed partial class BerthClient
{
    public async Task<ServerVersionResult> ServerVersionAsync(CancellationToken ct = default)
    {
        var node = await SendForNodeAsync(HttpMethod.Get, "/version", null, null, ct).ConfigureAwait(false);
        return new ServerVersionResult(node as JsonObject ?? []);
    }

    public async Task<SystemInfoResult> SystemInfoAsync(CancellationToken ct = default)
    {
        var node = await SendForNodeAsync(HttpMethod.Get, "/info", null, null, ct).ConfigureAwait(false);
        return new SystemInfoResult(node as JsonObject ?? []);
    }
}
