using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record NetworkConnectOptions
{
    public required string Container { get; init; }
    public IReadOnlyList<string> Aliases { get; init; } = [];
    public string? IPv4Address { get; init; }
    public string? IPv6Address { get; init; }
    public IReadOnlyDictionary<string, string>? DriverOpts { get; init; }
}

public sealed record NetworkConnectResult;

public sealed record NetworkDisconnectOptions
{
    public required string Container { get; init; }
    public bool Force { get; init; }
}

public sealed record NetworkDisconnectResult;

public sealed partial class BerthClient
{
    public async Task<NetworkConnectResult> NetworkConnectAsync(string network, NetworkConnectOptions options, CancellationToken ct = default)
    {
        var endpoint = new JsonObject
        {
            ["Aliases"] = options.Aliases.Count > 0 ? new JsonArray(options.Aliases.Select(a => (JsonNode)a).ToArray()) : null,
            ["DriverOpts"] = Map(options.DriverOpts),
        };
        if (options.IPv4Address is not null || options.IPv6Address is not null)
        {
            endpoint["IPAMConfig"] = new JsonObject { ["IPv4Address"] = options.IPv4Address, ["IPv6Address"] = options.IPv6Address };
        }
        var body = new JsonObject { ["Container"] = options.Container, ["EndpointConfig"] = endpoint };
        await SendAndDiscardAsync(HttpMethod.Post, $"/networks/{Escape(network)}/connect", null, NodeContent(body), ct).ConfigureAwait(false);
        return new NetworkConnectResult();
    }

    public async Task<NetworkDisconnectResult> NetworkDisconnectAsync(string network, NetworkDisconnectOptions options, CancellationToken ct = default)
    {
        var body = new JsonObject { ["Container"] = options.Container, ["Force"] = options.Force };
        await SendAndDiscardAsync(HttpMethod.Post, $"/networks/{Escape(network)}/disconnect", null, NodeContent(body), ct).ConfigureAwait(false);
        return new NetworkDisconnectResult();
    }
}
