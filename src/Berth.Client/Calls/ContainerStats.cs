namespace Berth.Client;

public sealed record ContainerStatsOptions
{
    /// <summary>One sample per second until the caller disposes the stream; false = one sample.</summary>
    public bool Stream { get; init; } = true;

    /// <summary>With Stream false: answer at once, without waiting for a second reading to fill precpu_stats.</summary>
    public bool OneShot { get; init; }
}

// Newline-delimited ContainerStatsResponse documents; the caller disposes the stream.
public sealed record ContainerStatsResult(Stream Body);

public sealed partial class BerthClient
{
    public async Task<ContainerStatsResult> ContainerStatsAsync(string id, ContainerStatsOptions? options = null, CancellationToken ct = default)
    {
        options ??= new ContainerStatsOptions();
        var query = new Query().Flag("stream", options.Stream, includeFalse: true).Flag("one-shot", options.OneShot);
        var response = await SendAsync(HttpMethod.Get, $"/containers/{Escape(id)}/stats", query, null, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        return new ContainerStatsResult(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
    }
}
