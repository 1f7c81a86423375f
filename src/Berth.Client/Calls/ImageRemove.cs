using Berth.Api;

namespace Berth.Client;

public sealed record ImageRemoveOptions
{
    public bool Force { get; init; }
    public bool NoPrune { get; init; }
}

public sealed record ImageRemoveResult(IReadOnlyList<ImageDeleteResponseItem> Items);

public sealed partial class BerthClient
{
    public async Task<ImageRemoveResult> ImageRemoveAsync(string name, ImageRemoveOptions? options = null, CancellationToken ct = default)
    {
        var query = new Query().Flag("force", options?.Force ?? false).Flag("noprune", options?.NoPrune ?? false);
        var items = await SendForAsync(HttpMethod.Delete, $"/images/{ImagePath(name)}", query, null, ApiJsonContext.Default.ListImageDeleteResponseItem, ct).ConfigureAwait(false);
        return new ImageRemoveResult(items);
    }
}
