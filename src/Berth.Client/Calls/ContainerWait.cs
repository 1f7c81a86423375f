using System.Text.Json;
using Berth.Api;

namespace Berth.Client;

public sealed record ContainerWaitOptions
{
    // "not-running" (default), "next-exit" or "removed".
    public string? Condition { get; init; }

    // How long to wait for the response headers (the daemon's sign that the wait is registered) before
    // returning anyway; null waits for them. A fallback for daemons that answer only at exit.
    public TimeSpan? RegistrationTimeout { get; init; }
}

// Exit: completes when the container stops. When ContainerWaitAsync returns, the daemon has answered with
// headers (the wait is registered), so starting afterwards cannot miss a fast exit.
public sealed record ContainerWaitResult(Task<ContainerWaitResponse> Exit);

public sealed partial class BerthClient
{
    public async Task<ContainerWaitResult> ContainerWaitAsync(string id, ContainerWaitOptions? options = null, CancellationToken ct = default)
    {
        var send = SendAsync(HttpMethod.Post, $"/containers/{Escape(id)}/wait", new Query().Add("condition", options?.Condition), null, ct,
            HttpCompletionOption.ResponseHeadersRead);
        var exit = ReadWaitAsync(send, ct);
        if (options?.RegistrationTimeout is { } timeout)
        {
            await Task.WhenAny(send, Task.Delay(timeout, ct)).ConfigureAwait(false);
            if (send.IsCompleted)
            {
                // Surface errors (no such container) right away.
                await send.ConfigureAwait(false);
            }
        }
        else
        {
            await send.ConfigureAwait(false);
        }
        return new ContainerWaitResult(exit);
    }

    private static async Task<ContainerWaitResponse> ReadWaitAsync(Task<HttpResponseMessage> send, CancellationToken ct)
    {
        using var response = await send.ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync(stream, ApiJsonContext.Default.ContainerWaitResponse, ct).ConfigureAwait(false)
            ?? throw new DockerApiException(500, "empty wait response");
    }
}
