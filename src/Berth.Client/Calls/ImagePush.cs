namespace Berth.Client;

public sealed record ImagePushOptions
{
    // One tag of the repository; null pushes every tag it has locally (docker push -a).
    public string? Tag { get; init; }
    // os[/arch[/variant]]: push that platform's manifest alone.
    public string? Platform { get; init; }
    // The X-Registry-Auth value (RegistryAuth.Encode); null pushes anonymously.
    public string? RegistryAuth { get; init; }
}

// Stream: the daemon's JSON-message progress stream; its last aux message carries {Tag, Digest, Size}.
public sealed record ImagePushResult(Stream Stream);

public sealed partial class BerthClient
{
    // name: the repository without tag, as docker's client sends it (FamiliarName: "busybox", "localhost:5000/app").
    public async Task<ImagePushResult> ImagePushAsync(string name, ImagePushOptions options, CancellationToken ct = default)
    {
        var query = new Query().Add("tag", options.Tag ?? "").Add("platform", options.Platform);
        var response = await SendWithRegistryAuthAsync(HttpMethod.Post, $"/images/{name}/push", query, options.RegistryAuth, ct).ConfigureAwait(false);
        return new ImagePushResult(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
    }
}
