using System.Net.Http.Headers;

namespace Berth.Client;

public sealed record ImageImportOptions
{
    // The tarball; null with SourceUrl set imports from a URL the daemon fetches.
    public Stream? Source { get; init; }
    public string? SourceUrl { get; init; }
    public string? Repository { get; init; }
    public string? Tag { get; init; }
    public string? Message { get; init; }
    public IReadOnlyList<string> Changes { get; init; } = [];
    public string? Platform { get; init; }
}

// Stream: the daemon's JSON-message progress stream; the caller disposes it.
public sealed record ImageImportResult(Stream Stream);

public sealed partial class BerthClient
{
    public async Task<ImageImportResult> ImageImportAsync(ImageImportOptions options, CancellationToken ct = default)
    {
        var query = new Query()
            .Add("fromSrc", options.Source is null ? options.SourceUrl : "-")
            .Add("repo", options.Repository)
            .Add("tag", options.Tag)
            .Add("message", options.Message)
            .Add("platform", options.Platform);
        foreach (var change in options.Changes)
        {
            query.Add("changes", change);
        }
        HttpContent? content = null;
        if (options.Source is not null)
        {
            content = new StreamContent(options.Source);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        }
        var response = await SendAsync(HttpMethod.Post, "/images/create", query, content, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        return new ImageImportResult(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
    }
}
