using Berth.Content;
using Berth.Core;
using Berth.Distribution;

namespace Berth.Images.Transfer;

/// <summary>What <c>docker pull</c> asks for.</summary>
public sealed record PullOptions
{
    public required ImageReference Reference { get; init; }
    public RegistryCredentials Credentials { get; init; } = RegistryCredentials.Anonymous;

    /// <summary><c>os/arch[/variant]</c>; default the daemon's.</summary>
    public string? Platform { get; init; }
}

/// <summary>The pulled image, and whether the name already pointed at it (Docker's "Image is up to date").</summary>
public sealed record PullResult(ImageRecord Image, Digest ManifestDigest, bool UpToDate);

/// <summary>
/// Pulls images: resolves the reference at its registry (an index to the wanted platform), fetches config and
/// layers into the content store, unpacks the layers into snapshots, and registers the image under its name and
/// digest. Layers download in parallel (at most <see cref="MaxConcurrentDownloads"/>), each through the digest
/// check, into a resumable ingest: a pull that was interrupted, even by a daemon kill, continues where it stopped.
/// Each layer is unpacked as soon as it and the layer below it are there, while the others still download.
/// </summary>
public sealed class ImagePuller(ImageStore images, IContentStore content, RegistryTransport transport, LayerSources sources)
{
    public const int MaxConcurrentDownloads = 3;
    private const int DownloadAttempts = 3;

    // Guards _downloads: the in-flight download of each blob, so concurrent pulls of one layer share it.
    private readonly Lock _lock = new();
    private readonly Dictionary<Digest, SharedDownload> _downloads = new();

    public async Task<PullResult> PullAsync(PullOptions options, Action<TransferProgress> progress, CancellationToken ct)
    {
        var reference = options.Reference;
        var refLabel = reference.Digest?.ToString() ?? reference.Tag ?? ImageReference.DefaultTag;
        var (wantOs, wantArch, wantVariant) = Platforms.Parse(options.Platform);
        var repo = await transport.OpenAsync(reference.Domain, reference.Path, options.Credentials, "pull", ct).ConfigureAwait(false);
        if (!repo.Endpoint.IsMirror) return await PullFromAsync(repo, options, refLabel, (wantOs, wantArch, wantVariant), progress, ct).ConfigureAwait(false);
        try
        {
            return await PullFromAsync(repo, options, refLabel, (wantOs, wantArch, wantVariant), progress, ct).ConfigureAwait(false);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            // A mirror that lacks the image, or fails midway, is skipped, as dockerd does: the registry itself next.
            repo = await transport.OpenAsync(reference.Domain, reference.Path, options.Credentials, "pull", ct, skipMirrors: true).ConfigureAwait(false);
            return await PullFromAsync(repo, options, refLabel, (wantOs, wantArch, wantVariant), progress, ct).ConfigureAwait(false);
        }
    }

