namespace Berth.Client;

public sealed record ImagePullOptions
{
    // A full repository name (docker.io/library/busybox); the CLI normalizes what the user typed.
    public required string Repository { get; init; }
    // A tag or a digest (sha256:...); null pulls every tag.
    public string? Tag { get; init; }
    public string? Platform { get; init; }
    // The X-Registry-Auth value (RegistryAuth.Encode); null pulls anonymously.
    public string? RegistryAuth { get; init; }
}

// Stream: the daemon's JSON-message progress stream; an error in it is a message with "error", not a status code.
public sealed record ImagePullResult(Stream Stream);

public sealed partial class BerthClient
{
    public async Task<ImagePullResult> ImagePullAsync(ImagePullOptions options, CancellationToken ct = default)
    {
        var query = new Query().Add("fromImage", options.Repository).Add("tag", options.Tag).Add("platform", options.Platform);
        var response = await SendWithRegistryAuthAsync(HttpMethod.Post, "/images/create", query, options.RegistryAuth, ct).ConfigureAwait(false);
        return new ImagePullResult(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
    }
}
