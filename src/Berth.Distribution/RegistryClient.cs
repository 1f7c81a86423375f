using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Berth.Content;
using Berth.Core;
using Berth.Core.IO;

namespace Berth.Distribution;

/// <summary>
/// The HTTP connections to registries, shared by every pull and push of a daemon: one pool for verified TLS and
/// plain HTTP, one that skips certificate checks for registries configured as insecure. Redirects are followed
/// (blob downloads are often redirected to storage), and HttpClient drops the Authorization header on them.
/// </summary>
public sealed class RegistryTransport : IDisposable
{
    private readonly HttpClient _verified;
    private readonly HttpClient _unverified;

    public RegistryTransport(RegistryHosts hosts, TokenCache? tokens = null)
    {
        Hosts = hosts;
        Tokens = tokens ?? new TokenCache();
        // Everything buffered whole (token answers, upload replies) is small; blobs and manifests are streamed.
        _verified = new HttpClient(Handler(verify: true), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan, MaxResponseContentBufferSize = 4 << 20 };
        _unverified = new HttpClient(Handler(verify: false), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan, MaxResponseContentBufferSize = 4 << 20 };
    }

    public RegistryHosts Hosts { get; }
    public TokenCache Tokens { get; }

    private static SocketsHttpHandler Handler(bool verify)
    {
        var h = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(15),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        };
        if (!verify) h.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        return h;
    }

    internal HttpClient ClientFor(RegistryEndpoint e) => e.SkipTlsVerify ? _unverified : _verified;

    /// <summary>
    /// Finds the first endpoint of <paramref name="domain"/> that answers <c>GET /v2/</c> and opens
    /// <paramref name="repository"/> there with the given credentials and scopes (<c>pull</c>, <c>pull,push</c>).
    /// </summary>
    public async Task<RegistryRepository> OpenAsync(string domain, string repository, RegistryCredentials credentials,
        string actions, CancellationToken ct, IReadOnlyList<string>? extraScopes = null, bool skipMirrors = false)
    {
        Exception? last = null;
        // Mirrors serve pulls only (as dockerd's): a push or a push-scoped session goes to the registry itself.
        skipMirrors |= actions.Contains("push", StringComparison.Ordinal);
        foreach (var endpoint in Hosts.EndpointsFor(domain))
        {
            if (skipMirrors && endpoint.IsMirror) continue;
            var repo = new RegistryRepository(this, endpoint, domain, repository, credentials,
                [$"repository:{repository}:{actions}", .. extraScopes ?? []]);
            try
            {
                await repo.PingAsync(ct).ConfigureAwait(false);
                return repo;
            }
            catch (BerthException e) when (e.Kind == ErrorKind.Unavailable)
            {
                last = e;
            }
        }
        throw last ?? new BerthException(ErrorKind.Unavailable, $"no endpoint for registry {domain}");
    }

    /// <summary><c>docker login</c>: checks the credentials against the registry (a token fetch in token mode).</summary>
    public async Task LoginAsync(string domain, RegistryCredentials credentials, CancellationToken ct)
    {
        Exception? last = null;
        foreach (var endpoint in Hosts.EndpointsFor(domain))
        {
            if (endpoint.IsMirror) continue; // a login is for the registry, not for a mirror of it
            var repo = new RegistryRepository(this, endpoint, domain, "", credentials, []);
            try
            {
                await repo.PingAsync(ct).ConfigureAwait(false);
                await repo.AuthenticatePingAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (BerthException e) when (e.Kind == ErrorKind.Unavailable)
            {
                last = e;
            }
        }
        throw last ?? new BerthException(ErrorKind.Unavailable, $"no endpoint for registry {domain}");
    }

    public void Dispose()
    {
        _verified.Dispose();
        _unverified.Dispose();
    }
}

/// <summary>A manifest or index as fetched: its bytes, media type and digest (checked against the bytes).</summary>
public sealed record FetchedManifest(byte[] Bytes, string MediaType, Digest Digest);

/// <summary>
/// One repository at one registry endpoint, with credentials: the Distribution API calls a pull and a push make.
/// Authentication is answered on the first 401 (Basic, or a Bearer token for this repository's scopes) and reused
/// for every later request; requests with bodies are only sent once authenticated, so none has to be replayed.
/// </summary>
public sealed class RegistryRepository
{
    public const int MaxManifestSize = 4 << 20;

    private static readonly string[] ManifestAccept =
    [
        MediaTypes.OciManifest, MediaTypes.OciIndex, MediaTypes.DockerManifest, MediaTypes.DockerManifestList,
    ];