    private async Task<PullResult> PullFromAsync(RegistryRepository repo, PullOptions options, string refLabel,
        (string Os, string Arch, string? Variant) want, Action<TransferProgress> progress, CancellationToken ct)
    {
        var reference = options.Reference;
        var (wantOs, wantArch, wantVariant) = want;
        using var lease = images.Lease();
        var layerBlobs = new HashSet<Digest>();
        try
        {
            FetchedManifest top;
            try
            {
                top = await repo.GetManifestAsync(refLabel, ct).ConfigureAwait(false);
            }
            catch (BerthException e) when (e.Kind is ErrorKind.Unauthorized or ErrorKind.Forbidden)
            {
                // Docker's words, and NotFound: a registry cannot tell "no such repository" from "not yours" (and the
                // docker CLI, told Unauthorized, would stop to ask for a login).
                throw BerthException.NotFound($"pull access denied for {reference.FamiliarName}, repository does not exist or may require 'docker login': {e.Message}");
            }
            // After the manifest, as dockerd: a pull of a name that does not exist fails before the stream starts.
            progress(new TransferProgress(refLabel, $"Pulling from {reference.Path}"));
            var manifestBytes = top.Bytes;
            var manifestDigest = top.Digest;
            var mediaType = top.MediaType;
            lease.Add(top.Digest);
            content.WriteBytes(top.Bytes, top.MediaType);
            if (MediaTypes.IsIndex(top.MediaType))
            {
                var index = ImageIndex.Parse(top.Bytes);
                var pick = SelectPlatform(index, wantOs, wantArch, wantVariant)
                    ?? throw BerthException.NotFound($"no matching manifest for {wantOs}/{wantArch}{(wantVariant is null ? "" : "/" + wantVariant)} in the manifest list entries");
                var d = pick.ToDescriptor();
                var m = await repo.GetManifestAsync(d.Digest.ToString(), ct).ConfigureAwait(false);
                if (!MediaTypes.IsManifest(m.MediaType)) throw BerthException.Invalid($"manifest {d.Digest} in the index is a {m.MediaType}, not an image manifest");
                (manifestBytes, manifestDigest, mediaType) = (m.Bytes, m.Digest, m.MediaType);
                lease.Add(m.Digest);
                content.WriteBytes(m.Bytes, m.MediaType);
            }
            var manifest = ImageManifest.Parse(manifestBytes);
            if (!MediaTypes.IsConfig(manifest.Config.MediaType))
                throw BerthException.Invalid($"{reference.FamiliarString}: not an image (config media type {manifest.Config.MediaType}); artifacts cannot be pulled as images");

            var configDesc = manifest.Config.ToDescriptor();
            if (configDesc.Size < 0) throw BerthException.Invalid($"config {configDesc.Digest}: invalid size {configDesc.Size}");
            lease.Add(configDesc.Digest);
            if (!content.Exists(configDesc.Digest))
            {
                if (configDesc.Size > ImageStore.MaxDocumentSize) throw BerthException.Invalid($"image config too large: {configDesc.Size} bytes");
                await DownloadAsync(repo, configDesc, null, ct).ConfigureAwait(false);
            }
            ImageConfig config;
            using (var s = content.OpenRead(configDesc.Digest))
            using (var ms = new MemoryStream())
            {
                await s.CopyToAsync(ms, ct).ConfigureAwait(false);
                config = ImageConfig.Parse(ms.ToArray());
            }
            if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
                throw BerthException.Invalid($"{reference.FamiliarString}: the manifest has {manifest.Layers.Count} layers but the config {config.RootFs.DiffIds.Count} diff IDs");
            var diffIds = config.RootFs.DiffIds.Select(Digest.Parse).ToList();
            var layers = manifest.Layers.Select(l =>
            {
                if (!MediaTypes.IsLayer(l.MediaType)) throw BerthException.Invalid($"unsupported layer media type {l.MediaType}");
                if (l.Size < 0) throw BerthException.Invalid($"layer {l.Digest}: invalid size {l.Size}");
                return l.ToDescriptor();
            }).ToList();
            layerBlobs.UnionWith(layers.Select(l => l.Digest));

            await FetchLayersAsync(repo, reference, layers, diffIds, lease, progress, ct).ConfigureAwait(false);

            var before = images.Resolve(reference.ToString());
            // RepoDigests name what was pulled: the index's digest for a multi-platform image, as in Docker.
            var names = new List<ImageReference> { reference.WithDigest(top.Digest) };
            if (reference.Tag is not null) names.Add(reference);
            var image = images.Register(manifestDigest, names);
            progress(new TransferProgress(null, $"Digest: {top.Digest}"));
            bool upToDate = before?.Id == image.Id;
            progress(new TransferProgress(null, upToDate
                ? $"Status: Image is up to date for {reference.FamiliarString}"
                : $"Status: Downloaded newer image for {reference.FamiliarString}"));
            return new PullResult(image, top.Digest, upToDate);
        }
        catch
        {
            // Manifests and config go again (cheap to fetch); verified layers stay, so pulling again skips them.
            var documents = lease.Blobs.Where(d => !layerBlobs.Contains(d)).ToList();
            lease.Dispose();
            images.DeleteUnreferenced(documents);
            throw;
        }
    }

