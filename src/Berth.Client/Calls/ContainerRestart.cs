namespace Berth.Client;

public sealed record ContainerRestartOptions
{
    public string? Signal { get; init; }
    public int? Timeout { get; init; }
}

public sealed record ContainerRestartResult;

public sealed partial class BerthClient
{
    public async Task<ContainerRestartResult> ContainerRestartAsync(string id, ContainerRestartOptions? options = null, CancellationToken ct = default)
    {
        var query = new Query().Add("signal", options?.Signal).Add("t", options?.Timeout);
        await SendAndDiscardAsync(HttpMethod.Post, $"/containers/{Escape(id)}/restart", query, null, ct).ConfigureAwait(false);
        return new ContainerRestartResult();
    }
}
