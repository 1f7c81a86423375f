using Berth.Api;

namespace Berth.Client;

public sealed record ContainerTopOptions
{
    public IReadOnlyList<string> Arguments { get; init; } = [];
}

public sealed record ContainerTopResult(IReadOnlyList<string> Titles, IReadOnlyList<IReadOnlyList<string>> Processes);

public sealed partial class BerthClient
{
    public async Task<ContainerTopResult> ContainerTopAsync(string id, ContainerTopOptions? options = null, CancellationToken ct = default)
    {
        var args = options?.Arguments ?? [];
        var query = new Query().Add("ps_args", args.Count > 0 ? string.Join(' ', args) : null);
        var r = await SendForAsync(HttpMethod.Get, $"/containers/{Escape(id)}/top", query, null, ApiJsonContext.Default.ContainerTopResponse, ct).ConfigureAwait(false);
        return new ContainerTopResult(r.Titles ?? [], r.Processes ?? []);
    }
}