    private async Task FetchLayersAsync(RegistryRepository repo, ImageReference reference, List<Descriptor> layers, List<Digest> diffIds,
        ImageStore.BlobLease lease, Action<TransferProgress> progress, CancellationToken ct)
    {
        var chains = ImageStore.ChainIds(diffIds);
        var sink = TransferProgress.Synchronized(progress);
        var downloads = new Task[layers.Count];
        // The first failure (a download or an unpack) stops the rest: no layer keeps downloading for a pull that failed.
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var gate = new SemaphoreSlim(MaxConcurrentDownloads);
        var started = new HashSet<Digest>();
        var alreadyThere = new bool[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var id = TransferProgress.ShortId(layer.Digest);
            lease.Add(layer.Digest);
            if (content.Exists(layer.Digest) && images.IsUnpacked(chains[i]))
            {
                sink(new TransferProgress(id, "Already exists"));
                alreadyThere[i] = true;
                downloads[i] = Task.CompletedTask;
                continue;
            }
            if (!started.Add(layer.Digest))
            {
                // The same blob twice in one image (an empty layer repeated): one download serves both.
                downloads[i] = downloads[layers.FindIndex(l => l.Digest == layer.Digest)];
                continue;
            }
            sink(new TransferProgress(id, "Pulling fs layer"));
            downloads[i] = content.Exists(layer.Digest)
                ? Task.CompletedTask
                : StopOthersOnFailure(DownloadLayerAsync(repo, layer, gate, sink, id, failFast.Token), failFast);
        }

        // Unpack bottom-up as each download lands; the downloads above keep running meanwhile.
        Exception? failure = null;
        for (int i = 0; i < layers.Count; i++)
        {
            try
            {
                await downloads[i].ConfigureAwait(false);
                if (alreadyThere[i]) continue;
                var id = TransferProgress.ShortId(layers[i].Digest);
                var throttle = new ProgressThrottle(sink, id, "Extracting", layers[i].Size);
                await images.EnsureLayerAsync(chains[i], i == 0 ? null : chains[i - 1], layers[i], diffIds[i], throttle.Report, failFast.Token).ConfigureAwait(false);
                // Only now, with the blob checked against its diff ID, is it known to be that layer's compressed form.
                sources.Add(diffIds[i], layers[i], reference.Name);
                sink(new TransferProgress(id, "Pull complete"));
            }
            catch (Exception e)
            {
                failure = e;
                failFast.Cancel();
                break;
            }
        }
        if (failure is not null)
        {
            // Let the other downloads stop before the lease goes, so their blobs are not deleted under them.
            try { await Task.WhenAll(downloads).ConfigureAwait(false); } catch { /* the first failure is the one reported */ }
            // A cancellation we caused is not the story: the download or unpack that failed first is.
            if (failure is OperationCanceledException && !ct.IsCancellationRequested
                && downloads.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException) is { } cause)
                failure = cause;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }

    private static async Task StopOthersOnFailure(Task work, CancellationTokenSource failFast)
    {
        try { await work.ConfigureAwait(false); }
        catch
        {
            failFast.Cancel();
            throw;
        }
    }

