using Berth.Content;
using Berth.Core;
using Berth.Distribution;

namespace Berth.Images.Transfer;

/// <summary>What <c>docker push</c> asks for.</summary>
public sealed record PushOptions
{
    /// <summary>The repository and tag to push (the local image with that name).</summary>
    public required ImageReference Reference { get; init; }
    public RegistryCredentials Credentials { get; init; } = RegistryCredentials.Anonymous;

    /// <summary>How to compress layers stored uncompressed: gzip (Docker's default) or zstd.</summary>
    public LayerCompression Compression { get; init; } = LayerCompression.Gzip;
}

/// <summary>The pushed manifest's digest and size, as <c>docker push</c> reports them.</summary>
public sealed record PushResult(string Tag, Digest Digest, long Size);

/// <summary>
/// Pushes an image to a registry: each layer in compressed form (compressing once and remembering the result in
/// <see cref="LayerSources"/>), skipped when the registry has it, mounted from a sibling repository when one is
/// known to, uploaded in chunks otherwise; then the config and the manifest under the tag.
/// </summary>
public sealed class ImagePusher(ImageStore images, IContentStore content, RegistryTransport transport, LayerSources sources)
{
    public const int MaxConcurrentUploads = 5;

    /// <summary>Layers larger than this are uploaded in PATCH chunks of this size.</summary>
    public const long ChunkSize = 32L << 20;

    public async Task<PushResult> PushAsync(PushOptions options, Action<TransferProgress> progress, CancellationToken ct)
    {
        var reference = options.Reference;
        var tag = reference.Tag ?? ImageReference.DefaultTag;
        var image = images.Resolve(reference.ToString()) ?? throw BerthException.NotFound($"An image does not exist locally with the tag: {reference.FamiliarName}");
        var repo = await transport.OpenAsync(reference.Domain, reference.Path, options.Credentials, "pull,push", ct,
            MountScopes(image, reference)).ConfigureAwait(false);
        var sink = TransferProgress.Synchronized(progress);

        var (storedBytes, storedManifest) = ReadManifest(image.ManifestDigest);
        var layers = new Descriptor[image.LayerBlobs.Count];
        using (var failFast = CancellationTokenSource.CreateLinkedTokenSource(ct))
        using (var gate = new SemaphoreSlim(MaxConcurrentUploads))
        {
            var tasks = new Task[layers.Length];
            for (int i = 0; i < layers.Length; i++)
                sink(new TransferProgress(TransferProgress.ShortId(image.Layers[i]), "Preparing"));
            for (int i = 0; i < layers.Length; i++)
            {
                int k = i;
                tasks[k] = Task.Run(async () =>
                {
                    try
                    {
                        layers[k] = await PushLayerAsync(repo, reference, image.Layers[k], image.LayerBlobs[k], options.Compression, gate, sink, failFast.Token).ConfigureAwait(false);
                    }
                    catch
                    {
                        failFast.Cancel(); // the first failure stops the other uploads
                        throw;
                    }
                }, CancellationToken.None);
            }
            try
            {
                await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            catch
            {
                // Report the failure that started it, not the cancellations it caused.
                var first = tasks.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException);
                if (first is not null && !ct.IsCancellationRequested) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
                throw;
            }
        }

        // The config goes up like a layer, without progress lines (as dockerd does).
        var configDesc = storedManifest.Config.ToDescriptor();
        if (await repo.StatBlobAsync(configDesc.Digest, ct).ConfigureAwait(false) is null)
        {
            var location = await repo.StartUploadAsync(configDesc.Digest, null, ct).ConfigureAwait(false);
            await using var s = content.OpenRead(configDesc.Digest);
            await repo.UploadAsync(location!, s, configDesc.Size, configDesc.Digest, ChunkSize, _ => { }, ct).ConfigureAwait(false);
        }

        // The stored manifest goes as it is when its layers are the ones pushed (a pulled image keeps its digest);
        // otherwise a new one names the compressed layers, in Docker's schema 2 unless zstd needs OCI's types.
        byte[] manifestBytes;
        string mediaType;
        if (layers.Select(l => l.Digest).SequenceEqual(image.LayerBlobs.Select(l => l.Digest)))
        {
            manifestBytes = storedBytes;
            mediaType = storedManifest.MediaType ?? MediaTypes.OciManifest;
        }
        else
        {
            bool oci = layers.Any(l => l.MediaType == MediaTypes.OciLayerZstd);
            mediaType = oci ? MediaTypes.OciManifest : MediaTypes.DockerManifest;
            var manifest = new ImageManifest
            {
                MediaType = mediaType,
                Config = new OciDescriptor { MediaType = oci ? MediaTypes.OciConfig : MediaTypes.DockerConfig, Digest = configDesc.Digest.ToString(), Size = configDesc.Size },
                Layers = layers.Select(OciDescriptor.From).ToList(),
            };
            manifestBytes = manifest.ToJsonBytes();
        }
        var digest = await repo.PutManifestAsync(tag, mediaType, manifestBytes, ct).ConfigureAwait(false);
        images.AddRepoDigest(image.Id, reference.WithDigest(digest));
        sink(new TransferProgress(null, $"{tag}: digest: {digest} size: {manifestBytes.Length}"));
        return new PushResult(tag, digest, manifestBytes.Length);
    }

