namespace Berth.Client;

public sealed record ImageTagOptions
{
    public required string Repository { get; init; }
    public string? Tag { get; init; }
}

public sealed record ImageTagResult;

public sealed partial class BerthClient
{
    public async Task<ImageTagResult> ImageTagAsync(string source, ImageTagOptions options, CancellationToken ct = default)
    {
        var query = new Query().Add("repo", options.Repository).Add("tag", options.Tag);
        await SendAndDiscardAsync(HttpMethod.Post, $"/images/{ImagePath(source)}/tag", query, null, ct).ConfigureAwait(false);
        return new ImageTagResult();
    }
}
