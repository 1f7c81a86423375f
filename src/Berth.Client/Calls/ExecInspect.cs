using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record ExecInspectResult(JsonObject Raw)
{
    public bool Running => Raw["Running"] is JsonValue v && v.GetValue<bool>();

    public int? ExitCode => Raw["ExitCode"] is JsonValue v && v.TryGetValue<int>(out var code) ? code : null;
}

public sealed partial class BerthClient
{
    public async Task<ExecInspectResult> ExecInspectAsync(string execId, CancellationToken ct = default)
    {
        var node = await SendForNodeAsync(HttpMethod.Get, $"/exec/{Escape(execId)}/json", null, null, ct).ConfigureAwait(false);
        return new ExecInspectResult(node as JsonObject ?? []);
    }
}
