namespace Berth.Client;

public sealed record VolumeRemoveOptions
{
    public bool Force { get; init; }
}

public sealed record VolumeRemoveResult;

public sealed partial class BerthClient
{
    public async Task<VolumeRemoveResult> VolumeRemoveAsync(string name, VolumeRemoveOptions? options = null, CancellationToken ct = default)
    {
        await SendAndDiscardAsync(HttpMethod.Delete, $"/volumes/{Escape(name)}", new Query().Flag("force", options?.Force ?? false), null, ct).ConfigureAwait(false);
        return new VolumeRemoveResult();
    }
}