    private (byte[] Bytes, ImageManifest Manifest) ReadManifest(Digest d)
    {
        using var s = content.OpenRead(d);
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        var bytes = ms.ToArray();
        return (bytes, ImageManifest.Parse(bytes));
    }

    /// <summary>Token scopes to read the sibling repositories a layer could be mounted from.</summary>
    private IReadOnlyList<string> MountScopes(ImageRecord image, ImageReference target)
    {
        var repos = new HashSet<string>(StringComparer.Ordinal);
        foreach (var diffId in image.Layers)
            foreach (var src in sources.Get(diffId))
                foreach (var r in src.Repositories)
                    if (MountSource(r, target) is { } path) repos.Add(path);
        return repos.Take(8).Select(p => $"repository:{p}:pull").ToList();
    }

    /// <summary>The repository path of <paramref name="repository"/> when it is on the target's registry and is not the target.</summary>
    private static string? MountSource(string repository, ImageReference target)
    {
        var prefix = target.Domain + "/";
        if (!repository.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var path = repository[prefix.Length..];
        return path == target.Path ? null : path;
    }

    private async Task<Descriptor> PushLayerAsync(RegistryRepository repo, ImageReference target, Digest diffId, Descriptor stored,
        LayerCompression compression, SemaphoreSlim gate, Action<TransferProgress> sink, CancellationToken ct)
    {
        var id = TransferProgress.ShortId(diffId);
        if (gate.CurrentCount == 0) sink(new TransferProgress(id, "Waiting"));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var blob = await CompressedFormAsync(diffId, stored, compression, ct).ConfigureAwait(false);
            if (await repo.StatBlobAsync(blob.Digest, ct).ConfigureAwait(false) is not null)
            {
                sink(new TransferProgress(id, "Layer already exists"));
                sources.Add(diffId, blob, target.Name);
                return blob;
            }
            foreach (var src in sources.Get(diffId).Where(s => s.Digest == blob.Digest.ToString()))
            {
                foreach (var r in src.Repositories)
                {
                    if (MountSource(r, target) is not { } from) continue;
                    Uri? location;
                    try
                    {
                        location = await repo.StartUploadAsync(blob.Digest, from, ct).ConfigureAwait(false);
                    }
                    catch (BerthException e) when (e.Kind is ErrorKind.Unauthorized or ErrorKind.Forbidden or ErrorKind.NotFound)
                    {
                        continue;
                    }
                    if (location is null)
                    {
                        sink(new TransferProgress(id, $"Mounted from {from}"));
                        sources.Add(diffId, blob, target.Name);
                        return blob;
                    }
                    // The registry started an ordinary upload instead: use it.
                    await UploadAsync(repo, location, blob, id, sink, ct).ConfigureAwait(false);
                    sources.Add(diffId, blob, target.Name);
                    return blob;
                }
            }
            var loc = await repo.StartUploadAsync(blob.Digest, null, ct).ConfigureAwait(false);
            await UploadAsync(repo, loc!, blob, id, sink, ct).ConfigureAwait(false);
            sources.Add(diffId, blob, target.Name);
            return blob;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task UploadAsync(RegistryRepository repo, Uri location, Descriptor blob, string id, Action<TransferProgress> sink, CancellationToken ct)
    {
        var throttle = new ProgressThrottle(sink, id, "Pushing", blob.Size);
        await using (var s = content.OpenRead(blob.Digest))
            await repo.UploadAsync(location, s, blob.Size, blob.Digest, ChunkSize, throttle.Report, ct).ConfigureAwait(false);
        sink(new TransferProgress(id, "Pushed"));
    }

    /// <summary>
    /// The layer as a compressed blob: the stored one when it is compressed already, else one made earlier (found
    /// through <see cref="LayerSources"/>), else a new one written to the content store and remembered.
    /// </summary>
    private async Task<Descriptor> CompressedFormAsync(Digest diffId, Descriptor stored, LayerCompression compression, CancellationToken ct)
    {
        if (MediaTypes.CompressionOf(stored.MediaType) != LayerCompression.None) return stored;
        var mediaType = compression == LayerCompression.Zstd ? MediaTypes.OciLayerZstd : MediaTypes.DockerLayerGzip;
        foreach (var known in sources.Get(diffId))
            if (MediaTypes.CompressionOf(known.MediaType) == compression && content.Exists(known.ToDescriptor().Digest))
                return known.ToDescriptor() with { MediaType = mediaType };
        // Compress through a pipe straight into the ingester, which hashes on the way: no temporary copy.
        var pipe = new System.IO.Pipelines.Pipe();
        var writer = Task.Run(async () =>
        {
            try
            {
                await using (var src = content.OpenRead(stored.Digest))
                await using (var z = Compression.CompressTo(pipe.Writer.AsStream(leaveOpen: true), compression))
                    await src.CopyToAsync(z, 1 << 17, ct).ConfigureAwait(false);
                await pipe.Writer.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                throw;
            }
        }, ct);
        Descriptor blob;
        await using (var reader = pipe.Reader.AsStream())
            blob = await content.WriteAsync(reader, mediaType, null, ct).ConfigureAwait(false);
        await writer.ConfigureAwait(false);
        sources.Add(diffId, blob, null);
        return blob;
    }
}
