using System.Text.Json.Nodes;
using Berth.Api;

namespace Berth.Client;

public sealed record VolumeCreateOptions
{
    public string? Name { get; init; }
    public string? Driver { get; init; }
    public Dictionary<string, string>? DriverOpts { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
}

public sealed record VolumeCreateResult(JsonObject Raw);

public sealed partial class BerthClient
{
    public async Task<VolumeCreateResult> VolumeCreateAsync(VolumeCreateOptions options, CancellationToken ct = default)
    {
        var body = new VolumeCreateRequest { Name = options.Name, Driver = options.Driver, DriverOpts = options.DriverOpts, Labels = options.Labels };
        var node = await SendForNodeAsync(HttpMethod.Post, "/volumes/create", null, JsonContent(body, ApiJsonContext.Default.VolumeCreateRequest), ct).ConfigureAwait(false);
        return new VolumeCreateResult(node as JsonObject ?? []);
    }
}
