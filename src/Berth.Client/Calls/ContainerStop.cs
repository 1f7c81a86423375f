namespace Berth.Client;

public sealed record ContainerStopOptions
{
    public string? Signal { get; init; }
    public int? Timeout { get; init; }
}

public sealed record ContainerStopResult;

public sealed partial class BerthClient
{
    public async Task<ContainerStopResult> ContainerStopAsync(string id, ContainerStopOptions? options = null, CancellationToken ct = default)
    {
        var query = new Query().Add("signal", options?.Signal).Add("t", options?.Timeout);
        await SendAndDiscardAsync(HttpMethod.Post, $"/containers/{Escape(id)}/stop", query, null, ct).ConfigureAwait(false);
        return new ContainerStopResult();
    }
}
