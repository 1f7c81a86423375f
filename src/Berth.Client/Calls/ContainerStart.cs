namespace Berth.Client;

public sealed record ContainerStartOptions
{
    public string? DetachKeys { get; init; }
}

public sealed record ContainerStartResult;

public sealed partial class BerthClient
{
    public async Task<ContainerStartResult> ContainerStartAsync(string id, ContainerStartOptions? options = null, CancellationToken ct = default)
    {
        await SendAndDiscardAsync(HttpMethod.Post, $"/containers/{Escape(id)}/start", new Query().Add("detachKeys", options?.DetachKeys), null, ct).ConfigureAwait(false);
        return new ContainerStartResult();
    }
}
