using Berth.Api;

namespace Berth.Client;

public sealed record VolumePruneOptions
{
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

public sealed record VolumePruneResult(VolumePruneReport Report);

public sealed partial class BerthClient
{
    public async Task<VolumePruneResult> VolumePruneAsync(VolumePruneOptions? options = null, CancellationToken ct = default)
    {
        var r = await SendForAsync(HttpMethod.Post, "/volumes/prune", new Query().Filters(options?.Filters), null, ApiJsonContext.Default.VolumePruneReport, ct).ConfigureAwait(false);
        return new VolumePruneResult(r);
    }
}
