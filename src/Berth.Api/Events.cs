using System.Text.Json.Serialization;

namespace Berth.Api;

/// <summary>Who an event is about: a container, image, volume, network or the daemon, with key/value details.</summary>
public sealed record EventActor
{
    public string ID { get; init; } = "";
    public Dictionary<string, string> Attributes { get; init; } = new();
}

/// <summary>
/// One line of <c>GET /events</c>. <c>status</c>, <c>id</c> and <c>from</c> are the pre-1.22 fields dockerd still
/// fills for container and image events (left out otherwise), so they come first and only when set.
/// </summary>
public sealed record EventMessage
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("status")] public string? Status { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("id")] public string? Id { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("from")] public string? From { get; init; }
    public string Type { get; init; } = "";
    public string Action { get; init; } = "";
    public EventActor Actor { get; init; } = new();
    [JsonPropertyName("scope")] public string Scope { get; init; } = "local";
    [JsonPropertyName("time")] public long Time { get; init; }
    [JsonPropertyName("timeNano")] public long TimeNano { get; init; }
}