    private readonly RegistryTransport _transport;
    private readonly HttpClient _http;
    private readonly RegistryCredentials _credentials;
    private readonly IReadOnlyList<string> _scopes;
    private AuthChallenge? _challenge;

    // Set once authenticated; read by concurrent layer downloads (reference assignment is atomic).
    private volatile AuthenticationHeaderValue? _authorization;

    // When _authorization (a bearer token) must be renewed; MaxValue for Basic. Ticks, for atomic reads.
    private long _authRenewAt = long.MaxValue;

    internal RegistryRepository(RegistryTransport transport, RegistryEndpoint endpoint, string domain, string repository,
        RegistryCredentials credentials, IReadOnlyList<string> scopes)
    {
        _transport = transport;
        _http = transport.ClientFor(endpoint);
        Endpoint = endpoint;
        Domain = domain;
        Repository = repository;
        _credentials = credentials;
        _scopes = scopes;
    }

    public RegistryEndpoint Endpoint { get; }
    public string Domain { get; }
    public string Repository { get; }

    private Uri Url(string path) => new(Endpoint.BaseUri, path);

    internal async Task PingAsync(CancellationToken ct)
    {
        var url = Url("/v2/");
        HttpResponseMessage resp;
        try
        {
            resp = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable("GET", url, e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw Unreachable("GET", url, e); // the connect timeout (a TLS handshake nobody answers, a black hole)
        }
        using (resp)
        {
            if (resp.StatusCode == HttpStatusCode.Unauthorized)
            {
                _challenge = ChallengeOf(resp);
                return;
            }
            // Anything else that is an HTTP answer means a server is there; the real requests will tell the rest.
            if ((int)resp.StatusCode >= 500)
                throw new BerthException(ErrorKind.Unavailable, $"GET {url}: {(int)resp.StatusCode} {resp.ReasonPhrase}");
        }
    }

    /// <summary>For login: answers the ping's challenge now, so wrong credentials fail here rather than on a later pull.</summary>
    internal async Task AuthenticatePingAsync(CancellationToken ct)
    {
        if (_challenge is null)
        {
            if (!_credentials.HasSecret) return;
            return; // an open registry accepts any credentials, as dockerd's login does
        }
        await AuthenticateAsync(_challenge, ct).ConfigureAwait(false);
        using var req = new HttpRequestMessage(HttpMethod.Get, Url("/v2/"));
        req.Headers.Authorization = _authorization;
        using var resp = await SendRawAsync(req, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (resp.StatusCode == HttpStatusCode.Unauthorized)
            throw new BerthException(ErrorKind.Unauthorized, $"Get \"{req.RequestUri}\": unauthorized: incorrect username or password");
    }

    private static AuthChallenge? ChallengeOf(HttpResponseMessage resp)
    {
        foreach (var h in resp.Headers.WwwAuthenticate)
            if (AuthChallenge.Parse(h.ToString()) is { } c) return c;
        return null;
    }

    private async Task AuthenticateAsync(AuthChallenge challenge, CancellationToken ct)
    {
        var (header, renewAt) = await ChallengeResponder.RespondAsync(_http, challenge, _scopes, _credentials, _transport.Tokens, Domain, ct).ConfigureAwait(false);
        Interlocked.Exchange(ref _authRenewAt, renewAt?.UtcTicks ?? long.MaxValue);
        _authorization = header;
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage req, HttpCompletionOption completion, CancellationToken ct)
    {
        try
        {
            return await _http.SendAsync(req, completion, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(req.Method.Method, req.RequestUri!, e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw Unreachable(req.Method.Method, req.RequestUri!, e);
        }
    }

    /// <summary>Sends a request built by <paramref name="make"/>; on a 401, authenticates and sends a fresh one once.</summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> make, HttpCompletionOption completion, CancellationToken ct)
    {
        // A token that expires before this request is done is renewed first: requests with a body are not replayed
        // on a 401, so a long chunked upload must never carry a stale one.
        if (_challenge is not null && (_authorization is null || DateTimeOffset.UtcNow.UtcTicks >= Interlocked.Read(ref _authRenewAt)))
            await AuthenticateAsync(_challenge, ct).ConfigureAwait(false);
        var req = make();
        if (SameOrigin(req.RequestUri)) req.Headers.Authorization ??= _authorization;
        var resp = await SendRawAsync(req, completion, ct).ConfigureAwait(false);
        if (resp.StatusCode != HttpStatusCode.Unauthorized || req.Content is not null and not EmptyBody) return resp;
        var challenge = ChallengeOf(resp);
        bool retry = challenge is not null && (_challenge is null || _authorization is null || challenge["scope"] is not null);
        if (!retry) return resp;
        resp.Dispose();
        _challenge = challenge;
        await AuthenticateAsync(challenge!, ct).ConfigureAwait(false);
        req = make();
        if (SameOrigin(req.RequestUri)) req.Headers.Authorization = _authorization;
        return await SendRawAsync(req, completion, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Credentials go only to the endpoint they were meant for: an upload Location on another host or scheme (a
    /// storage backend, or a proxy that downgraded to http) gets the request without them, as with dockerd.
    /// </summary>
    private bool SameOrigin(Uri? uri) =>
        uri is not null && uri.Scheme == Endpoint.BaseUri.Scheme && string.Equals(uri.Authority, Endpoint.BaseUri.Authority, StringComparison.OrdinalIgnoreCase);

    private sealed class EmptyBody() : ByteArrayContent([]);

    // ---- manifests ----

    /// <summary>GET a manifest or index by tag or digest; a digest reference is checked against the bytes.</summary>
    public async Task<FetchedManifest> GetManifestAsync(string reference, CancellationToken ct)
    {
        var url = Url($"/v2/{Repository}/manifests/{reference}");
        using var resp = await SendAsync(() =>
        {
            var r = new HttpRequestMessage(HttpMethod.Get, url);
            foreach (var a in ManifestAccept) r.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(a));
            return r;
        }, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!resp.IsSuccessStatusCode)
            throw await ErrorAsync(resp, $"manifest for {Domain}/{Repository}:{reference}", ct).ConfigureAwait(false);
        var bytes = await ReadBoundedAsync(resp, MaxManifestSize, "manifest", ct).ConfigureAwait(false);
        var digest = Digest.FromBytes(bytes);
        if (Digest.TryParse(reference, out var want) && want != digest)
            throw BerthException.Invalid($"manifest verification failed for digest {want}: got {digest}");
        var mediaType = resp.Content.Headers.ContentType?.MediaType;
        // Some registries answer text/plain or application/json: the document's own mediaType field decides then.
        if (mediaType is null || !(MediaTypes.IsManifest(mediaType) || MediaTypes.IsIndex(mediaType)))
            mediaType = SniffMediaType(bytes) ?? throw BerthException.Invalid($"unsupported manifest media type {mediaType} for {Repository}:{reference}");
        return new FetchedManifest(bytes, mediaType, digest);
    }

    /// <summary>The mediaType a manifest declares, or (OCI allows omitting it) what its shape says.</summary>
    public static string? SniffMediaType(byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (root.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String)
            {
                var s = mt.GetString()!;
                return MediaTypes.IsManifest(s) || MediaTypes.IsIndex(s) ? s : null;
            }
            if (root.TryGetProperty("schemaVersion", out var v) && v.ValueKind == JsonValueKind.Number && v.GetInt32() == 1)
                throw BerthException.Invalid("Docker Image manifest schema version 1 is not supported (deprecated since 2019); push the image again with a current client");
            if (root.TryGetProperty("manifests", out _)) return MediaTypes.OciIndex;
            if (root.TryGetProperty("config", out _)) return MediaTypes.OciManifest;
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>PUT a manifest under a tag or digest; returns the digest the registry reports (or that the bytes have).</summary>
    public async Task<Digest> PutManifestAsync(string reference, string mediaType, byte[] bytes, CancellationToken ct)
    {
        var url = Url($"/v2/{Repository}/manifests/{reference}");
        using var resp = await SendAsync(() =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return new HttpRequestMessage(HttpMethod.Put, url) { Content = content };
        }, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        if (!resp.IsSuccessStatusCode)
            throw await ErrorAsync(resp, $"manifest {Repository}:{reference}", ct).ConfigureAwait(false);
        return Digest.FromBytes(bytes);
    }

    /// <summary>Every tag of the repository (following the <c>Link</c> pages), at most <paramref name="max"/>.</summary>
    public async Task<IReadOnlyList<string>> ListTagsAsync(int max, CancellationToken ct)
    {
        var tags = new List<string>();
        var url = Url($"/v2/{Repository}/tags/list?n=1000");
        for (int page = 0; page < 100 && tags.Count < max; page++)
        {
            var current = url;
            using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, current), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (!resp.IsSuccessStatusCode) throw await ErrorAsync(resp, $"tags of {Domain}/{Repository}", ct).ConfigureAwait(false);
            var bytes = await ReadBoundedAsync(resp, MaxManifestSize, "tag list", ct).ConfigureAwait(false);
            var list = JsonSerializer.Deserialize(bytes, DistributionJsonContext.Default.TagList);
            tags.AddRange(list?.Tags ?? []);
            // Link: </v2/name/tags/list?n=1000&last=x>; rel="next"
            if (!resp.Headers.TryGetValues("Link", out var links)) break;
            var link = links.FirstOrDefault(l => l.Contains("rel=\"next\"", StringComparison.Ordinal));
            if (link is null || link.IndexOf('<') is var lt && lt < 0 || link.IndexOf('>') is var gt && gt <= lt) break;
            url = new Uri(url, link[(lt + 1)..gt]);
            if (url.Authority != Endpoint.BaseUri.Authority) break;
        }
        return tags.Take(max).ToList();
    }

    // ---- blobs ----

    /// <summary>HEAD a blob: its size when the repository has it, null when not.</summary>
    public async Task<long?> StatBlobAsync(Digest digest, CancellationToken ct)
    {
        var url = Url($"/v2/{Repository}/blobs/{digest}");
        using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, url), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (resp.StatusCode == HttpStatusCode.NotFound) return null;
        if (!resp.IsSuccessStatusCode) throw await ErrorAsync(resp, $"blob {digest}", ct).ConfigureAwait(false);
        return resp.Content.Headers.ContentLength ?? 0;
    }

    /// <summary>
    /// GET a blob from <paramref name="offset"/> on. <see cref="BlobDownload.Resumed"/> tells whether the registry
    /// honoured the range (206); when it did not, the stream starts at byte 0 and the caller must start over.
    /// </summary>
    public async Task<BlobDownload> GetBlobAsync(Digest digest, long offset, CancellationToken ct)
    {
        var url = Url($"/v2/{Repository}/blobs/{digest}");
        var resp = await SendAsync(() =>
        {
            var r = new HttpRequestMessage(HttpMethod.Get, url);
            if (offset > 0) r.Headers.Range = new RangeHeaderValue(offset, null);
            return r;
        }, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        try
        {
            if (resp.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && offset > 0)
            {
                resp.Dispose();
                return await GetBlobAsync(digest, 0, ct).ConfigureAwait(false);
            }
            if (!resp.IsSuccessStatusCode) throw await ErrorAsync(resp, $"blob {digest}", ct).ConfigureAwait(false);
            bool resumed = offset > 0 && resp.StatusCode == HttpStatusCode.PartialContent
                && resp.Content.Headers.ContentRange is { From: { } from } && from == offset;
            var stream = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            return new BlobDownload(resp, stream, resumed);
        }
        catch
        {
            resp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a blob upload, or, with <paramref name="mountFrom"/>, asks the registry to link the blob from another
    /// repository it holds (201: nothing to upload). Returns null when mounted, else the upload's location.
    /// </summary>
    public async Task<Uri?> StartUploadAsync(Digest digest, string? mountFrom, CancellationToken ct)
    {
        var path = $"/v2/{Repository}/blobs/uploads/";
        if (mountFrom is not null) path += $"?mount={digest}&from={Uri.EscapeDataString(mountFrom)}";
        var url = Url(path);
        using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, url) { Content = new EmptyBody() },
            HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        if (mountFrom is not null && resp.StatusCode == HttpStatusCode.Created) return null;
        if (resp.StatusCode != HttpStatusCode.Accepted) throw await ErrorAsync(resp, $"blob upload to {Repository}", ct).ConfigureAwait(false);
        return LocationOf(resp, url);
    }

    /// <summary>
    /// Uploads <paramref name="size"/> bytes from <paramref name="content"/> to an upload started by
    /// <see cref="StartUploadAsync"/>, in PATCH chunks of at most <paramref name="chunkSize"/> bytes (each with its
    /// Content-Range), and closes it with a PUT naming the digest.
    /// </summary>
    public async Task UploadAsync(Uri location, Stream content, long size, Digest digest, long chunkSize, Action<long> progress, CancellationToken ct)
    {
        long sent = 0;
        while (sent < size)
        {
            long n = Math.Min(chunkSize, size - sent);
            var chunk = new ExactLengthStream(content, n, got => new EndOfStreamException($"blob {digest} ended {got} bytes into a chunk of {n}"));
            var start = sent;
            var current = location;
            using var resp = await SendAsync(() =>
            {
                var body = new StreamContent(new ProgressStream(chunk, done => progress(start + done), leaveOpen: true), 1 << 16);
                body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                body.Headers.ContentLength = n;
                body.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + n - 1}");
                return new HttpRequestMessage(HttpMethod.Patch, current) { Content = body };
            }, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            if (resp.StatusCode != HttpStatusCode.Accepted) throw await ErrorAsync(resp, $"blob upload {digest}", ct).ConfigureAwait(false);
            location = LocationOf(resp, location);
            sent += n;
        }
        var final = WithQuery(location, "digest", digest.ToString());
        using var put = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, final) { Content = new EmptyBody() },
            HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        if (put.StatusCode != HttpStatusCode.Created) throw await ErrorAsync(put, $"blob upload {digest}", ct).ConfigureAwait(false);
    }

    private Uri LocationOf(HttpResponseMessage resp, Uri requestUrl)
    {
        var loc = resp.Headers.Location ?? throw new BerthException(ErrorKind.Unavailable, $"{Domain}: upload answer without a Location");
        var abs = loc.IsAbsoluteUri ? loc : new Uri(requestUrl, loc);
        // A registry must not send us to another host with our credentials.
        if (abs.Scheme is not ("http" or "https")) throw new BerthException(ErrorKind.Unavailable, $"{Domain}: invalid upload location {abs}");
        return abs;
    }

    private static Uri WithQuery(Uri uri, string key, string value)
    {
        var b = new UriBuilder(uri);
        var q = b.Query.TrimStart('?');
        b.Query = (q.Length > 0 ? q + "&" : "") + key + "=" + Uri.EscapeDataString(value);
        return b.Uri;
    }

    // ---- errors ----

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage resp, int max, string what, CancellationToken ct)
    {
        if (resp.Content.Headers.ContentLength is { } len && len > max)
            throw BerthException.Invalid($"{what} too large: {len} bytes (limit {max})");
        await using var s = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var ms = new MemoryStream();
        var buf = new byte[1 << 14];
        int n;
        while ((n = await s.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
        {
            if (ms.Length + n > max) throw BerthException.Invalid($"{what} too large (limit {max} bytes)");
            ms.Write(buf, 0, n);
        }
        return ms.ToArray();
    }

    private static BerthException Unreachable(string method, Uri url, Exception e)
    {
        var why = e.InnerException?.Message ?? e.Message;
        return new BerthException(ErrorKind.Unavailable, $"{char.ToUpperInvariant(method[0])}{method[1..].ToLowerInvariant()} \"{url}\": {why}", e);
    }

    /// <summary>Turns a registry's error answer into Docker's wording: <c>manifest unknown: …</c>, <c>denied: …</c>.</summary>
    private async Task<BerthException> ErrorAsync(HttpResponseMessage resp, string what, CancellationToken ct)
    {
        string detail = "";
        try
        {
            var bytes = await ReadBoundedAsync(resp, 64 << 10, "error body", ct).ConfigureAwait(false);
            var body = JsonSerializer.Deserialize(bytes, DistributionJsonContext.Default.RegistryErrorBody);
            if (body?.Errors is { Count: > 0 } errs)
                detail = string.Join("; ", errs.Select(e => $"{e.Code?.ToLowerInvariant().Replace('_', ' ')}: {e.Message}"));
        }
        catch (Exception e) when (e is JsonException or BerthException or HttpRequestException or IOException) { }
        var status = (int)resp.StatusCode;
        // A HEAD answer has no body: say what dockerd says for these.
        if (detail.Length == 0)
            detail = resp.StatusCode switch
            {
                HttpStatusCode.Unauthorized => "unauthorized: authentication required",
                HttpStatusCode.Forbidden => "denied: requested access to the resource is denied",
                _ => $"{status} {resp.ReasonPhrase}",
            };
        return resp.StatusCode switch
        {
            HttpStatusCode.NotFound => BerthException.NotFound($"{what} not found: {detail}"),
            HttpStatusCode.Unauthorized => new BerthException(ErrorKind.Unauthorized, $"{what}: {detail}"),
            HttpStatusCode.Forbidden => new BerthException(ErrorKind.Forbidden, $"{what}: {detail}"),
            HttpStatusCode.BadRequest => BerthException.Invalid($"{what}: {detail}"),
            _ => new BerthException(ErrorKind.Unavailable, $"{what}: {detail}"),
        };
    }
}

/// <summary>A blob response being read; dispose it to free the connection.</summary>
public sealed class BlobDownload(HttpResponseMessage response, Stream stream, bool resumed) : IDisposable
{
    public Stream Stream { get; } = stream;

    /// <summary>True when the stream continues from the requested offset; false when it starts at byte 0.</summary>
    public bool Resumed { get; } = resumed;

    public long? Length => response.Content.Headers.ContentLength;

    public void Dispose()
    {
        Stream.Dispose();
        response.Dispose();
    }
}
