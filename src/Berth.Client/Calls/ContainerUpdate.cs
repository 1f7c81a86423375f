using Berth.Api;

namespace Berth.Client;

public sealed record ContainerUpdateResult(IReadOnlyList<string> Warnings);

public sealed partial class BerthClient
{
    public async Task<ContainerUpdateResult> ContainerUpdateAsync(string id, ContainerUpdateRequest update, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var r = await SendForAsync(HttpMethod.Post, $"/containers/{Escape(id)}/update", null,
            JsonContent(update, ApiJsonContext.Default.ContainerUpdateRequest), ApiJsonContext.Default.ContainerUpdateResponse, ct).ConfigureAwait(false);
        return new ContainerUpdateResult(r.Warnings ?? []);
    }
}
