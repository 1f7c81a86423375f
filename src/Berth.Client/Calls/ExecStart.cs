using System.Text.Json;

namespace Berth.Client;

public sealed record ExecStartOptions
{
    public bool Detach { get; init; }
    public bool Tty { get; init; }
}

// Connection: the hijacked stream when attached; null when detached.
public sealed record ExecStartResult(HijackedConnection? Connection);

public sealed partial class BerthClient
{
    // Attached: POST /exec/{id}/start with a JSON body *and* Upgrade: tcp, as the docker CLI sends it.
    public async Task<ExecStartResult> ExecStartAsync(string execId, ExecStartOptions options, CancellationToken ct = default)
    {
        var request = new ExecStartRequest { Detach = options.Detach, Tty = options.Tty };
        if (options.Detach)
        {
            await SendAndDiscardAsync(HttpMethod.Post, $"/exec/{Escape(execId)}/start", null,
                JsonContent(request, ClientJsonContext.Default.ExecStartRequest), ct).ConfigureAwait(false);
            return new ExecStartResult(null);
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(request, ClientJsonContext.Default.ExecStartRequest);
        var connection = await HijackAsync($"/exec/{Escape(execId)}/start", null, body, "application/json", ct).ConfigureAwait(false);
        return new ExecStartResult(connection);
    }
}
