using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record VolumeListOptions
{
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

public sealed record VolumeListResult(JsonArray Volumes, IReadOnlyList<string> Warnings);

public sealed partial class BerthClient
{
    public async Task<VolumeListResult> VolumeListAsync(VolumeListOptions? options = null, CancellationToken ct = default)
    {
        var node = await SendForNodeAsync(HttpMethod.Get, "/volumes", new Query().Filters(options?.Filters), null, ct).ConfigureAwait(false);
        var volumes = node?["Volumes"] as JsonArray ?? [];
        var warnings = (node?["Warnings"] as JsonArray)?.Select(w => w?.ToString() ?? "").ToList() ?? [];
        return new VolumeListResult(volumes, warnings);
    }
}
