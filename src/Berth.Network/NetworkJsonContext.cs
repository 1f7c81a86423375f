using System.Text.Json.Serialization;

namespace Berth.Network;

/// <summary>The stable IDs of the predefined networks, kept in &lt;DataRoot&gt;/network/networks.json.</summary>
internal sealed record PredefinedNetworkIds
{
    public string Bridge { get; init; } = "";
    public string Host { get; init; } = "";
    public string None { get; init; } = "";
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(PredefinedNetworkIds))]
[JsonSerializable(typeof(NetworkRecord))]
internal sealed partial class NetworkJsonContext : JsonSerializerContext;
