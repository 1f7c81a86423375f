namespace Berth.Client;

public sealed record ContainerKillOptions
{
    public string? Signal { get; init; }
}

public sealed record ContainerKillResult;

public sealed partial class BerthClient
{
    public async Task<ContainerKillResult> ContainerKillAsync(string id, ContainerKillOptions? options = null, CancellationToken ct = default)
    {
        await SendAndDiscardAsync(HttpMethod.Post, $"/containers/{Escape(id)}/kill", new Query().Add("signal", options?.Signal), null, ct).ConfigureAwait(false);
        return new ContainerKillResult();
    }
}
