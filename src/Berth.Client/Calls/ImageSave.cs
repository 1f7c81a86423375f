namespace Berth.Client;

public sealed record ImageSaveOptions
{
    // Names or IDs; several go into one archive, with shared layers once.
    public required IReadOnlyList<string> Images { get; init; }
}

// Archive: the tar stream (Docker's manifest.json plus an OCI layout); the caller disposes it.
public sealed record ImageSaveResult(Stream Archive);

public sealed partial class BerthClient
{
    public async Task<ImageSaveResult> ImageSaveAsync(ImageSaveOptions options, CancellationToken ct = default)
    {
        var query = new Query();
        foreach (var name in options.Images)
        {
            query.Add("names", name);
        }
        var response = await SendAsync(HttpMethod.Get, "/images/get", query, null, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        return new ImageSaveResult(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
    }
}
