using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record ImageInspectOptions
{
    public string? Platform { get; init; }
}

public sealed record ImageInspectResult(JsonObject Raw);

public sealed partial class BerthClient
{
    public async Task<ImageInspectResult> ImageInspectAsync(string name, ImageInspectOptions? options = null, CancellationToken ct = default)
    {
        var node = await SendForNodeAsync(HttpMethod.Get, $"/images/{ImagePath(name)}/json", new Query().Add("platform", options?.Platform), null, ct).ConfigureAwait(false);
        return new ImageInspectResult(node as JsonObject ?? []);
    }

    // Image names keep their slashes in the path (/images/library/busybox/json), like docker.
    internal static string ImagePath(string name) => string.Join('/', name.Split('/').Select(Escape));
}
