using System.Text;
using System.Text.Json;
using Berth.Api;
using Berth.Content;
using Berth.Core;
using Berth.Daemon.Events;
using Berth.Daemon.Http;
using Berth.Distribution;
using Berth.Images;
using Berth.Images.Transfer;

namespace Berth.Daemon.Routers;

/// <summary>
/// Images in motion: <c>POST /images/create?fromImage=</c> (pull), <c>POST /images/{name}/push</c> and
/// <c>POST /auth</c> (login). Credentials come as the <c>X-Registry-Auth</c> header (base64url JSON), as the docker
/// CLI sends them; the daemon keeps none.
/// </summary>
internal static class DistributionRouter
{
    private const int MaxAllTags = 1000;

    public static void Map(WebApplication app, RegistryTransport transport)
    {
        app.MapPost("/auth", async (HttpContext ctx) =>
        {
            var auth = await HttpJson.ReadAsync(ctx, Wire.Json.AuthConfig) ?? throw BerthException.Invalid("missing credentials");
            var creds = Credentials(auth);
            var server = RegistryOf(auth.ServerAddress);
            await transport.LoginAsync(server, creds, ctx.RequestAborted);
            await HttpJson.WriteAsync(ctx, new AuthResponse { Status = "Login Succeeded" }, Wire.Json.AuthResponse);
        });
    }

    /// <summary><c>docker pull</c>: <paramref name="fromImage"/> with the <c>tag</c> query (a tag or a digest); neither means every tag.</summary>
    public static async Task PullAsync(HttpContext ctx, string fromImage)
    {
        var puller = ctx.RequestServices.GetRequiredService<ImagePuller>();
        var events = ctx.RequestServices.GetRequiredService<EventBus>();
        var tag = ctx.Request.QueryString("tag");
        var named = ImageReference.ParseNormalized(fromImage);
        if (tag is { Length: > 0 })
            named = Digest.TryParse(tag, out var d) ? named.WithDigest(d) : ImageReference.ParseNormalized($"{named.WithoutTagOrDigest()}:{tag}");
        var creds = Credentials(ctx.Request);
        var platform = ctx.Request.QueryString("platform");
        var stream = new JsonMessageStream(ctx);
        var ct = ctx.RequestAborted;

        await stream.RunAsync(async () =>
        {
            IReadOnlyList<ImageReference> refs = [named];
            if (named.Tag is null && named.Digest is null)
            {
                var repo = await ctx.RequestServices.GetRequiredService<RegistryTransport>().OpenAsync(named.Domain, named.Path, creds, "pull", ct);
                refs = (await repo.ListTagsAsync(MaxAllTags, ct)).Select(t => named.WithTag(t)).ToList();
                if (refs.Count == 0) throw BerthException.NotFound($"repository {named.FamiliarName} has no tags");
            }
            foreach (var r in refs)
                await PullOneAsync(puller, events, r, creds, platform, stream.Post, ct);
            if (refs.Count > 1) stream.Post(JsonMessageStream.Status(null, $"Status: Downloaded newer images for {named.FamiliarName}"));
            return true;
        }, ct);
    }

    /// <summary>One pull (a <c>docker pull</c>'s or a build's), its progress posted as JSON messages, then its event.</summary>
    internal static async Task<PullResult> PullOneAsync(ImagePuller puller, EventBus events, ImageReference reference, RegistryCredentials creds,
        string? platform, Action<JsonMessage>? post, CancellationToken ct)
    {
        var result = await puller.PullAsync(new PullOptions { Reference = reference, Credentials = creds, Platform = platform },
            p => post?.Invoke(JsonMessageStream.Status(p.Id, p.Status, p.Current, p.Total)), ct);
        events.Image("pull", reference.FamiliarString, reference.FamiliarString, result.Image.Labels);
        return result;
    }

    /// <summary><c>docker push</c>: <paramref name="name"/> with the <c>tag</c> query; no tag pushes every tag of the repository.</summary>
    public static async Task PushAsync(HttpContext ctx, string name)
    {
        var pusher = ctx.RequestServices.GetRequiredService<ImagePusher>();
        var images = ctx.RequestServices.GetRequiredService<ImageStore>();
        var events = ctx.RequestServices.GetRequiredService<EventBus>();
        var named = ImageReference.ParseNormalized(name);
        var tag = ctx.Request.QueryString("tag");
        if (tag is { Length: > 0 }) named = ImageReference.ParseNormalized($"{named.WithoutTagOrDigest()}:{tag}");
        IReadOnlyList<ImageReference> refs = named.Tag is not null
            ? [named]
            : images.List().SelectMany(i => i.RepoTags).Select(ImageReference.ParseNormalized)
                .Where(r => r.Name == named.Name).OrderBy(r => r.Tag, StringComparer.Ordinal).ToList();
        if (refs.Count == 0 || images.Resolve(refs[0].ToString()) is null)
            throw BerthException.NotFound($"An image does not exist locally with the tag: {named.FamiliarName}");
        var compression = ctx.Request.QueryString("compression") switch
        {
            null or "" or "gzip" => LayerCompression.Gzip,
            "zstd" => LayerCompression.Zstd,
            var c => throw BerthException.Invalid($"unsupported compression \"{c}\": use gzip or zstd"),
        };
        var creds = Credentials(ctx.Request);
        var stream = new JsonMessageStream(ctx);
        var ct = ctx.RequestAborted;
        await stream.RunAsync(async () =>
        {
            stream.Post(JsonMessageStream.Status(null, $"The push refers to repository [{named.WithoutTagOrDigest()}]"));
            foreach (var r in refs)
            {
                var result = await pusher.PushAsync(new PushOptions { Reference = r, Credentials = creds, Compression = compression },
                    p => stream.Post(JsonMessageStream.Status(p.Id, p.Status, p.Current, p.Total)), ct);
                stream.Post(new JsonMessage { ProgressDetail = new ProgressDetail(), Aux = PushAux(result) });
                var img = images.Resolve(r.ToString());
                events.Image("push", r.FamiliarString, r.FamiliarString, img?.Labels ?? new Dictionary<string, string>());
            }
            return true;
        }, ct);
    }

