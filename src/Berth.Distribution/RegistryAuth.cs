using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Core;

namespace Berth.Distribution;

/// <summary>What a client proves itself with: a user name and password (or an identity token from an earlier login).</summary>
public sealed record RegistryCredentials(string? Username, string? Password, string? IdentityToken = null, string? RegistryToken = null)
{
    public static readonly RegistryCredentials Anonymous = new(null, null);

    public bool HasSecret => !string.IsNullOrEmpty(Password) || !string.IsNullOrEmpty(IdentityToken) || !string.IsNullOrEmpty(RegistryToken);
}

/// <summary>One <c>WWW-Authenticate</c> challenge: its scheme (<c>Basic</c>, <c>Bearer</c>) and parameters.</summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public string? this[string key] => Parameters.TryGetValue(key, out var v) ? v : null;

    /// <summary>
    /// Parses a header value such as <c>Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"</c>
    /// (RFC 7235: auth-params are token or quoted-string, quoted-pairs allowed). Null when there is no scheme.
    /// </summary>
    public static AuthChallenge? Parse(string? header)
    {
        if (string.IsNullOrWhiteSpace(header)) return null;
        var s = header.AsSpan().Trim();
        int sp = s.IndexOfAny(' ', '\t');
        var scheme = (sp < 0 ? s : s[..sp]).ToString();
        var rest = sp < 0 ? ReadOnlySpan<char>.Empty : s[(sp + 1)..];
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int i = 0;
        while (i < rest.Length)
        {
            while (i < rest.Length && (rest[i] is ' ' or '\t' or ',')) i++;
            int keyStart = i;
            while (i < rest.Length && rest[i] is not ('=' or ',' or ' ')) i++;
            var key = rest[keyStart..i].ToString();
            while (i < rest.Length && rest[i] == ' ') i++;
            if (i >= rest.Length || rest[i] != '=') { if (key.Length > 0) parameters[key] = ""; continue; }
            i++;
            while (i < rest.Length && rest[i] == ' ') i++;
            var value = new StringBuilder();
            if (i < rest.Length && rest[i] == '"')
            {
                i++;
                while (i < rest.Length && rest[i] != '"')
                {
                    if (rest[i] == '\\' && i + 1 < rest.Length) i++;
                    value.Append(rest[i++]);
                }
                i++; // closing quote
            }
            else
            {
                while (i < rest.Length && rest[i] is not (',' or ' ')) value.Append(rest[i++]);
            }
            if (key.Length > 0) parameters[key] = value.ToString();
        }
        return new AuthChallenge(scheme, parameters);
    }
}

/// <summary>A token endpoint's answer (Docker's token spec: <c>token</c>, or OAuth2's <c>access_token</c>).</summary>
internal sealed record TokenResponse
{
    [JsonPropertyName("token")] public string? Token { get; init; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
    [JsonPropertyName("expires_in")] public int? ExpiresIn { get; init; }
    [JsonPropertyName("issued_at")] public DateTimeOffset? IssuedAt { get; init; }
    [JsonPropertyName("refresh_token")] public string? RefreshToken { get; init; }
}

/// <summary>A registry's error body: <c>{"errors":[{"code":"MANIFEST_UNKNOWN","message":"...","detail":...}]}</c>.</summary>
internal sealed record RegistryErrorBody
{
    [JsonPropertyName("errors")] public IReadOnlyList<RegistryErrorItem>? Errors { get; init; }
}

internal sealed record RegistryErrorItem
{
    [JsonPropertyName("code")] public string? Code { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
}

/// <summary><c>GET /v2/&lt;name&gt;/tags/list</c>.</summary>
internal sealed record TagList
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("tags")] public IReadOnlyList<string>? Tags { get; init; }
}

[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(TagList))]
[JsonSerializable(typeof(RegistryErrorBody))]
internal sealed partial class DistributionJsonContext : JsonSerializerContext;

/// <summary>
/// Bearer tokens by realm, service, scope and credentials, kept until shortly before they expire, so that the layers of
/// one pull (and the next pull of the same repository) do not each cost a round trip to the token server.
/// </summary>
public sealed class TokenCache(TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    // Guards _tokens.
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string Token, DateTimeOffset RenewAt)> _tokens = new(StringComparer.Ordinal);

    internal DateTimeOffset Now => _time.GetUtcNow();

    internal (string Token, DateTimeOffset RenewAt)? Get(string key)
    {
        lock (_lock)
        {
            if (!_tokens.TryGetValue(key, out var t)) return null;
            if (t.RenewAt > _time.GetUtcNow()) return t;
            _tokens.Remove(key);
            return null;
        }
    }

    /// <summary>Keeps a token; returns when it is to be renewed (10 s before it expires, so none expires in flight).</summary>
    internal DateTimeOffset Put(string key, string token, TimeSpan lifetime)
    {
        // Docker's minimum lifetime is 60 s.
        var life = lifetime < TimeSpan.FromSeconds(60) ? TimeSpan.FromSeconds(60) : lifetime;
        var renewAt = _time.GetUtcNow() + life - TimeSpan.FromSeconds(10);
        lock (_lock)
        {
            if (_tokens.Count > 1024) _tokens.Clear(); // bounded: a busy daemon talks to a handful of repositories at a time
            _tokens[key] = (token, renewAt);
        }
        return renewAt;
    }

    /// <summary>The cache key: a token is only ever reused with the same credentials (the secret's hash included).</summary>
    internal static string Key(string realm, string? service, string scope, RegistryCredentials creds)
    {
        var secret = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            Encoding.UTF8.GetBytes($"{creds.Password}\n{creds.IdentityToken}")));
        return $"{realm}\n{service}\n{scope}\n{creds.Username}\n{secret}";
    }
}

