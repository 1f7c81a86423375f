using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Api;

/// <summary>Docker's error body: <c>{"message": "..."}</c>.</summary>
public sealed record ErrorResponse
{
    [JsonPropertyName("message")] public string Message { get; init; } = "";
}

public sealed record IdResponse
{
    public string Id { get; init; } = "";
}

/// <summary>One line of a JSON-message stream (import, pull, push, build, load).</summary>
public sealed record JsonMessage
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("status")] public string? Status { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("id")] public string? Id { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("progress")] public string? Progress { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("progressDetail")] public ProgressDetail? ProgressDetail { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("stream")] public string? Stream { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("error")] public string? Error { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("errorDetail")] public ErrorDetail? ErrorDetail { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("aux")] public JsonElement? Aux { get; init; }
}

public sealed record ProgressDetail
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("current")] public long? Current { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)][JsonPropertyName("total")] public long? Total { get; init; }
}

public sealed record ErrorDetail
{
    [JsonPropertyName("code")] public int? Code { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
}

/// <summary>What <c>POST /containers/prune</c> answers (the list is null when nothing was deleted, as dockerd's).</summary>
public sealed record ContainerPruneReport
{
    public IReadOnlyList<string>? ContainersDeleted { get; init; }
    public long SpaceReclaimed { get; init; }
}

/// <summary>What <c>POST /images/prune</c> answers.</summary>
public sealed record ImagePruneReport
{
    public IReadOnlyList<ImageDeleteResponseItem>? ImagesDeleted { get; init; }
    public long SpaceReclaimed { get; init; }
}

/// <summary>What <c>POST /volumes/prune</c> answers.</summary>
public sealed record VolumePruneReport
{
    public IReadOnlyList<string>? VolumesDeleted { get; init; }
    public long SpaceReclaimed { get; init; }
}

/// <summary>What <c>POST /networks/prune</c> answers: names alone, a network holds no space.</summary>
public sealed record NetworkPruneReport
{
    public IReadOnlyList<string>? NetworksDeleted { get; init; }
}

/// <summary>Docker's <c>filters</c> query parameter: a JSON map of name → list of values (older clients send name → {value: true}).</summary>
public sealed class Filters
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public static Filters Parse(string? json)
    {
        var f = new Filters();
        if (string.IsNullOrWhiteSpace(json)) return f;
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new FormatException("filters must be a JSON object");
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var list = new List<string>();
            if (p.Value.ValueKind == JsonValueKind.Array)
            {
                foreach (var v in p.Value.EnumerateArray()) list.Add(v.ToString());
            }
            else if (p.Value.ValueKind == JsonValueKind.Object)
            {
                // The old shape: {"status": {"running": true}}; a false value leaves the term out.
                foreach (var v in p.Value.EnumerateObject())
                    if (v.Value.ValueKind != JsonValueKind.False) list.Add(v.Name);
            }
            else
            {
                throw new FormatException($"invalid filter '{p.Name}'");
            }
            f._values[p.Name] = list;
        }
        return f;
    }

    public void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out var l)) _values[name] = l = [];
        l.Add(value);
    }

    public IReadOnlyCollection<string> Keys => _values.Keys;
    public bool Has(string name) => _values.ContainsKey(name);
    public IReadOnlyList<string> Get(string name) => _values.TryGetValue(name, out var l) ? l : [];
    public bool IsEmpty => _values.Count == 0;

    /// <summary>Rejects filter names the endpoint does not know, like Docker ("invalid filter 'x'").</summary>
    public void Validate(params string[] allowed)
    {
        foreach (var k in _values.Keys)
            if (Array.IndexOf(allowed, k) < 0) throw new FormatException($"invalid filter '{k}'");
    }

    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            foreach (var (k, vs) in _values)
            {
                w.WriteStartArray(k);
                foreach (var v in vs) w.WriteStringValue(v);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }
}
