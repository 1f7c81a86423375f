using System.Net;
using System.Text;
using System.Text.Json;
using Berth.Api;

namespace Berth.Client;

/// <summary>
/// The <c>X-Registry-Auth</c> header of pull and push: base64url (with padding) of the credentials' JSON, empty
/// fields left out, byte for byte what the docker CLI sends.
/// </summary>
public static class RegistryAuth
{
    public const string Header = "X-Registry-Auth";

    /// <summary>The <c>X-Registry-Config</c> header of a build: every login, by registry.</summary>
    public const string ConfigHeader = "X-Registry-Config";

    public static string Encode(AuthConfig auth) => Base64Url(Json(auth));

    /// <summary>The <c>X-Registry-Config</c> value: base64url of <c>{"registry": credentials, ...}</c>.</summary>
    public static string EncodeConfig(IReadOnlyDictionary<string, AuthConfig> auths)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (key, auth) in auths)
            {
                w.WritePropertyName(key);
                Write(w, auth);
            }
            w.WriteEndObject();
        }
        return Base64Url(buffer.ToArray());
    }

    /// <summary>The JSON of <paramref name="auth"/> as Go's encoding/json writes it with <c>omitempty</c>.</summary>
    public static byte[] Json(AuthConfig auth)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            Write(w, auth);
        }
        return buffer.ToArray();
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_');

    private static void Write(Utf8JsonWriter w, AuthConfig auth)
    {
        w.WriteStartObject();
        Field(w, "username", auth.Username);
        Field(w, "password", auth.Password);
        Field(w, "auth", auth.Auth);
        Field(w, "email", auth.Email);
        Field(w, "serveraddress", auth.ServerAddress);
        Field(w, "identitytoken", auth.IdentityToken);
        Field(w, "registrytoken", auth.RegistryToken);
        w.WriteEndObject();
    }

    private static void Field(Utf8JsonWriter w, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            w.WriteString(name, value);
        }
    }
}

public sealed partial class BerthClient
{
    // SendAsync with the X-Registry-Auth header (pull, push); error answers become DockerApiException as there.
    internal async Task<HttpResponseMessage> SendWithRegistryAuthAsync(HttpMethod method, string path, Query? query, string? registryAuth,
        CancellationToken ct)
    {
        return await SendAsync(method, path, query, null, ct, HttpCompletionOption.ResponseHeadersRead,
            string.IsNullOrEmpty(registryAuth) ? null : (RegistryAuth.Header, registryAuth)).ConfigureAwait(false);
    }
}