/// <summary>Answers challenges: Basic with the credentials, Bearer by fetching a token for the scopes.</summary>
internal static class ChallengeResponder
{
    /// <summary>The Authorization header to send, and when it must be renewed (null: never, for Basic).</summary>
    public static async Task<(AuthenticationHeaderValue Header, DateTimeOffset? RenewAt)> RespondAsync(HttpClient http, AuthChallenge challenge,
        IReadOnlyList<string> scopes, RegistryCredentials creds, TokenCache cache, string registry, CancellationToken ct)
    {
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrEmpty(creds.Username) || creds.Password is null)
                throw new BerthException(ErrorKind.Unauthorized, $"{registry}: unauthorized: authentication required");
            return (Basic(creds), null);
        }
        if (!challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            throw new BerthException(ErrorKind.Unauthorized, $"{registry}: unsupported authentication scheme {challenge.Scheme}");
        if (!string.IsNullOrEmpty(creds.RegistryToken)) return (new AuthenticationHeaderValue("Bearer", creds.RegistryToken), null);

        var realm = challenge["realm"] ?? throw new BerthException(ErrorKind.Unauthorized, $"{registry}: bearer challenge without a realm");
        if (!Uri.TryCreate(realm, UriKind.Absolute, out var realmUri) || realmUri.Scheme is not ("http" or "https"))
            throw new BerthException(ErrorKind.Unauthorized, $"{registry}: invalid token realm \"{realm}\"");
        var service = challenge["service"];
        // The challenge may name the scope it wants; ours covers the whole operation (pull, or pull+push, or a mount source).
        var allScopes = scopes.Count > 0 ? scopes : challenge["scope"] is { Length: > 0 } s ? [s] : [];
        var key = TokenCache.Key(realm, service, string.Join(' ', allScopes), creds);
        if (cache.Get(key) is { } cached) return (new AuthenticationHeaderValue("Bearer", cached.Token), cached.RenewAt);

        var baseRealm = realmUri.GetLeftPart(UriPartial.Path);
        using var req = TokenRequest(realmUri, service, allScopes, creds);
        HttpResponseMessage resp;
        try
        {
            resp = await http.SendAsync(req, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested))
        {
            throw new BerthException(ErrorKind.Unavailable, $"Get \"{baseRealm}\": {e.InnerException?.Message ?? e.Message}", e);
        }
        using var _ = resp;
        bool hadSecret = creds.HasSecret;
        if (resp.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden
            || (resp.StatusCode == System.Net.HttpStatusCode.BadRequest && !string.IsNullOrEmpty(creds.IdentityToken)))
            throw new BerthException(ErrorKind.Unauthorized, $"{registry}: unauthorized: {(hadSecret ? "incorrect username or password" : "authentication required")}");
        if (!resp.IsSuccessStatusCode)
            throw new BerthException(ErrorKind.Unavailable, $"{registry}: token server {baseRealm} answered {(int)resp.StatusCode}");
        var bytes = await resp.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        TokenResponse? token;
        try { token = JsonSerializer.Deserialize(bytes, DistributionJsonContext.Default.TokenResponse); }
        catch (JsonException e) { throw new BerthException(ErrorKind.Unavailable, $"{registry}: token server sent invalid JSON: {e.Message}", e); }
        var value = token?.Token is { Length: > 0 } t ? t : token?.AccessToken;
        if (string.IsNullOrEmpty(value)) throw new BerthException(ErrorKind.Unavailable, $"{registry}: token server sent no token");
        var renewAt = cache.Put(key, value, TimeSpan.FromSeconds(token!.ExpiresIn ?? 60));
        return (new AuthenticationHeaderValue("Bearer", value), renewAt);
    }

    /// <summary>
    /// Docker's token request: GET with the scopes (and Basic credentials when there are some), or, with an identity
    /// token from an earlier login, the OAuth2 refresh-token grant POSTed as a form.
    /// </summary>
    private static HttpRequestMessage TokenRequest(Uri realm, string? service, IReadOnlyList<string> scopes, RegistryCredentials creds)
    {
        var baseRealm = realm.GetLeftPart(UriPartial.Path);
        var existing = realm.Query.TrimStart('?');
        if (!string.IsNullOrEmpty(creds.IdentityToken))
        {
            var form = new List<KeyValuePair<string, string>>
            {
                new("grant_type", "refresh_token"),
                new("refresh_token", creds.IdentityToken),
                new("client_id", "docker"),
            };
            if (service is not null) form.Add(new("service", service));
            if (scopes.Count > 0) form.Add(new("scope", string.Join(' ', scopes)));
            return new HttpRequestMessage(HttpMethod.Post, baseRealm + (existing.Length > 0 ? "?" + existing : "")) { Content = new FormUrlEncodedContent(form) };
        }
        var query = new StringBuilder();
        void Add(string k, string v) => query.Append(query.Length == 0 ? '?' : '&').Append(k).Append('=').Append(Uri.EscapeDataString(v));
        if (service is not null) Add("service", service);
        foreach (var scope in scopes) Add("scope", scope);
        if (!string.IsNullOrEmpty(creds.Username)) Add("account", creds.Username);
        var url = baseRealm + query + (existing.Length > 0 ? (query.Length == 0 ? "?" : "&") + existing : "");
        var req = new HttpRequestMessage(HttpMethod.Get, url);
        if (!string.IsNullOrEmpty(creds.Username) && creds.Password is not null) req.Headers.Authorization = Basic(creds);
        return req;
    }

    public static AuthenticationHeaderValue Basic(RegistryCredentials creds) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{creds.Username}:{creds.Password}")));
}
