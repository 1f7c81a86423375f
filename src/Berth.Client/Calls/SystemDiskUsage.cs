using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record SystemDiskUsageOptions
{
    // container, image, volume, build-cache; none means all.
    public IReadOnlyList<string>? Types { get; init; }
}

// The daemon's answer as sent (LayersSize, Images, Containers, Volumes, BuildCache).
public sealed record SystemDiskUsageResult(JsonObject Raw);

public sealed partial class BerthClient
{
    public async Task<SystemDiskUsageResult> SystemDiskUsageAsync(SystemDiskUsageOptions? options = null, CancellationToken ct = default)
    {
        var query = new Query();
        foreach (var t in options?.Types ?? [])
        {
            query.Add("type", t);
        }
        var node = await SendForNodeAsync(HttpMethod.Get, "/system/df", query, null, ct).ConfigureAwait(false);
        return new SystemDiskUsageResult(node as JsonObject ?? []);
    }
}
