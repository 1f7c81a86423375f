using System.Text.Json.Serialization;

namespace Berth.Api;

/// <summary>
/// Registry credentials: the body of <c>POST /auth</c>, and (base64url-encoded JSON) the <c>X-Registry-Auth</c>
/// header of pull and push.
/// </summary>
public sealed record AuthConfig
{
    [JsonPropertyName("username")] public string? Username { get; init; }
    [JsonPropertyName("password")] public string? Password { get; init; }

    /// <summary>base64(username:password), as config.json keeps it; an alternative to the two fields.</summary>
    [JsonPropertyName("auth")] public string? Auth { get; init; }
    [JsonPropertyName("email")] public string? Email { get; init; }
    [JsonPropertyName("serveraddress")] public string? ServerAddress { get; init; }
    [JsonPropertyName("identitytoken")] public string? IdentityToken { get; init; }
    [JsonPropertyName("registrytoken")] public string? RegistryToken { get; init; }
}

/// <summary>The answer of <c>POST /auth</c>.</summary>
public sealed record AuthResponse
{
    public string Status { get; init; } = "";

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? IdentityToken { get; init; }
}
