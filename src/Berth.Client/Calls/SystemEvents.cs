using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record SystemEventsOptions
{
    // Unix timestamps as the API takes them ("1700000000.000000000"); the CLI resolves durations and dates first.
    public string? Since { get; init; }
    public string? Until { get; init; }
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Filters { get; init; }
}

public sealed partial class BerthClient
{
    // GET /events: each event as the daemon sent it, until the stream ends (until reached) or ct is cancelled.
    public async IAsyncEnumerable<JsonObject> SystemEventsAsync(SystemEventsOptions? options = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        options ??= new();
        var query = new Query().Add("since", options.Since).Add("until", options.Until).Filters(options.Filters);
        using var response = await SendAsync(HttpMethod.Get, "/events", query, null, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }
            JsonObject? obj;
            try
            {
                obj = JsonNode.Parse(line) as JsonObject;
            }
            catch (JsonException)
            {
                obj = null;
            }
            if (obj is not null)
            {
                yield return obj;
            }
        }
    }
}
