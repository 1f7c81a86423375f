using System.Net.Http.Headers;

namespace Berth.Client;

public sealed record ImageLoadOptions
{
    // The archive: docker save's format, Docker's legacy one or an OCI layout; plain or gzip.
    public required Stream Archive { get; init; }
    // No per-layer progress, only the "Loaded image" lines.
    public bool Quiet { get; init; }
}

// Stream: the daemon's JSON-message stream; an error in it is a message with "error", not a status code.
public sealed record ImageLoadResult(Stream Stream);

public sealed partial class BerthClient
{
    public async Task<ImageLoadResult> ImageLoadAsync(ImageLoadOptions options, CancellationToken ct = default)
    {
        var query = new Query().Add("quiet", options.Quiet ? "1" : "0");
        var content = new StreamContent(options.Archive, 1 << 16);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        var response = await SendAsync(HttpMethod.Post, "/images/load", query, content, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        return new ImageLoadResult(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
    }
}
