using Berth.Api;

namespace Berth.Client;

public sealed record ImagePruneOptions
{
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

public sealed record ImagePruneResult(ImagePruneReport Report);

public sealed partial class BerthClient
{
    public async Task<ImagePruneResult> ImagePruneAsync(ImagePruneOptions? options = null, CancellationToken ct = default)
    {
        var r = await SendForAsync(HttpMethod.Post, "/images/prune", new Query().Filters(options?.Filters), null, ApiJsonContext.Default.ImagePruneReport, ct).ConfigureAwait(false);
        return new ImagePruneResult(r);
    }
}
