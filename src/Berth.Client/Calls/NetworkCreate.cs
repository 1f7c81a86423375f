using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record NetworkIpamPool
{
    public string? Subnet { get; init; }
    public string? Gateway { get; init; }
    public string? IPRange { get; init; }
    public IReadOnlyDictionary<string, string>? AuxAddresses { get; init; }
}

public sealed record NetworkCreateOptions
{
    public required string Name { get; init; }
    public string? Driver { get; init; }
    public bool Internal { get; init; }
    public bool Attachable { get; init; }
    public bool? EnableIPv4 { get; init; }
    public bool? EnableIPv6 { get; init; }
    public string? Scope { get; init; }
    public string? IpamDriver { get; init; }
    public IReadOnlyList<NetworkIpamPool> Pools { get; init; } = [];
    public IReadOnlyDictionary<string, string>? IpamOptions { get; init; }
    public IReadOnlyDictionary<string, string>? Options { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

public sealed record NetworkCreateResult(string Id, string? Warning);

public sealed partial class BerthClient
{
    public async Task<NetworkCreateResult> NetworkCreateAsync(NetworkCreateOptions options, CancellationToken ct = default)
    {
        var body = new JsonObject
        {
            ["Name"] = options.Name,
            ["Driver"] = options.Driver ?? "bridge",
            ["Internal"] = options.Internal,
            ["Attachable"] = options.Attachable,
            ["Scope"] = options.Scope,
            ["IPAM"] = new JsonObject
            {
                ["Driver"] = options.IpamDriver ?? "default",
                ["Config"] = new JsonArray(options.Pools.Select(p => (JsonNode)new JsonObject
                {
                    ["Subnet"] = p.Subnet,
                    ["Gateway"] = p.Gateway,
                    ["IPRange"] = p.IPRange,
                    ["AuxiliaryAddresses"] = Map(p.AuxAddresses),
                }).ToArray()),
                ["Options"] = Map(options.IpamOptions),
            },
            ["Options"] = Map(options.Options),
            ["Labels"] = Map(options.Labels),
        };
        if (options.EnableIPv4 is { } v4)
        {
            body["EnableIPv4"] = v4;
        }
        if (options.EnableIPv6 is { } v6)
        {
            body["EnableIPv6"] = v6;
        }
        var node = await SendForNodeAsync(HttpMethod.Post, "/networks/create", null, NodeContent(body), ct).ConfigureAwait(false);
        var warning = node?["Warning"]?.ToString();
        return new NetworkCreateResult(node?["Id"]?.ToString() ?? "", string.IsNullOrEmpty(warning) ? null : warning);
    }

    internal static JsonObject? Map(IReadOnlyDictionary<string, string>? map)
    {
        if (map is null || map.Count == 0)
        {
            return null;
        }
        var o = new JsonObject();
        foreach (var (k, v) in map)
        {
            o[k] = v;
        }
        return o;
    }

    internal static HttpContent NodeContent(JsonNode node) => new StringContent(node.ToJsonString(), Encoding.UTF8, "application/json");
}
