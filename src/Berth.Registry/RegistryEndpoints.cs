using System.Text;
using System.Text.Json;
using Berth.Content;
using Berth.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.Logging;

namespace Berth.Registry;

/// <summary>
/// The OCI Distribution endpoints under <c>/v2/</c>. Repository names contain slashes, so routing is by the path's last
/// segments (<c>…/manifests/&lt;ref&gt;</c>, <c>…/blobs/uploads/&lt;id&gt;</c>, …) rather than by route templates.
/// Every error becomes <c>{"errors":[…]}</c> here, in one place.
/// </summary>
internal sealed class RegistryEndpoints(RegistryService registry, ILogger<RegistryEndpoints> log)
{
    public const string ApiVersionHeader = "Docker-Distribution-API-Version";
    public const string DigestHeader = "Docker-Content-Digest";
    private const string UploadUuidHeader = "Docker-Upload-UUID";

    public async Task HandleAsync(HttpContext ctx)
    {
        ctx.Response.Headers[ApiVersionHeader] = "registry/2.0";
        try
        {
            await DispatchAsync(ctx);
        }
        catch (RegistryException e)
        {
            await WriteErrorAsync(ctx, e);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's limits: 413 for a body over a size limit, 408 for one slower than MinRequestBodyDataRate, 400 for
            // a malformed one.
            await WriteErrorAsync(ctx, new RegistryException(e.StatusCode, e.StatusCode == 413 ? ErrorCodes.SizeInvalid : ErrorCodes.Unknown, e.Message));
        }
        catch (RequestBodyTooSlowException)
        {
            // The guard has closed the connection; the upload is as it was before this request.
            RegistryLog.BodyTooSlow(log, ctx.Request.Method, ctx.Request.Path.Value ?? "", registry.Options.MinBodyRate, registry.Options.BodyRateWindow);
        }
        catch (OperationCanceledException) when (ctx.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken.IsCancellationRequested == true)
        {
            // The host's per-request timeout (RequestTimeouts middleware): answer if we still can; Kestrel then closes
            // the connection when the body was not read to its end.
            RegistryLog.TimedOut(log, ctx.Request.Method, ctx.Request.Path.Value ?? "");
            await WriteErrorAsync(ctx, new RegistryException(503, ErrorCodes.Unavailable, "the request took longer than the registry's request timeout"),
                CancellationToken.None);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (IOException) when (ctx.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            RegistryLog.Failed(log, ctx.Request.Method, ctx.Request.Path.Value ?? "", e);
            await WriteErrorAsync(ctx, new RegistryException(500, "UNKNOWN", "internal error"));
        }
    }

    private Task DispatchAsync(HttpContext ctx)
    {
        var method = ctx.Request.Method;
        // Kestrel resolves "." and ".." segments before we see the path; a name must never come out of such a walk.
        var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        var rawPath = raw.Split('?', 2)[0];
        if (rawPath.Contains("/../", StringComparison.Ordinal) || rawPath.Contains("/./", StringComparison.Ordinal) ||
            rawPath.EndsWith("/..", StringComparison.Ordinal) || rawPath.Contains("%2e", StringComparison.OrdinalIgnoreCase))
            throw new RegistryException(400, ErrorCodes.NameInvalid, "invalid repository name", rawPath);

        var path = ctx.Request.Path.Value ?? "";
        if (path is "" or "/")
        {
            Authorize(ctx, null, null, null);
            RequireMethod(method, "GET", "HEAD");
            return WriteJsonAsync(ctx, 200, w => { w.WriteStartObject(); w.WriteEndObject(); });
        }
        if (path is "/_catalog" or "/_catalog/")
        {
            Authorize(ctx, "registry", "catalog", "*");
            RequireMethod(method, "GET");
            return CatalogAsync(ctx);
        }
        var seg = path.Trim('/').Split('/');
        int n = seg.Length;
        if (n >= 3 && seg[^2] == "tags" && seg[^1] == "list")
        {
            RequireMethod(method, "GET");
            return TagsAsync(ctx, Name(ctx, seg, 2));
        }
        if (n >= 3 && seg[^2] == "manifests")
        {
            var name = Name(ctx, seg, 2);
            return method switch
            {
                "GET" => GetManifestAsync(ctx, name, seg[^1], body: true),
                "HEAD" => GetManifestAsync(ctx, name, seg[^1], body: false),
                "PUT" => PutManifestAsync(ctx, Writable(name), seg[^1]),
                "DELETE" => DeleteManifestAsync(ctx, Writable(name), seg[^1]),
                _ => throw MethodNotAllowed(method),
            };
        }
        if (n >= 3 && seg[^2] == "blobs" && seg[^1] == "uploads")
        {
            RequireMethod(method, "POST");
            return StartUploadAsync(ctx, Writable(Name(ctx, seg, 2)));
        }
        if (n >= 4 && seg[^3] == "blobs" && seg[^2] == "uploads")
        {
            var name = Name(ctx, seg, 3);
            return method switch
            {
                "GET" => UploadStatusAsync(ctx, name, seg[^1]),
                "PATCH" => PatchUploadAsync(ctx, Writable(name), seg[^1]),
                "PUT" => PutUploadAsync(ctx, Writable(name), seg[^1]),
                "DELETE" => CancelUploadAsync(ctx, Writable(name), seg[^1]),
                _ => throw MethodNotAllowed(method),
            };
        }
        if (n >= 3 && seg[^2] == "blobs")
        {
            var name = Name(ctx, seg, 2);
            return method switch
            {
                "GET" => GetBlobAsync(ctx, name, seg[^1], body: true),
                "HEAD" => GetBlobAsync(ctx, name, seg[^1], body: false),
                "DELETE" => DeleteBlobAsync(ctx, Writable(name), seg[^1]),
                _ => throw MethodNotAllowed(method),
            };
        }
        if (n >= 3 && seg[^2] == "referrers")
        {
            RequireMethod(method, "GET");
            return ReferrersAsync(ctx, Name(ctx, seg, 2), seg[^1]);
        }
        throw new RegistryException(404, ErrorCodes.Unsupported, "no such endpoint", path);
    }

    private string Name(HttpContext ctx, string[] seg, int tail)
    {
        var name = string.Join('/', seg, 0, seg.Length - tail);
        RepositoryName.Validate(name);
        var action = ctx.Request.Method switch { "GET" or "HEAD" => "pull", "DELETE" => "delete", _ => "push" };
        Authorize(ctx, "repository", name, action);
        return name;
    }

    /// <summary>
    /// Checks the request's credentials for <paramref name="action"/> on a resource (null type: only that the caller is
    /// someone, for <c>/v2/</c>). No credentials, or a token that says nothing of this resource, → 401 with a challenge;
    /// a token that names the resource without the action → 403 DENIED.
    /// </summary>
    private void Authorize(HttpContext ctx, string? type, string? name, string? action)
    {
        var o = registry.Options;
        var authorization = ctx.Request.Headers.Authorization.ToString();
        if (o.Token is { } token)
        {
            var grant = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? token.Verify(authorization[7..].Trim()) : null;
            var actions = grant is null || type is null ? null : grant.ActionsFor(type, name!);
            if (grant is null || (type is not null && actions is null))
            {
                var realm = token.Realm ?? $"{ctx.Request.Scheme}://{ctx.Request.Host}/token";
                var scope = type is null ? "" : $",scope=\"{type}:{name}:{(action == "push" ? "pull,push" : action)}\"";
                throw new RegistryException(401, ErrorCodes.Unauthorized, "authentication required")
                {
                    Headers = new Dictionary<string, string> { ["WWW-Authenticate"] = $"Bearer realm=\"{realm}\",service=\"{token.Service}\"{scope}" },
                };
            }
            if (actions is not null && !actions.Contains(action!) && !actions.Contains("*"))
                throw new RegistryException(403, ErrorCodes.Denied, "requested access to the resource is denied", $"{type}:{name}:{action}");
            ctx.Items[typeof(TokenGrant)] = grant;
        }
        else if (o.Htpasswd is { } htpasswd && htpasswd.Authenticate(authorization) is null)
        {
            throw new RegistryException(401, ErrorCodes.Unauthorized, "authentication required")
            {
                Headers = new Dictionary<string, string> { ["WWW-Authenticate"] = $"Basic realm=\"{htpasswd.Realm}\", charset=\"UTF-8\"" },
            };
        }
    }

    /// <summary>Whether the caller may pull from <paramref name="repository"/> (a mount's source needs it).</summary>
    private bool MayPull(HttpContext ctx, string repository) =>
        registry.Options.Token is null ||
        (ctx.Items[typeof(TokenGrant)] is TokenGrant g && g.ActionsFor("repository", repository) is { } a && (a.Contains("pull") || a.Contains("*")));

    /// <summary>
    /// The token endpoint (<c>GET /token?service=&amp;scope=repository:NAME:pull,push</c>), with basic auth for users of
    /// the htpasswd file or none for anonymous; grants what the access rules allow, which may be nothing.
    /// </summary>
    public async Task TokenAsync(HttpContext ctx)
    {
        try
        {
            var token = registry.Options.Token ?? throw new RegistryException(404, ErrorCodes.Unsupported, "token auth is not configured");
            if (!HttpMethods.IsGet(ctx.Request.Method))
                throw new RegistryException(404, ErrorCodes.Unsupported, "only GET is served here"); // docker falls back to GET on 404
            var q = ctx.Request.Query;
            if (q["service"].ToString() is { Length: > 0 } svc && svc != token.Service)
                throw new RegistryException(400, ErrorCodes.Unsupported, $"unknown service \"{svc}\"");
            string? account = null;
            var authorization = ctx.Request.Headers.Authorization.ToString();
            if (authorization.Length > 0)
            {
                account = token.Users.Authenticate(authorization) ?? throw new RegistryException(401, ErrorCodes.Unauthorized, "invalid username or password")
                {
                    Headers = new Dictionary<string, string> { ["WWW-Authenticate"] = $"Basic realm=\"{token.Service}\"" },
                };
            }
            var access = new List<(string, string, IReadOnlyList<string>)>();
            foreach (var scope in q["scope"].SelectMany(v => (v ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            {
                var first = scope.IndexOf(':');
                var last = scope.LastIndexOf(':');
                if (first <= 0 || last == first) throw new RegistryException(400, ErrorCodes.Unsupported, $"invalid scope \"{scope}\"");
                var type = scope[..first];
                var name = scope[(first + 1)..last];
                var actions = scope[(last + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries);
                if (type == "repository")
                {
                    RepositoryName.Validate(name);
                    access.Add((type, name, token.Allowed(account, name, actions)));
                }
                else if (type == "registry" && name == "catalog")
                {
                    access.Add((type, name, account is null ? [] : ["*"]));
                }
            }
            var jwt = token.Issue(account, access, out var issuedAt);
            await WriteJsonAsync(ctx, 200, w =>
            {
                w.WriteStartObject();
                w.WriteString("token", jwt);
                w.WriteString("access_token", jwt);
                w.WriteNumber("expires_in", (long)token.Lifetime.TotalSeconds);
                w.WriteString("issued_at", issuedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndObject();
            });
        }
        catch (RegistryException e)
        {
            await WriteErrorAsync(ctx, e);
        }
    }

    private string Writable(string name) =>
        registry.Options.ReadOnly ? throw new RegistryException(405, ErrorCodes.Unsupported, "the registry is read-only") : name;

    private static void RequireMethod(string method, params string[] allowed)
    {
        if (!allowed.Contains(method)) throw MethodNotAllowed(method);
    }

    private static RegistryException MethodNotAllowed(string method) =>
        new(405, ErrorCodes.Unsupported, $"method {method} is not allowed here");

    private static Digest ParseDigest(string? s) =>
        Digest.TryParse(s, out var d) ? d : throw RegistryException.DigestInvalid("invalid digest", s);

    // ---- pull ----

    private async Task GetManifestAsync(HttpContext ctx, string name, string reference, bool body)
    {
        CheckReference(reference);
        var m = registry.Metadata.GetManifest(name, reference) ?? throw NotFound(name, RegistryException.ManifestUnknown(reference));
        if (!Acceptable(ctx.Request.Headers.Accept, m.MediaType))
            throw new RegistryException(404, ErrorCodes.ManifestUnknown,
                $"manifest is of type {m.MediaType}, which the Accept header does not list", reference);
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(registry.Blobs.BlobPath(m.Digest), ctx.RequestAborted);
        }
        catch (FileNotFoundException)
        {
            // Deleted since the lookup (a concurrent DELETE and collection).
            throw RegistryException.ManifestUnknown(reference);
        }
        var res = ctx.Response;
        res.StatusCode = 200;
        res.ContentType = m.MediaType;
        res.ContentLength = bytes.Length;
        res.Headers[DigestHeader] = m.Digest.ToString();
        res.Headers.ETag = $"\"{m.Digest}\"";
        if (body) await res.Body.WriteAsync(bytes, ctx.RequestAborted);
    }

    private static void CheckReference(string reference)
    {
        if (reference.Contains(':')) ParseDigest(reference);
        else if (!RepositoryName.IsValidTag(reference)) throw new RegistryException(400, ErrorCodes.TagInvalid, "invalid tag", reference);
    }

    /// <summary>A client that lists manifest media types gets only those (or anything with */*); one that lists none gets any.</summary>
    internal static bool Acceptable(IEnumerable<string?> acceptHeaders, string mediaType)
    {
        bool listsManifestTypes = false;
        foreach (var h in acceptHeaders)
        {
            if (h is null) continue;
            foreach (var part in h.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var t = ManifestParser.BareMediaType(part);
                if (t is null) continue;
                if (t == mediaType || t is "*/*" or "application/*" or "application/json") return true;
                if (ManifestParser.IsSupported(t)) listsManifestTypes = true;
            }
        }
        return !listsManifestTypes;
    }

    private RegistryException NotFound(string name, RegistryException ifRepositoryExists) =>
        registry.Metadata.RepositoryExists(name) ? ifRepositoryExists : RegistryException.NameUnknown(name);

    private async Task GetBlobAsync(HttpContext ctx, string name, string digestText, bool body)
    {
        var digest = ParseDigest(digestText);
        var size = registry.Metadata.LinkedBlobSize(name, digest) ?? throw NotFound(name, RegistryException.BlobUnknown(digestText));
        FileStream file;
        try
        {
            // Opened before the reply starts: what is sent is this inode, whatever a collector does meanwhile.
            file = registry.Blobs.OpenRead(digest);
        }
        catch (FileNotFoundException)
        {
            throw RegistryException.BlobUnknown(digestText);
        }
        catch (DirectoryNotFoundException)
        {
            throw RegistryException.BlobUnknown(digestText);
        }
        await using var _ = file;
        // A download is bounded by Kestrel's minimum response data rate, not by the per-request timeout.
        if (body) ctx.Features.Get<IHttpRequestTimeoutFeature>()?.DisableTimeout();
        var res = ctx.Response;
        res.Headers[DigestHeader] = digest.ToString();
        res.Headers.ETag = $"\"{digest}\"";
        res.Headers.AcceptRanges = "bytes";
        res.ContentType = "application/octet-stream";
        long offset = 0, count = size;
        var range = ctx.Request.Headers.Range.ToString();
        var satisfiable = range.Length > 0 ? TryParseRange(range, size, out offset, out count) : null;
        if (satisfiable == false)
            throw new RegistryException(416, ErrorCodes.RangeInvalid, "requested range not satisfiable", range)
            {
                Headers = new Dictionary<string, string> { ["Content-Range"] = $"bytes */{size}" },
            };
        if (satisfiable == true)
        {
            res.StatusCode = 206;
            res.Headers.ContentRange = $"bytes {offset}-{offset + count - 1}/{size}";
        }
        else
        {
            res.StatusCode = 200;
        }
        res.ContentLength = count;
        if (body && count > 0) await CopyRangeAsync(file, offset, count, res, ctx.RequestAborted);
    }

    /// <summary>Reads the file straight into the response's pipe: no copy through an intermediate buffer.</summary>
    private static async Task CopyRangeAsync(FileStream file, long offset, long count, HttpResponse response, CancellationToken ct)
    {
        var writer = response.BodyWriter;
        while (count > 0)
        {
            var memory = writer.GetMemory(64 * 1024);
            var want = (int)Math.Min(memory.Length, count);
            var n = await RandomAccess.ReadAsync(file.SafeFileHandle, memory[..want], offset, ct);
            if (n == 0) throw new IOException("blob file ended early");
            writer.Advance(n);
            offset += n;
            count -= n;
            var flush = await writer.FlushAsync(ct);
            if (flush.IsCanceled || flush.IsCompleted) return;
        }
    }

    /// <summary>
    /// One byte range of RFC 9110 (<c>bytes=a-b</c>, <c>bytes=a-</c>, <c>bytes=-n</c>). False when it cannot be satisfied;
    /// a header that is not a single byte range is ignored (whole blob), as RFC 9110 allows.
    /// </summary>
    internal static bool? TryParseRange(string header, long size, out long offset, out long count)
    {
        offset = 0;
        count = size;
        if (!header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase)) return null;
        var spec = header[6..].Trim();
        if (spec.Contains(',')) return null;
        var dash = spec.IndexOf('-');
        if (dash < 0) return null;
        var a = spec[..dash].Trim();
        var b = spec[(dash + 1)..].Trim();
        if (a.Length == 0)
        {
            if (!long.TryParse(b, out var suffix) || suffix < 0) return null;
            if (suffix == 0 || size == 0) return false;
            count = Math.Min(suffix, size);
            offset = size - count;
            return true;
        }
        if (!long.TryParse(a, out var start) || start < 0) return null;
        long end = size - 1;
        if (b.Length > 0 && (!long.TryParse(b, out end) || end < start)) return null;
        if (start >= size) return false;
        end = Math.Min(end, size - 1);
        offset = start;
        count = end - start + 1;
        return true;
    }

    // ---- push ----

    private async Task StartUploadAsync(HttpContext ctx, string name)
    {
        var q = ctx.Request.Query;
        var res = ctx.Response;
        if (q.TryGetValue("mount", out var mount))
        {
            var digest = ParseDigest(mount);
            var from = q["from"].ToString();
            if (RepositoryName.IsValid(from) && MayPull(ctx, from) && registry.Blobs.Exists(digest) && registry.Metadata.MountBlob(name, from, digest))
            {
                res.StatusCode = 201;
                res.Headers.Location = $"/v2/{name}/blobs/{digest}";
                res.Headers[DigestHeader] = digest.ToString();
                res.ContentLength = 0;
                return;
            }
        }
        else if (q.TryGetValue("digest", out var digestText))
        {
            var digest = ParseDigest(digestText);
            await using var body = UploadBody(ctx);
            await registry.PutBlobAsync(name, digest, body, ctx.Request.ContentLength, ctx.RequestAborted);
            res.StatusCode = 201;
            res.Headers.Location = $"/v2/{name}/blobs/{digest}";
            res.Headers[DigestHeader] = digest.ToString();
            res.ContentLength = 0;
            return;
        }
        var id = registry.StartUpload(name);
        WriteUploadHeaders(res, name, id, 0);
        res.StatusCode = 202;
        res.ContentLength = 0;
    }

    private static void WriteUploadHeaders(HttpResponse res, string name, string id, long size)
    {
        res.Headers.Location = $"/v2/{name}/blobs/uploads/{id}";
        res.Headers[UploadUuidHeader] = id;
        // Inclusive end of what was received; distribution answers "0-0" for an empty upload and clients expect that.
        res.Headers.Range = $"0-{Math.Max(0, size - 1)}";
    }

    private Task UploadStatusAsync(HttpContext ctx, string name, string id)
    {
        registry.GetUpload(name, id);
        WriteUploadHeaders(ctx.Response, name, id, registry.Blobs.UploadSize(id));
        ctx.Response.StatusCode = 204;
        return Task.CompletedTask;
    }

    private async Task PatchUploadAsync(HttpContext ctx, string name, string id)
    {
        ctx.Features.Get<IHttpRequestTimeoutFeature>()?.DisableTimeout();
        registry.GetUpload(name, id);
        using (await registry.LockUploadAsync(id, ctx.RequestAborted))
        {
            var size = await AppendChunkAsync(ctx, name, id);
            registry.Metadata.TouchUpload(id);
            WriteUploadHeaders(ctx.Response, name, id, size);
            ctx.Response.StatusCode = 202;
            ctx.Response.ContentLength = 0;
        }
    }

    /// <summary>Appends the request body, checking a <c>Content-Range: start-end</c> against what the upload holds.</summary>
    private async Task<long> AppendChunkAsync(HttpContext ctx, string name, string id)
    {
        var current = registry.Blobs.UploadSize(id);
        long? expected = ctx.Request.ContentLength;
        var cr = ctx.Request.Headers.ContentRange.ToString();
        if (cr.Length > 0)
        {
            if (!TryParseContentRange(cr, out var start, out var end))
                throw new RegistryException(400, ErrorCodes.BlobUploadInvalid, "invalid Content-Range", cr);
            if (start != current)
                throw new RegistryException(416, ErrorCodes.BlobUploadInvalid, $"chunk starts at {start}, the upload has {current} bytes", cr)
                {
                    Headers = new Dictionary<string, string>
                    {
                        ["Location"] = $"/v2/{name}/blobs/uploads/{id}",
                        ["Range"] = $"0-{Math.Max(0, current - 1)}",
                        [UploadUuidHeader] = id,
                    },
                };
            var len = end - start + 1;
            if (expected is { } cl && cl != len)
                throw new RegistryException(400, ErrorCodes.SizeInvalid, $"Content-Range covers {len} bytes, Content-Length is {cl}", cr);
            expected = len;
        }
        if (expected == 0) return current;
        await using var body = UploadBody(ctx);
        return await registry.Blobs.AppendAsync(id, body, expected, ctx.RequestAborted);
    }

    /// <summary>
    /// A blob upload's body: exempt from the host's per-request timeout (a 10 GB layer takes what it takes) and guarded
    /// by the minimum data rate instead, so a stalled client is cut off and a slow but steady one is not.
    /// </summary>
    private Stream UploadBody(HttpContext ctx)
    {
        ctx.Features.Get<IHttpRequestTimeoutFeature>()?.DisableTimeout();
        return BodyRateGuard.For(ctx, registry.Options.MinBodyRate, registry.Options.BodyRateWindow, registry.Time);
    }

    internal static bool TryParseContentRange(string value, out long start, out long end)
    {
        start = end = 0;
        var s = value.Trim();
        if (s.StartsWith("bytes", StringComparison.OrdinalIgnoreCase)) s = s[5..].TrimStart(' ', '=');
        var slash = s.IndexOf('/');
        if (slash >= 0) s = s[..slash];
        var dash = s.IndexOf('-');
        return dash > 0 && long.TryParse(s[..dash], out start) && long.TryParse(s[(dash + 1)..], out end) && start >= 0 && end >= start;
    }

    private async Task PutUploadAsync(HttpContext ctx, string name, string id)
    {
        ctx.Features.Get<IHttpRequestTimeoutFeature>()?.DisableTimeout();
        registry.GetUpload(name, id);
        var digest = ParseDigest(ctx.Request.Query["digest"].ToString());
        using (await registry.LockUploadAsync(id, ctx.RequestAborted))
        {
            await AppendChunkAsync(ctx, name, id);
            await registry.CompleteUploadAsync(name, id, digest, ctx.RequestAborted);
        }
        var res = ctx.Response;
        res.StatusCode = 201;
        res.Headers.Location = $"/v2/{name}/blobs/{digest}";
        res.Headers[DigestHeader] = digest.ToString();
        res.ContentLength = 0;
    }

    private Task CancelUploadAsync(HttpContext ctx, string name, string id)
    {
        registry.GetUpload(name, id);
        registry.CancelUpload(id);
        ctx.Response.StatusCode = 204;
        return Task.CompletedTask;
    }

    private async Task PutManifestAsync(HttpContext ctx, string name, string reference)
    {
        CheckReference(reference);
        if (ctx.Request.ContentLength > ManifestParser.MaxManifestBytes)
            throw new RegistryException(413, ErrorCodes.SizeInvalid, $"manifest is larger than {ManifestParser.MaxManifestBytes} bytes");
        var body = await ReadBoundedAsync(ctx, ManifestParser.MaxManifestBytes);
        var m = registry.PutManifest(name, reference, body, ctx.Request.ContentType);
        var res = ctx.Response;
        res.StatusCode = 201;
        res.Headers.Location = $"/v2/{name}/manifests/{m.Digest}";
        res.Headers[DigestHeader] = m.Digest.ToString();
        if (m.Subject is { } subject) res.Headers["OCI-Subject"] = subject.ToString();
        res.ContentLength = 0;
    }

    /// <summary>
    /// The request body, at most <paramref name="max"/> bytes. A timeout or disconnect (<c>RequestAborted</c>) ends a
    /// pending read through <c>CancelPendingRead</c> rather than a cancelled token, which leaves Kestrel's body reader in
    /// a state it can drain the rest of the body from after the error reply.
    /// </summary>
    private static async Task<byte[]> ReadBoundedAsync(HttpContext ctx, int max)
    {
        var reader = ctx.Request.BodyReader;
        using var stop = ctx.RequestAborted.Register(static r => ((System.IO.Pipelines.PipeReader)r!).CancelPendingRead(), reader);
        using var ms = new MemoryStream();
        while (true)
        {
            var result = await reader.ReadAsync();
            var buffer = result.Buffer;
            if (ms.Length + buffer.Length > max)
            {
                reader.AdvanceTo(buffer.End);
                throw new RegistryException(413, ErrorCodes.SizeInvalid, $"manifest is larger than {max} bytes");
            }
            foreach (var segment in buffer) ms.Write(segment.Span);
            reader.AdvanceTo(buffer.End);
            if (result.IsCanceled) throw new OperationCanceledException(ctx.RequestAborted);
            if (result.IsCompleted) return ms.ToArray();
        }
    }

    // ---- management ----

    private Task DeleteManifestAsync(HttpContext ctx, string name, string reference)
    {
        CheckReference(reference);
        bool deleted = Digest.TryParse(reference, out var digest)
            ? registry.Metadata.DeleteManifest(name, digest)
            : registry.Metadata.DeleteTag(name, reference);
        if (!deleted) throw NotFound(name, RegistryException.ManifestUnknown(reference));
        ctx.Response.StatusCode = 202;
        ctx.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    private Task DeleteBlobAsync(HttpContext ctx, string name, string digestText)
    {
        var digest = ParseDigest(digestText);
        // Unlinks the blob from this repository; the file goes when no repository links it (garbage collection).
        if (!registry.Metadata.UnlinkBlob(name, digest)) throw NotFound(name, RegistryException.BlobUnknown(digestText));
        ctx.Response.StatusCode = 202;
        ctx.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    private Task ReferrersAsync(HttpContext ctx, string name, string digestText)
    {
        var digest = ParseDigest(digestText);
        var artifactType = ctx.Request.Query["artifactType"].ToString();
        var filter = artifactType.Length > 0 ? artifactType : null;
        var list = registry.Metadata.Referrers(name, digest, filter);
        if (filter is not null) ctx.Response.Headers["OCI-Filters-Applied"] = "artifactType";
        return WriteJsonAsync(ctx, 200, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", MediaTypes.OciIndex);
            w.WriteStartArray("manifests");
            foreach (var m in list)
            {
                w.WriteStartObject();
                w.WriteString("mediaType", m.MediaType);
                w.WriteString("digest", m.Digest.ToString());
                w.WriteNumber("size", m.Size);
                if (m.ArtifactType is not null) w.WriteString("artifactType", m.ArtifactType);
                if (m.AnnotationsJson is not null)
                {
                    w.WritePropertyName("annotations");
                    w.WriteRawValue(m.AnnotationsJson, skipInputValidation: true);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }, MediaTypes.OciIndex);
    }

    // ---- discovery ----

    private static (int N, string? Last) Pagination(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        int n = int.MaxValue - 1;
        if (q.TryGetValue("n", out var nv) && (!int.TryParse(nv, out n) || n < 0))
            throw new RegistryException(400, ErrorCodes.PaginationNumberInvalid, "invalid number of results requested", nv.ToString());
        var last = q["last"].ToString();
        return (n, last.Length > 0 ? last : null);
    }

    private Task TagsAsync(HttpContext ctx, string name)
    {
        var (n, last) = Pagination(ctx);
        if (!registry.Metadata.RepositoryExists(name)) throw RegistryException.NameUnknown(name);
        var (tags, more) = registry.Metadata.ListTags(name, n, last);
        if (more) ctx.Response.Headers.Link = $"</v2/{name}/tags/list?n={n}&last={Uri.EscapeDataString(tags[^1])}>; rel=\"next\"";
        return WriteJsonAsync(ctx, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteStartArray("tags");
            foreach (var t in tags) w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private Task CatalogAsync(HttpContext ctx)
    {
        var (n, last) = Pagination(ctx);
        var (repos, more) = registry.Metadata.ListRepositories(n, last);
        if (more) ctx.Response.Headers.Link = $"</v2/_catalog?n={n}&last={Uri.EscapeDataString(repos[^1])}>; rel=\"next\"";
        return WriteJsonAsync(ctx, 200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("repositories");
            foreach (var r in repos) w.WriteStringValue(r);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    // ---- replies ----

    private static async Task WriteJsonAsync(HttpContext ctx, int status, Action<Utf8JsonWriter> write, string contentType = "application/json",
        CancellationToken? ct = null)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        var res = ctx.Response;
        res.StatusCode = status;
        res.ContentType = contentType;
        res.ContentLength = buffer.WrittenCount;
        if (!HttpMethods.IsHead(ctx.Request.Method)) await res.Body.WriteAsync(buffer.WrittenMemory, ct ?? ctx.RequestAborted);
    }

    private static Task WriteErrorAsync(HttpContext ctx, RegistryException e, CancellationToken? ct = null)
    {
        var res = ctx.Response;
        if (res.HasStarted)
        {
            ctx.Abort();
            return Task.CompletedTask;
        }
        res.Clear();
        res.Headers[ApiVersionHeader] = "registry/2.0";
        if (e.Headers is not null)
            foreach (var (k, v) in e.Headers) res.Headers[k] = v;
        return WriteJsonAsync(ctx, e.Status, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("errors");
            w.WriteStartObject();
            w.WriteString("code", e.Code);
            w.WriteString("message", e.Message);
            if (e.Detail is not null) w.WriteString("detail", e.Detail);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }, ct: ct);
    }
}

internal static partial class RegistryLog
{
    [LoggerMessage(1, LogLevel.Error, "{Method} {Path} failed")]
    public static partial void Failed(ILogger log, string method, string path, Exception e);

    [LoggerMessage(2, LogLevel.Information, "removed {Count} abandoned uploads")]
    public static partial void UploadsReaped(ILogger log, int count);

    [LoggerMessage(3, LogLevel.Warning, "removing abandoned uploads failed")]
    public static partial void JanitorFailed(ILogger log, Exception e);

    [LoggerMessage(4, LogLevel.Information, "garbage collection removed {Manifests} manifests, {Links} blob links, {Blobs} blobs ({Bytes} bytes)")]
    public static partial void Collected(ILogger log, int manifests, int links, int blobs, long bytes);

    [LoggerMessage(5, LogLevel.Warning, "garbage collection failed")]
    public static partial void GcFailed(ILogger log, Exception e);

    [LoggerMessage(6, LogLevel.Information, "{Method} {Path} cut off: request body slower than {Rate} bytes/s over {Window}")]
    public static partial void BodyTooSlow(ILogger log, string method, string path, double rate, TimeSpan window);

    [LoggerMessage(7, LogLevel.Information, "{Method} {Path} timed out")]
    public static partial void TimedOut(ILogger log, string method, string path);
}
