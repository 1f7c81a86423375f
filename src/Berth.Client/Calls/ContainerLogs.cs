namespace Berth.Client;

public sealed record ContainerLogsOptions
{
    public bool Follow { get; init; }
    public bool Stdout { get; init; } = true;
    public bool Stderr { get; init; } = true;
    public string? Since { get; init; }
    public string? Until { get; init; }
    public bool Timestamps { get; init; }
    public string? Tail { get; init; }
    public bool Details { get; init; }
}

// Stream is multiplexed (StdCopy) unless the container has a TTY; the caller disposes it.
public sealed record ContainerLogsResult(Stream Stream);

public sealed partial class BerthClient
{
    public async Task<ContainerLogsResult> ContainerLogsAsync(string id, ContainerLogsOptions options, CancellationToken ct = default)
    {
        var query = new Query()
            .Flag("stdout", options.Stdout)
            .Flag("stderr", options.Stderr)
            .Flag("follow", options.Follow)
            .Flag("timestamps", options.Timestamps)
            .Flag("details", options.Details)
            .Add("since", options.Since)
            .Add("until", options.Until)
            .Add("tail", options.Tail);
        var response = await SendAsync(HttpMethod.Get, $"/containers/{Escape(id)}/logs", query, null, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        return new ContainerLogsResult(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
    }
}
