namespace Berth.Client;

public sealed partial class BerthClient
{
    /// <summary>POST /containers/{id}/resize: the terminal size of a container created with a TTY.</summary>
    public Task ContainerResizeAsync(string id, int height, int width, CancellationToken ct = default) =>
        SendAndDiscardAsync(HttpMethod.Post, $"/containers/{Escape(id)}/resize", new Query().Add("h", height).Add("w", width), null, ct);

    /// <summary>POST /exec/{id}/resize: the terminal size of an exec started with a TTY.</summary>
    public Task ExecResizeAsync(string execId, int height, int width, CancellationToken ct = default) =>
        SendAndDiscardAsync(HttpMethod.Post, $"/exec/{Escape(execId)}/resize", new Query().Add("h", height).Add("w", width), null, ct);
}
