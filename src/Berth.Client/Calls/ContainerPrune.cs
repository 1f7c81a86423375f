using Berth.Api;

namespace Berth.Client;

public sealed record ContainerPruneOptions
{
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

public sealed record ContainerPruneResult(ContainerPruneReport Report);

public sealed partial class BerthClient
{
    public async Task<ContainerPruneResult> ContainerPruneAsync(ContainerPruneOptions? options = null, CancellationToken ct = default)
    {
        var r = await SendForAsync(HttpMethod.Post, "/containers/prune", new Query().Filters(options?.Filters), null, ApiJsonContext.Default.ContainerPruneReport, ct).ConfigureAwait(false);
        return new ContainerPruneResult(r);
    }
}
