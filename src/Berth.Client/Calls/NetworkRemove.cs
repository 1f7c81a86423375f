namespace Berth.Client;

public sealed record NetworkRemoveResult;

public sealed partial class BerthClient
{
    public async Task<NetworkRemoveResult> NetworkRemoveAsync(string name, CancellationToken ct = default)
    {
        await SendAndDiscardAsync(HttpMethod.Delete, $"/networks/{Escape(name)}", null, null, ct).ConfigureAwait(false);
        return new NetworkRemoveResult();
    }
}
