namespace Berth.Client;

public sealed record ContainerPauseResult;

public sealed record ContainerUnpauseResult;

public sealed partial class BerthClient
{
    public async Task<ContainerPauseResult> ContainerPauseAsync(string id, CancellationToken ct = default)
    {
        await SendAndDiscardAsync(HttpMethod.Post, $"/containers/{Escape(id)}/pause", null, null, ct).ConfigureAwait(false);
        return new ContainerPauseResult();
    }

    public async Task<ContainerUnpauseResult> ContainerUnpauseAsync(string id, CancellationToken ct = default)
    {
        await SendAndDiscardAsync(HttpMethod.Post, $"/containers/{Escape(id)}/unpause", null, null, ct).ConfigureAwait(false);
        return new ContainerUnpauseResult();
    }
}
