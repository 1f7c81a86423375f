using System.Text;
using System.Text.Json;
using Berth.Api;
using Berth.Builder;
using Berth.Core;
using Berth.Daemon.Build;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;
using Berth.Images;

namespace Berth.Daemon.Routers;

/// <summary>
/// <c>POST /build</c>, the legacy builder protocol (what <c>DOCKER_BUILDKIT=0 docker build</c> speaks): the context tar
/// in the body, the options in the query, progress as a stream of JSON messages. Failures after the stream has
/// started are an <c>errorDetail</c> message, as dockerd sends them.
/// </summary>
internal static class BuildRouter
{
    public static void Map(WebApplication app, ImageStore images, Content.IContentStore content, ContainerService containers, string spoolDir,
        CacheMounts cacheMounts, ContextCache contexts, string builderDir)
    {
        var cache = new FileBuildCache(Path.Combine(builderDir, "cache"));
        var executor = new Executor(new BuildImages(images, content), new BuildContainers(containers, new ContainerFiles(containers, spoolDir), spoolDir), cache)
        {
            CacheMounts = cacheMounts,
        };
        app.MapPost("/build", (HttpContext ctx) => BuildAsync(ctx, executor, contexts, images, spoolDir));
        // /build/prune and the build cache of /system/df are served with the other disk usage (DiskUsageRouter).
    }

