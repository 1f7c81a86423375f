namespace Berth.Client;

public sealed record PingResult(string? ApiVersion, string? OSType, bool Experimental);

public sealed partial class BerthClient
{
    public async Task<PingResult> PingAsync(CancellationToken ct = default)
    {
        using var response = await SendRawAsync(HttpMethod.Get, "/_ping", null, ct, HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
        string? Header(string name) => response.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault() : null;
        return new PingResult(Header("Api-Version"), Header("OSType"), Header("Docker-Experimental") == "true");
    }
}
