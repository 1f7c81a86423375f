namespace Berth.Client;

public sealed record ContainerAttachOptions
{
    public bool Stream { get; init; } = true;
    public bool Stdin { get; init; }
    public bool Stdout { get; init; } = true;
    public bool Stderr { get; init; } = true;
    public bool Logs { get; init; }
    public string? DetachKeys { get; init; }
}

public sealed record ContainerAttachResult(HijackedConnection Connection);

public sealed partial class BerthClient
{
    public async Task<ContainerAttachResult> ContainerAttachAsync(string id, ContainerAttachOptions options, CancellationToken ct = default)
    {
        var query = new Query()
            .Flag("stream", options.Stream)
            .Flag("stdin", options.Stdin)
            .Flag("stdout", options.Stdout)
            .Flag("stderr", options.Stderr)
            .Flag("logs", options.Logs)
            .Add("detachKeys", options.DetachKeys);
        var connection = await HijackAsync($"/containers/{Escape(id)}/attach", query, null, null, ct).ConfigureAwait(false);
        return new ContainerAttachResult(connection);
    }
}
