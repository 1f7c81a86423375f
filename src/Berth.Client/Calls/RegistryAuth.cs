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

    public static string Encode(AuthConfig auth) => Convert.ToBase64String(Json(auth)).Replace('+', '-').Replace('/', '_');

    /// <summary>The JSON of <paramref name="auth"/> as Go's encoding/json writes it with <c>omitempty</c>.</summary>
    public static byte[] Json(AuthConfig auth)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
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
        return buffer.ToArray();
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
        var uri = await VersionedPathAsync(path, query, ct).ConfigureAwait(false);
        return await SendRawAsync(method, uri, null, ct, HttpCompletionOption.ResponseHeadersRead,
            string.IsNullOrEmpty(registryAuth) ? null : (RegistryAuth.Header, registryAuth)).ConfigureAwait(false);
    }
}