    /// <summary>The <c>aux</c> of a push's last message, which the CLI reads the digest from: <c>{"Tag","Digest","Size"}</c>.</summary>
    private static JsonElement PushAux(PushResult result)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("Tag", result.Tag);
            w.WriteString("Digest", result.Digest.ToString());
            w.WriteNumber("Size", result.Size);
            w.WriteEndObject();
        }
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        return doc.RootElement.Clone();
    }

    /// <summary>The registry a login is for: <c>docker.io</c> for Docker Hub's addresses, else the host[:port] given.</summary>
    private static string RegistryOf(string? serverAddress)
    {
        if (string.IsNullOrEmpty(serverAddress)) return RegistryHosts.DockerHub;
        var s = serverAddress.Trim();
        if (s.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(s, UriKind.Absolute, out var u)) throw BerthException.Invalid($"invalid registry address \"{serverAddress}\"");
            s = u.Authority;
        }
        s = s.TrimEnd('/');
        int slash = s.IndexOf('/');
        if (slash >= 0) s = s[..slash];
        return s is "index.docker.io" or "registry-1.docker.io" or "docker.io" ? RegistryHosts.DockerHub : s;
    }

    /// <summary>Decodes <c>X-Registry-Auth</c>: base64url (padded or not) JSON; absent or empty means anonymous.</summary>
    internal static RegistryCredentials Credentials(HttpRequest req)
    {
        if (Header(req, "X-Registry-Auth") is not { } json) return RegistryCredentials.Anonymous;
        var auth = HttpJson.Parse(json, Wire.Json.AuthConfig) ?? throw BerthException.Invalid("invalid X-Registry-Auth header");
        return Credentials(auth);
    }

    /// <summary>
    /// <c>X-Registry-Config</c> (a build's: base64url JSON of registry address → credentials, every login the client
    /// has) as the credentials for one registry; anonymous for one it has none for. As dockerd, a header or an entry
    /// that does not decode is ignored: only the login for the registry a base comes from matters.
    /// </summary>
    internal static Func<string, RegistryCredentials> RegistryConfig(HttpRequest req)
    {
        Dictionary<string, AuthConfig>? map = null;
        try
        {
            if (Header(req, "X-Registry-Config") is { } json) map = HttpJson.Parse(json, Wire.Json.DictionaryStringAuthConfig);
        }
        catch (BerthException)
        {
            map = null;
        }
        return registry =>
        {
            foreach (var (address, auth) in map ?? [])
            {
                if ((AuthConfig?)auth is null) continue; // "registry": null
                try
                {
                    if (string.Equals(RegistryOf(auth.ServerAddress is { Length: > 0 } s ? s : address), registry, StringComparison.OrdinalIgnoreCase))
                        return Credentials(auth);
                }
                catch (BerthException)
                {
                    // An entry that does not decode is skipped, as dockerd does.
                }
            }
            return RegistryCredentials.Anonymous;
        };
    }

    /// <summary>A base64url (padded or not) JSON header; null when absent, empty or <c>{}</c>.</summary>
    private static byte[]? Header(HttpRequest req, string name)
    {
        var header = req.Headers[name].ToString();
        if (string.IsNullOrWhiteSpace(header)) return null;
        byte[] json;
        try
        {
            var b64 = header.Trim().Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            json = Convert.FromBase64String(b64);
        }
        catch (FormatException)
        {
            throw BerthException.Invalid($"invalid {name} header: not base64");
        }
        return json.AsSpan().Trim(" \r\n\t"u8).SequenceEqual("{}"u8) ? null : json;
    }

    private static RegistryCredentials Credentials(AuthConfig auth)
    {
        string? user = auth.Username, password = auth.Password;
        if (string.IsNullOrEmpty(user) && !string.IsNullOrEmpty(auth.Auth))
        {
            string decoded;
            try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth.Auth)); }
            catch (FormatException) { throw BerthException.Invalid("invalid auth field: not base64"); }
            int colon = decoded.IndexOf(':');
            if (colon <= 0) throw BerthException.Invalid("invalid auth field: expected user:password");
            (user, password) = (decoded[..colon], decoded[(colon + 1)..]);
        }
        return new RegistryCredentials(string.IsNullOrEmpty(user) ? null : user, password,
            string.IsNullOrEmpty(auth.IdentityToken) ? null : auth.IdentityToken,
            string.IsNullOrEmpty(auth.RegistryToken) ? null : auth.RegistryToken);
    }
}
