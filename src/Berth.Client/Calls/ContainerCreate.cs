using Berth.Api;

namespace Berth.Client;

public sealed record ContainerCreateOptions
{
    public string? Name { get; init; }
    public string? Platform { get; init; }
    public required ContainerCreateRequest Config { get; init; }
}

public sealed record ContainerCreateResult(string Id, IReadOnlyList<string> Warnings);

public sealed partial class BerthClient
{
    public async Task<ContainerCreateResult> ContainerCreateAsync(ContainerCreateOptions options, CancellationToken ct = default)
    {
        var query = new Query().Add("name", options.Name).Add("platform", options.Platform);
        var response = await SendForAsync(HttpMethod.Post, "/containers/create", query,
            JsonContent(options.Config, ApiJsonContext.Default.ContainerCreateRequest), ApiJsonContext.Default.ContainerCreateResponse, ct).ConfigureAwait(false);
        return new ContainerCreateResult(response.Id, response.Warnings ?? []);
    }
}