    private static async Task BuildAsync(HttpContext ctx, Executor executor, ContextCache contexts, ImageStore images, string spoolDir)
    {
        var q = ctx.Request;
        var remote = q.QueryString("remote") is { Length: > 0 } given ? given : null;
        if (remote is not null) RemoteContext.Validate(remote);
        var tags = q.Query["t"].Where(t => !string.IsNullOrEmpty(t)).Select(t => t!).ToList();
        foreach (var t in tags)
            if (!ImageReference.TryParse(t, out _)) throw BerthException.Invalid($"invalid reference format: {t}");
        var options = new BuildOptions
        {
            Tags = tags,
            Dockerfile = q.QueryString("dockerfile") is { Length: > 0 } df ? df : "Dockerfile",
            BuildArgs = JsonMap(q.QueryString("buildargs"), "buildargs"),
            NoCache = q.QueryBool("nocache"),
            Remove = q.QueryBool("rm", true),
            ForceRemove = q.QueryBool("forcerm"),
            Labels = JsonMap(q.QueryString("labels"), "labels").ToDictionary(kv => kv.Key, kv => kv.Value ?? ""),
            Target = q.QueryString("target"),
            Quiet = q.QueryBool("q"),
            NetworkMode = q.QueryString("networkmode"),
            CacheFrom = JsonList(q.QueryString("cachefrom"), "cachefrom"),
            Pull = q.QueryBool("pull"),
            Platform = q.QueryString("platform"),
            Resources = new StepResources
            {
                Memory = q.QueryLong("memory"),
                MemorySwap = q.QueryLong("memswap"),
                CpuShares = q.QueryLong("cpushares"),
                CpuPeriod = q.QueryLong("cpuperiod"),
                CpuQuota = q.QueryLong("cpuquota"),
                CpusetCpus = q.QueryString("cpusetcpus"),
                CpusetMems = q.QueryString("cpusetmems"),
                CgroupParent = q.QueryString("cgroupparent"),
                ShmSize = q.QueryLong("shmsize"),
                Ulimits = Ulimits(q.QueryString("ulimits")),
                ExtraHosts = [.. q.Query["extrahosts"].SelectMany(h => (h ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))],
            },
        };
        // As dockerd: squash needs its experimental mode, which Berth does not have; a platform must parse.
        if (q.QueryBool("squash")) throw BerthException.Invalid("squash is only supported with experimental mode");
        // dockerd joins the name to the context's root: a relative one that climbs out of it is refused, not clamped
        // (an absolute one's ".." stop at the root).
        if (!options.Dockerfile.StartsWith('/') && Content.RootPath.ClimbsOut(options.Dockerfile))
            throw BerthException.Invalid($"forbidden path outside the build context: {options.Dockerfile}");
        if (options.Platform is { } platform) Content.Platforms.Parse(platform);
        if (q.QueryString("isolation") is { } iso && iso != "default") throw BerthException.Invalid($"Unsupported isolation: \"{iso}\"");
        if (q.Query["securityopt"].Any(o => !string.IsNullOrEmpty(o)))
            throw BerthException.Invalid("The daemon on this platform does not support setting security options on build");
        var credentials = DistributionRouter.RegistryConfig(q);

        // The answer starts with the first message (JsonMessageStream): a Dockerfile that does not parse is an error
        // answer before it, as dockerd's "Error response from daemon: ...".
        var ct = ctx.RequestAborted;
        var stream = new JsonMessageStream(ctx);
        Task Send(JsonMessage m) => stream.SendAsync(m, ct);

        Directory.CreateDirectory(spoolDir);
        var spool = Path.Combine(spoolDir, $"build-context-{Guid.NewGuid():N}");
        BuildContext? context = null;
        try
        {
            // The body (or the remote context) is spooled and hashed as it comes: a context sent before (a rebuild) is
            // found unpacked.
            byte[] digest;
            long length;
            await using (var f = new FileStream(spool, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
                async ValueTask Append(ReadOnlyMemory<byte> data)
                {
                    hash.AppendData(data.Span);
                    await f.WriteAsync(data, ct);
                }
                if (remote is not null)
                {
                    await RemoteContext.FetchAsync(remote, options.Dockerfile, spoolDir, Append, Send, ct);
                }
                else
                {
                    // The docker CLI sends small chunks: whatever has arrived is taken at once, and the file is written a
                    // megabyte at a time (page-cache writes), not one small asynchronous write per chunk.
                    var reader = ctx.Request.BodyReader;
                    while (true)
                    {
                        var read = await reader.ReadAsync(ct);
                        foreach (var segment in read.Buffer) await Append(segment);
                        reader.AdvanceTo(read.Buffer.End);
                        if (read.IsCompleted) break;
                    }
                }
                (digest, length) = (hash.GetHashAndReset(), f.Length);
            }
            var key = ContextCache.KeyOf(digest, options.Dockerfile);
            string text;
            if (contexts.TryOpen(key) is { } known)
            {
                (context, text) = known;
            }
            else
            {
                await using (var archive = new FileStream(spool, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
                    context = await Task.Run(() => BuildContext.Extract(archive, contexts.NewDir(), ct), ct);
                text = context.ReadText(options.Dockerfile)
                    ?? throw new BuildFailedException($"Cannot locate specified Dockerfile: {options.Dockerfile}");
                // As dockerd: the Dockerfile and .dockerignore always arrive (the client filtered the rest), and go
                // now, once read, when .dockerignore excludes them (the CLI excludes a -f from outside the context that way).
                if (context.ReadText(".dockerignore") is { } ignore)
                    context.ApplyIgnore(DockerIgnore.Parse(ignore), new HashSet<string>(StringComparer.Ordinal));
                // Kept by what it takes on disk: a compressed upload (--compress) unpacks to more than was sent.
                context = contexts.Add(key, context, text, Math.Max(length, context.Size));
            }
            File.Delete(spool);
            var file = DockerfileParser.Parse(text, Path.GetFileName(options.Dockerfile));
            var source = new BuildImageSource(images, ctx.RequestServices.GetRequiredService<Images.Transfer.ImagePuller>(),
                ctx.RequestServices.GetRequiredService<Events.EventBus>(), stream, credentials, options.Quiet);
            var id = await executor.BuildAsync(context, file, options, s => Send(new JsonMessage { Stream = s }), source, ct);
            foreach (var t in tags) images.Tag(id, t);
            using (var aux = JsonDocument.Parse($"{{\"ID\":\"{id}\"}}"))
                await Send(new JsonMessage { Aux = aux.RootElement.Clone() });
            if (options.Quiet)
            {
                // What `docker build -q` prints: the image ID alone.
                await Send(new JsonMessage { Stream = $"{id}\n" });
            }
            else
            {
                await Send(new JsonMessage { Stream = $"Successfully built {Executor.Short(id)}\n" });
                foreach (var t in tags)
                {
                    var r = ImageReference.ParseNormalized(t);
                    if (r.Tag is null && r.Digest is null) r = r.WithTag(ImageReference.DefaultTag);
                    await Send(new JsonMessage { Stream = $"Successfully tagged {r.FamiliarString}\n" });
                }
            }
        }
        catch (Exception e) when (e is DockerfileException or BuildFailedException && !stream.Started)
        {
            // Found before the first message (no Dockerfile, a context that is no tar, a target that is not
            // there): an error answer, as dockerd's, which the CLI prints as "Error response from daemon: ...".
            throw BerthException.Invalid(e.Message);
        }
        catch (BadHttpRequestException) when (!stream.Started)
        {
            // A body that breaks HTTP's framing is the HTTP layer's 400, as for every other endpoint.
            throw;
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // Every other failure, expected or not, is the stream's last message, never a torn stream.
            int code = e is BuildFailedException b ? b.Code : 1;
            await Send(new JsonMessage { Error = e.Message, ErrorDetail = new ErrorDetail { Code = code, Message = e.Message } });
        }
        finally
        {
            context?.Dispose();
            File.Delete(spool);
        }
    }

    /// <summary><c>ulimits</c>: a JSON array of <c>{"Name","Soft","Hard"}</c>, as the docker CLI sends <c>--ulimit</c>.</summary>
    private static List<(string, long, long)> Ulimits(string? json)
    {
        if (string.IsNullOrEmpty(json)) return [];
        var list = HttpJson.Parse(Encoding.UTF8.GetBytes(json), Api.ApiJsonContext.Default.IReadOnlyListUlimit) ?? [];
        if (list.Any(u => u is null || string.IsNullOrEmpty(u.Name))) throw BerthException.Invalid("invalid ulimits: each needs a Name");
        return [.. list.Select(u => (u.Name!, u.Soft, u.Hard))];
    }

    /// <summary>A JSON array of strings (<c>cachefrom</c>), as the docker CLI sends it.</summary>
    private static List<string> JsonList(string? json, string what)
    {
        if (string.IsNullOrEmpty(json)) return [];
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw BerthException.Invalid($"invalid {what}: not a JSON array");
            var list = new List<string>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String) throw BerthException.Invalid($"invalid {what}: not an array of strings");
                if (e.GetString() is { Length: > 0 } s) list.Add(s);
            }
            return list;
        }
        catch (JsonException e)
        {
            throw BerthException.Invalid($"invalid {what}: {e.Message}");
        }
    }

    private static Dictionary<string, string?> JsonMap(string? json, string what)
    {
        if (string.IsNullOrEmpty(json)) return [];
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw BerthException.Invalid($"invalid {what}: not a JSON object");
            var map = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
                map[p.Name] = p.Value.ValueKind == JsonValueKind.Null ? null : p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText();
            return map;
        }
        catch (JsonException e)
        {
            throw BerthException.Invalid($"invalid {what}: {e.Message}");
        }
    }
}
