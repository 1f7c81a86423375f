namespace Berth.Client;

public sealed record ContainerRemoveOptions
{
    public bool Force { get; init; }
    public bool RemoveVolumes { get; init; }
    public bool RemoveLinks { get; init; }
}

public sealed record ContainerRemoveResult;

public sealed partial class BerthClient
{
    public async Task<ContainerRemoveResult> ContainerRemoveAsync(string id, ContainerRemoveOptions? options = null, CancellationToken ct = default)
    {
        var query = new Query().Flag("force", options?.Force ?? false).Flag("v", options?.RemoveVolumes ?? false).Flag("link", options?.RemoveLinks ?? false);
        await SendAndDiscardAsync(HttpMethod.Delete, $"/containers/{Escape(id)}", query, null, ct).ConfigureAwait(false);
        return new ContainerRemoveResult();
    }
}
