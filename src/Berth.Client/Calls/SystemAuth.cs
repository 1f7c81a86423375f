using Berth.Api;

namespace Berth.Client;

public sealed record SystemAuthOptions
{
    public required AuthConfig Credentials { get; init; }
}

// Status: "Login Succeeded"; IdentityToken: a token to keep instead of the password, when the registry gives one.
public sealed record SystemAuthResult(string Status, string? IdentityToken);

public sealed partial class BerthClient
{
    // POST /auth: the daemon checks the credentials against the registry; a refusal is a DockerApiException (401).
    public async Task<SystemAuthResult> SystemAuthAsync(SystemAuthOptions options, CancellationToken ct = default)
    {
        var body = new ByteArrayContent(RegistryAuth.Json(options.Credentials));
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var r = await SendForAsync(HttpMethod.Post, "/auth", null, body, ApiJsonContext.Default.AuthResponse, ct).ConfigureAwait(false);
        return new SystemAuthResult(r.Status, string.IsNullOrEmpty(r.IdentityToken) ? null : r.IdentityToken);
    }
}