    private async Task DownloadLayerAsync(RegistryRepository repo, Descriptor layer, SemaphoreSlim gate, Action<TransferProgress> sink, string id, CancellationToken ct)
    {
        if (gate.CurrentCount == 0) sink(new TransferProgress(id, "Waiting"));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var throttle = new ProgressThrottle(sink, id, "Downloading", layer.Size);
            await DownloadAsync(repo, layer, throttle.Report, ct, onVerify: () => sink(new TransferProgress(id, "Verifying Checksum"))).ConfigureAwait(false);
            sink(new TransferProgress(id, "Download complete"));
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Downloads one blob into the store, sharing an in-flight download of the same blob with other pulls. The shared
    /// download has its own cancellation, fired only when every pull waiting for it has gone: one client hanging up
    /// does not fail another's pull.
    /// </summary>
    private async Task DownloadAsync(RegistryRepository repo, Descriptor blob, Action<long>? onProgress, CancellationToken ct, Action? onVerify = null)
    {
        SharedDownload shared;
        lock (_lock)
        {
            if (!_downloads.TryGetValue(blob.Digest, out shared!))
            {
                shared = new SharedDownload();
                _downloads[blob.Digest] = shared;
                shared.Work = RunShared(shared, repo, blob, onProgress, onVerify);
            }
            shared.Waiters++;
        }
        try
        {
            await shared.Work.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
                if (--shared.Waiters == 0 && !shared.Work.IsCompleted) shared.Stop.Cancel();
        }
    }

    private async Task RunShared(SharedDownload shared, RegistryRepository repo, Descriptor blob, Action<long>? onProgress, Action? onVerify)
    {
        try
        {
            await Task.Yield(); // registered in _downloads before any of the work runs
            await DownloadOnceAsync(repo, blob, onProgress, onVerify, shared.Stop.Token).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock) _downloads.Remove(blob.Digest);
        }
    }

    private sealed class SharedDownload
    {
        public Task Work = Task.CompletedTask;
        public readonly CancellationTokenSource Stop = new();
        public int Waiters; // guarded by the puller's _lock
    }

    private async Task DownloadOnceAsync(RegistryRepository repo, Descriptor blob, Action<long>? onProgress, Action? onVerify, CancellationToken ct)
    {
        var buffer = new byte[1 << 17];
        for (int attempt = 1; ; attempt++)
        {
            await using var ingest = await content.OpenResumableAsync(blob, ct).ConfigureAwait(false);
            bool resumedFrom = ingest.Offset > 0;
            try
            {
                if (ingest.Offset < blob.Size || blob.Size < 0)
                {
                    using var dl = await repo.GetBlobAsync(blob.Digest, ingest.Offset, ct).ConfigureAwait(false);
                    if (!dl.Resumed && ingest.Offset > 0) ingest.Reset();
                    onProgress?.Invoke(ingest.Offset);
                    int n;
                    while ((n = await dl.Stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                    {
                        await ingest.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        onProgress?.Invoke(ingest.Offset);
                    }
                }
                onVerify?.Invoke();
                await ingest.CommitAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (BerthException e) when (e.Kind == ErrorKind.InvalidArgument && resumedFrom && attempt < DownloadAttempts)
            {
                // What an earlier attempt left was not a prefix of this blob (CommitAsync dropped it): start over.
            }
            catch (Exception e) when (e is IOException or HttpRequestException && attempt < DownloadAttempts && !ct.IsCancellationRequested)
            {
                // A dropped connection: the bytes so far stay, the next attempt asks for the rest.
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), ct).ConfigureAwait(false);
            }
        }
    }

    private static OciDescriptor? SelectPlatform(ImageIndex index, string os, string arch, string? variant)
    {
        var candidates = index.Manifests.Where(m => MediaTypes.IsManifest(m.MediaType) && m.Platform is { } p
            && p.Os == os && p.Architecture == arch).ToList();
        if (variant is not null) return candidates.FirstOrDefault(m => m.Platform!.Variant == variant);
        // Without a wanted variant, prefer the one this architecture normally means (arm64 → v8), else the first.
        var usual = arch switch { "arm64" => "v8", "arm" => "v7", _ => null };
        return candidates.FirstOrDefault(m => m.Platform!.Variant is null || m.Platform.Variant == usual) ?? candidates.FirstOrDefault();
    }
}
