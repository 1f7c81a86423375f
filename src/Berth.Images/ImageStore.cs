using System.Formats.Tar;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Berth.Content;
using Berth.Core;
using Berth.Storage;

namespace Berth.Images;

/// <summary>
/// Images by ID and by name. Every image is a config blob (whose digest is the image ID, as in Docker), a manifest
/// blob and layer blobs in the content store; names live in one index file (<c>root/index.json</c>, written
/// atomically) mapping normalized references to image IDs. Unpacking turns layers into committed snapshots
/// named by chain ID, so a layer shared by several images is unpacked once.
/// </summary>
public sealed class ImageStore
{
    private readonly string _indexPath;
    private readonly IContentStore _content;
    private readonly ISnapshotter _snapshotter;
    private readonly TimeProvider _time;

    // Guards _images, _refs and every write of index.json.
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LoadedImage> _images = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _refs = new(StringComparer.Ordinal);

    // Guards _unpacking: the in-flight unpack of each chain ID, so concurrent unpacks of one layer share the work.
    private readonly Lock _unpackLock = new();
    private readonly Dictionary<string, Task> _unpacking = new(StringComparer.Ordinal);

    private sealed record LoadedImage(ImageConfig Config, ImageManifest Manifest, Digest ManifestDigest, Digest ConfigDigest, string? Parent = null,
        DateTimeOffset? LastTagTime = null);

    private readonly Transfer.LayerSources? _sources;

    /// <param name="sources">Where the compressed forms of layers (made for pushes, fetched by pulls) are known; deleting
    /// the last image with a layer deletes them too.</param>
    public ImageStore(string root, IContentStore content, ISnapshotter snapshotter, TimeProvider? time = null, Transfer.LayerSources? sources = null)
    {
        _sources = sources;
        Directory.CreateDirectory(root);
        _indexPath = Path.Combine(Path.GetFullPath(root), "index.json");
        _content = content;
        _snapshotter = snapshotter;
        _time = time ?? TimeProvider.System;
        Load();
        LoadLayerSizes();
    }

    private void Load()
    {
        if (!File.Exists(_indexPath)) return;
        var index = JsonSerializer.Deserialize(File.ReadAllBytes(_indexPath), ImagesJsonContext.Default.ImageIndexFile) ?? new();
        foreach (var (id, entry) in index.Images)
        {
            // An image whose blobs are gone (a crash during delete) is dropped rather than half-loaded.
            if (!Digest.TryParse(id, out var configDigest) || !Digest.TryParse(entry.Manifest, out var manifestDigest)) continue;
            if (!_content.Exists(configDigest) || !_content.Exists(manifestDigest)) continue;
            _images[id] = new LoadedImage(
                ImageConfig.Parse(ReadBlob(configDigest)),
                ImageManifest.Parse(ReadBlob(manifestDigest)),
                manifestDigest, configDigest, entry.Parent, entry.LastTagTime);
        }
        // A parent deleted by an older Berth (or lost with its blobs) leaves no dangling link.
        foreach (var (id, img) in _images.ToList())
            if (img.Parent is { } parent && !_images.ContainsKey(parent)) _images[id] = img with { Parent = null };
        foreach (var (r, id) in index.Refs)
            if (_images.ContainsKey(id)) _refs[r] = id;
    }

    private byte[] ReadBlob(Digest d)
    {
        using var s = _content.OpenRead(d);
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    // diff ID → the layer's content size: the bytes of its files, as dockerd counts a layer it registers (the sum of its
    // tar headers' sizes), so an empty directory's layer is 0 B. Recorded when a layer is committed, imported or unpacked
    // (layer-content-sizes.json; losing it only loses the figure, until then the blob's size stands in). Guarded by _lock.
    private Dictionary<string, long> _layerSizes = new(StringComparer.Ordinal);

    private string LayerSizesPath => Path.Combine(Path.GetDirectoryName(_indexPath)!, "layer-content-sizes.json");

    private void LoadLayerSizes()
    {
        try
        {
            if (File.Exists(LayerSizesPath))
                _layerSizes = JsonSerializer.Deserialize(File.ReadAllBytes(LayerSizesPath), ImagesJsonContext.Default.DictionaryStringInt64)
                    ?? new(StringComparer.Ordinal);
        }
        catch (JsonException) { /* recomputed as layers are unpacked */ }
        // Stores written before content sizes were kept: their uncompressed layers are sized now.
        SizeUncompressedLayers(_images.Values.SelectMany(i => i.Manifest.Layers.Zip(i.Config.RootFs.DiffIds)));
        try { File.Delete(Path.Combine(Path.GetDirectoryName(_indexPath)!, "layer-sizes.json")); } // tar sizes, the old figure
        catch (IOException) { }
    }

    /// <summary>
    /// Records the content size of each uncompressed layer not sized yet, from its tar headers alone (a loaded image's
    /// layers, or an older store's). A compressed one is sized when it is unpacked.
    /// </summary>
    private void SizeUncompressedLayers(IEnumerable<(OciDescriptor Blob, string DiffId)> layers)
    {
        List<(OciDescriptor Blob, string DiffId)> missing;
        lock (_lock)
            missing = layers.Where(l => MediaTypes.CompressionOf(l.Blob.MediaType) == LayerCompression.None && !_layerSizes.ContainsKey(l.DiffId))
                .DistinctBy(l => l.DiffId).ToList();
        foreach (var (blob, diffId) in missing)
        {
            try { RecordLayerSize(Digest.Parse(diffId), TarContentSize(blob.ToDescriptor().Digest)); }
            catch (Exception e) when (e is IOException or InvalidDataException or FormatException or EndOfStreamException or BerthException) { }
        }
    }

    private void RecordLayerSize(Digest diffId, long size)
    {
        lock (_lock)
        {
            if (_layerSizes.TryGetValue(diffId.ToString(), out var known) && known == size) return;
            _layerSizes[diffId.ToString()] = size;
            AtomicFile.WriteAllBytes(LayerSizesPath, JsonSerializer.SerializeToUtf8Bytes(_layerSizes, ImagesJsonContext.Default.DictionaryStringInt64), durable: false);
        }
    }

    private void SaveLocked()
    {
        var file = new ImageIndexFile
        {
            Images = _images.ToDictionary(kv => kv.Key, kv => new ImageIndexEntry { Manifest = kv.Value.ManifestDigest.ToString(), Parent = kv.Value.Parent, LastTagTime = kv.Value.LastTagTime }, StringComparer.Ordinal),
            Refs = new Dictionary<string, string>(_refs, StringComparer.Ordinal),
        };
        AtomicFile.WriteAllBytes(_indexPath, JsonSerializer.SerializeToUtf8Bytes(file, ImagesJsonContext.Default.ImageIndexFile));
    }

    // ---- lookup ----

    /// <summary>
    /// Finds an image by full or familiar name (<c>busybox</c>, <c>busybox:latest</c>,
    /// <c>docker.io/library/busybox:latest</c>), by ID (<c>sha256:…</c> or bare hex) or by a unique ID prefix.
    /// </summary>
    public ImageRecord? Resolve(string nameOrId)
    {
        lock (_lock)
        {
            var id = ResolveIdLocked(nameOrId);
            return id is null ? null : ToRecordLocked(id);
        }
    }

    private string? ResolveIdLocked(string nameOrId)
    {
        if (string.IsNullOrEmpty(nameOrId)) return null;
        if (Digest.TryParse(nameOrId, out var d)) return _images.ContainsKey(d.ToString()) ? d.ToString() : null;
        if (nameOrId.Length == 64 && Digest.TryParse("sha256:" + nameOrId, out d)) return _images.ContainsKey(d.ToString()) ? d.ToString() : null;
        if (ImageReference.TryParse(nameOrId, out var r) && _refs.TryGetValue(r.ToString(), out var byName)) return byName;
        // Docker falls back to a short ID: any unambiguous prefix of the hex.
        var prefix = nameOrId.StartsWith("sha256:", StringComparison.Ordinal) ? nameOrId[7..] : nameOrId;
        if (prefix.Length == 0 || !prefix.All(char.IsAsciiHexDigitLower)) return null;
        string? found = null;
        foreach (var id in _images.Keys)
        {
            if (!id.AsSpan(7).StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (found is not null) return null; // ambiguous
            found = id;
        }
        return found;
    }

    public IReadOnlyList<ImageRecord> List()
    {
        lock (_lock)
        {
            var parents = ParentsLocked();
            return _images.Keys.Select(id => ToRecordLocked(id, parents)).OrderByDescending(r => r.Created).ToList();
        }
    }

    /// <summary>The IDs that some image names as its parent.</summary>
    private HashSet<string> ParentsLocked() =>
        _images.Values.Select(i => i.Parent).OfType<string>().ToHashSet(StringComparer.Ordinal);

    /// <summary>True when an image was made on <paramref name="id"/>, or a commit on it is under way.</summary>
    private bool HasChildrenLocked(string id) => _committingOn.ContainsKey(id) || _images.Values.Any(i => i.Parent == id);

    // Guarded by _lock: image ID → commits in flight on it, which count as children until they register.
    private readonly Dictionary<string, int> _committingOn = new(StringComparer.Ordinal);

    public ImageConfig GetConfig(ImageRecord image)
    {
        lock (_lock)
            return _images.TryGetValue(image.Id, out var img) ? img.Config : throw BerthException.NotFound($"No such image: {image.Id}");
    }

    /// <param name="parents">The IDs some image names as its parent, when a caller makes many records; else each record looks.</param>
    private ImageRecord ToRecordLocked(string id, HashSet<string>? parents = null)
    {
        var img = _images[id];
        var tags = _refs.Where(kv => kv.Value == id)
            .Select(kv => ImageReference.ParseNormalized(kv.Key))
            .Where(r => r.Tag is not null)
            .Select(r => r.FamiliarString)
            .Order(StringComparer.Ordinal)
            .ToList();
        var digests = _refs.Where(kv => kv.Value == id)
            .Select(kv => ImageReference.ParseNormalized(kv.Key))
            .Where(r => r.Digest is not null)
            .Select(r => r.FamiliarString)
            .Order(StringComparer.Ordinal)
            .ToList();
        var diffIds = img.Config.RootFs.DiffIds.Select(Digest.Parse).ToList();
        var chains = ChainIds(diffIds);
        var sizes = LayerSizesLocked(img);
        return new ImageRecord
        {
            Id = id,
            RepoTags = tags,
            RepoDigests = digests,
            Created = img.Config.Created,
            Size = sizes.Sum(),
            LayerSizes = sizes,
            ConfigDigest = img.ConfigDigest,
            ManifestDigest = img.ManifestDigest,
            LayerBlobs = img.Manifest.Layers.Select(l => l.ToDescriptor()).ToList(),
            Layers = diffIds,
            ChainId = chains.Count > 0 ? chains[^1] : null,
            Labels = img.Config.Config?.Labels ?? new Dictionary<string, string>(),
            History = img.Config.History ?? [],
            Architecture = img.Config.Architecture,
            Os = img.Config.Os,
            Parent = img.Parent,
            LastTagTime = img.LastTagTime,
            HasChildren = parents?.Contains(id) ?? HasChildrenLocked(id),
        };
    }

    /// <summary>
    /// Each layer's size as `docker history` and `docker images` show it: its content size (see <see cref="_layerSizes"/>),
    /// or the blob's size while that is not known (a pulled layer not yet unpacked).
    /// </summary>
    private List<long> LayerSizesLocked(LoadedImage img)
    {
        var diffIds = img.Config.RootFs.DiffIds;
        return img.Manifest.Layers.Select((layer, i) =>
            i < diffIds.Count && _layerSizes.TryGetValue(diffIds[i], out var content) ? content : layer.Size).ToList();
    }

    /// <summary>OCI chain IDs: chain(1) = diffID(1); chain(n) = sha256(chain(n-1) + " " + diffID(n)).</summary>
    public static IReadOnlyList<string> ChainIds(IReadOnlyList<Digest> diffIds)
    {
        var result = new List<string>(diffIds.Count);
        string? prev = null;
        foreach (var d in diffIds)
        {
            prev = prev is null ? d.ToString() : Digest.FromBytes(Encoding.UTF8.GetBytes($"{prev} {d}")).ToString();
            result.Add(prev);
        }
        return result;
    }

    // ---- import / tag ----

    /// <summary>
    /// <c>docker import</c>: the tar (plain or gzip) becomes the single layer of a new image whose config carries
    /// the given changes. Each import gets its own creation time, hence its own ID.
    /// </summary>
    public async Task<ImageRecord> ImportAsync(Stream tarOrGz, ImportOptions options, CancellationToken ct)
    {
        ImageReference? tag = options.Tag is { Length: > 0 } t ? ParseTag(t) : null;
        var runConfig = ConfigChanges.Apply(new ContainerConfig(), options.Changes);
        var (os, arch, variant) = Platforms.Parse(options.Platform);

        Descriptor layer;
        using (var tar = Compression.Decompress(tarOrGz, leaveOpen: true))
            layer = await _content.WriteAsync(tar, MediaTypes.OciLayer, null, ct).ConfigureAwait(false);
        RecordLayerSize(layer.Digest, ValidateTar(layer.Digest));

        var now = _time.GetUtcNow();
        var config = new ImageConfig
        {
            Created = now,
            Architecture = arch,
            Os = os,
            Variant = variant,
            Config = runConfig,
            RootFs = new RootFs { DiffIds = [layer.Digest.ToString()] },
            History = [new HistoryEntry { Created = now, Comment = options.Message is { Length: > 0 } m ? m : $"Imported from {options.Source}" }],
        };
        var configDesc = _content.WriteBytes(config.ToJsonBytes(), MediaTypes.OciConfig);
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = OciDescriptor.From(configDesc),
            Layers = [OciDescriptor.From(layer)],
        };
        var manifestDesc = _content.WriteBytes(manifest.ToJsonBytes(), MediaTypes.OciManifest);

        var id = configDesc.Digest.ToString();
        lock (_lock)
        {
            var known = _images.GetValueOrDefault(id);
            _images[id] = new LoadedImage(config, manifest, manifestDesc.Digest, configDesc.Digest, known?.Parent,
                tag is not null ? _time.GetUtcNow() : known?.LastTagTime);
            if (tag is not null) _refs[tag.ToString()] = id;
            SaveLocked();
            return ToRecordLocked(id);
        }
    }

    /// <summary>
    /// <c>docker commit</c>: <paramref name="layerTar"/> (an uncompressed layer made from a container's changes) on
    /// top of <paramref name="parent"/>'s layers, with the run-time config and history entry given. The new layer is
    /// unpacked like any other when a container first uses the image.
    /// </summary>
    /// <remarks>A null <paramref name="parent"/> starts from nothing (<c>FROM scratch</c>); a null <paramref name="layerTar"/>
    /// adds no layer, only the config and an empty-layer history entry (the builder's metadata steps).</remarks>
    public async Task<ImageRecord> CommitAsync(ImageRecord? parent, Stream? layerTar, CommitOptions options, CancellationToken ct)
    {
        ImageReference? tag = options.Tag is { Length: > 0 } t ? ParseTag(t) : null;
        ImageConfig parentConfig;
        ImageManifest parentManifest;
        if (parent is null)
        {
            var (os, arch, _) = Platforms.Parse(null);
            parentConfig = new ImageConfig { Os = os, Architecture = arch };
            parentManifest = new ImageManifest { Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = "" } };
        }
        else
        {
            lock (_lock)
            {
                var p = _images.GetValueOrDefault(parent.Id) ?? throw BerthException.NotFound($"No such image: {parent.Id}");
                (parentConfig, parentManifest) = (p.Config, p.Manifest);
                // Until the new image registers, the parent counts as having a child: a delete or prune meanwhile leaves it.
                _committingOn[parent.Id] = _committingOn.GetValueOrDefault(parent.Id) + 1;
            }
        }
        try
        {
            return await CommitOnAsync(parent, parentConfig, parentManifest, layerTar, tag, options, ct).ConfigureAwait(false);
        }
        finally
        {
            if (parent is not null)
                lock (_lock)
                    if (--_committingOn[parent.Id] == 0) _committingOn.Remove(parent.Id);
        }
    }

    private async Task<ImageRecord> CommitOnAsync(ImageRecord? parent, ImageConfig parentConfig, ImageManifest parentManifest, Stream? layerTar,
        ImageReference? tag, CommitOptions options, CancellationToken ct)
    {
        var layer = layerTar is null ? (Descriptor?)null : await _content.WriteAsync(layerTar, MediaTypes.OciLayer, null, ct).ConfigureAwait(false);
        if (layer is { } written) RecordLayerSize(written.Digest, TarContentSize(written.Digest));
        var now = options.Created ?? _time.GetUtcNow();
        var config = parentConfig with
        {
            Created = now,
            Author = options.Author is { Length: > 0 } a ? a : null,
            Config = options.Config,
            RootFs = new RootFs { DiffIds = layer is { } l ? [.. parentConfig.RootFs.DiffIds, l.Digest.ToString()] : parentConfig.RootFs.DiffIds },
            History = [.. parentConfig.History ?? [], new HistoryEntry
            {
                Created = now,
                Author = options.Author is { Length: > 0 } ha ? ha : null,
                CreatedBy = options.CreatedBy,
                Comment = options.Comment is { Length: > 0 } c ? c : null,
                EmptyLayer = layer is null ? true : null,
            }],
        };
        var configDesc = _content.WriteBytes(config.ToJsonBytes(), MediaTypes.OciConfig);
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = OciDescriptor.From(configDesc),
            Layers = layer is { } ld ? [.. parentManifest.Layers, OciDescriptor.From(ld)] : parentManifest.Layers,
        };
        var manifestDesc = _content.WriteBytes(manifest.ToJsonBytes(), MediaTypes.OciManifest);
        var id = configDesc.Digest.ToString();
        lock (_lock)
        {
            // As dockerd: the image made on another (a build step, a commit) records it as its parent, unless that
            // went meanwhile. The same config committed again keeps the parent it has.
            var parentId = _images.TryGetValue(id, out var existing) ? existing.Parent
                : parent is not null && _images.ContainsKey(parent.Id) && parent.Id != id ? parent.Id : null;
            _images[id] = new LoadedImage(config, manifest, manifestDesc.Digest, configDesc.Digest, parentId,
                tag is not null ? _time.GetUtcNow() : existing?.LastTagTime);
            if (tag is not null) _refs[tag.ToString()] = id;
            SaveLocked();
            return ToRecordLocked(id);
        }
    }

    // ---- register (pull, load) ----

    /// <summary>
    /// Registers an image whose manifest, config and layer blobs are already in the content store (a pull or a load
    /// wrote them) and points <paramref name="names"/> at it: references with a tag become RepoTags, references with
    /// a digest RepoDigests. A name that pointed at another image moves, leaving that one dangling, as in Docker.
    /// Refuses, with the store's names unchanged, when a blob is missing or the config does not fit the manifest.
    /// </summary>
    public ImageRecord Register(Digest manifestDigest, IEnumerable<ImageReference> names)
    {
        var manifest = ImageManifest.Parse(ReadBlobChecked(manifestDigest, "manifest"));
        if (manifest.MediaType is { } mt && !MediaTypes.IsManifest(mt))
            throw BerthException.Invalid($"manifest {manifestDigest}: unsupported media type {mt}");
        if (!MediaTypes.IsConfig(manifest.Config.MediaType))
            throw BerthException.Invalid($"manifest {manifestDigest}: config has media type {manifest.Config.MediaType}, not an image config");
        var configDesc = manifest.Config.ToDescriptor();
        var config = ImageConfig.Parse(ReadBlobChecked(configDesc.Digest, "config"));
        if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
            throw BerthException.Invalid($"manifest {manifestDigest}: {manifest.Layers.Count} layers but the config lists {config.RootFs.DiffIds.Count} diff IDs");
        foreach (var d in config.RootFs.DiffIds)
            if (!Digest.TryParse(d, out _)) throw BerthException.Invalid($"config {configDesc.Digest}: invalid diff ID \"{d}\"");
        foreach (var layer in manifest.Layers)
        {
            if (!MediaTypes.IsLayer(layer.MediaType))
                throw BerthException.Invalid($"manifest {manifestDigest}: unsupported layer media type {layer.MediaType}");
            var ld = layer.ToDescriptor();
            if (!_content.Exists(ld.Digest)) throw BerthException.NotFound($"layer {ld.Digest} of manifest {manifestDigest}: not in the content store");
        }
        SizeUncompressedLayers(manifest.Layers.Zip(config.RootFs.DiffIds));
        var id = configDesc.Digest.ToString();
        ImageRecord record;
        LoadedImage? replaced;
        lock (_lock)
        {
            _images.TryGetValue(id, out replaced);
            _images[id] = new LoadedImage(config, manifest, manifestDigest, configDesc.Digest, replaced?.Parent, replaced?.LastTagTime);
            foreach (var name in names)
                _refs[name.ToString()] = id;
            SaveLocked();
            record = ToRecordLocked(id);
        }
        // The same image came with another manifest (pulled after a load or a commit): the old one's blobs that
        // nothing else uses would otherwise stay forever.
        if (replaced is not null && replaced.ManifestDigest != manifestDigest)
            DeleteUnreferenced(replaced.Manifest.Layers.Select(l => l.ToDescriptor().Digest).Append(replaced.ManifestDigest));
        return record;
    }

    private byte[] ReadBlobChecked(Digest digest, string what)
    {
        if (!_content.Exists(digest)) throw BerthException.NotFound($"{what} {digest}: not in the content store");
        // Manifests and configs are small documents; a huge one is an attack, not an image.
        if (_content.Size(digest) > MaxDocumentSize) throw BerthException.Invalid($"{what} {digest}: larger than {MaxDocumentSize} bytes");
        return ReadBlob(digest);
    }

    /// <summary>The largest manifest or config the store accepts (distribution's manifest limit is 4 MiB).</summary>
    public const int MaxDocumentSize = 4 << 20;

    /// <summary>
    /// Pins blobs that work in flight (a pull, a load) has written or is writing, so that image deletion and
    /// <see cref="DeleteUnreferenced"/> leave them alone until the work registers its image or gives up.
    /// </summary>
    public BlobLease Lease() => new(this);

    // Guards _leased: blob digest → how many live leases pin it.
    private readonly Lock _leaseLock = new();
    private readonly Dictionary<Digest, int> _leased = new();

    /// <summary>
    /// Deletes a blob no lease pins, checking and deleting under the lease lock: a pull that leases it a moment later
    /// then finds it gone and fetches it, rather than finding it present and losing it.
    /// </summary>
    private bool DeleteUnlessLeased(Digest d)
    {
        lock (_leaseLock)
        {
            if (_leased.ContainsKey(d)) return false;
            _content.Delete(d);
            return true;
        }
    }

    /// <summary>A set of pinned blobs; disposing it releases them.</summary>
    public sealed class BlobLease : IDisposable
    {
        private readonly ImageStore _store;
        private readonly HashSet<Digest> _pins = [];

        internal BlobLease(ImageStore store) => _store = store;

        public IReadOnlyCollection<Digest> Blobs => _pins;

        public void Add(Digest d)
        {
            lock (_store._leaseLock)
            {
                if (!_pins.Add(d)) return;
                _store._leased[d] = _store._leased.GetValueOrDefault(d) + 1;
            }
        }

        public void Dispose()
        {
            lock (_store._leaseLock)
            {
                foreach (var d in _pins)
                {
                    if (_store._leased[d] <= 1) _store._leased.Remove(d);
                    else _store._leased[d]--;
                }
                _pins.Clear();
            }
        }
    }

    /// <summary>
    /// Deletes those of <paramref name="blobs"/> that no image references and no other lease pins: the leftovers of a
    /// failed pull or load, so that a failure leaves the store as it was. The caller's own lease must be released first.
    /// </summary>
    public void DeleteUnreferenced(IEnumerable<Digest> blobs)
    {
        HashSet<string> keep;
        lock (_lock) keep = ReferencedBlobsLocked();
        foreach (var d in blobs)
            if (!keep.Contains(d.ToString())) DeleteUnlessLeased(d);
    }

    private HashSet<string> ReferencedBlobsLocked() =>
        _images.Values.SelectMany(i => i.Manifest.Layers.Select(l => l.Digest)
            .Append(i.ManifestDigest.ToString()).Append(i.ConfigDigest.ToString())).ToHashSet(StringComparer.Ordinal);

    /// <summary>An imported tar read through (a broken one is deleted and refused); its content size.</summary>
    private long ValidateTar(Digest blob)
    {
        try
        {
            return TarContentSize(blob);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            bool used;
            lock (_lock) used = _images.Values.Any(img => img.Manifest.Layers.Any(l => l.Digest == blob.ToString()));
            if (!used) _content.Delete(blob);
            throw new BerthException(ErrorKind.InvalidArgument, $"invalid tar archive: {e.Message}", e);
        }
    }

    /// <summary>The sum of an uncompressed layer blob's entry sizes (dockerd's layer size), read from its headers alone.</summary>
    private long TarContentSize(Digest blob)
    {
        using var s = _content.OpenRead(blob);
        using var reader = new TarReader(s);
        long size = 0;
        while (reader.GetNextEntry(copyData: false) is { } entry) size += entry.Length;
        return size;
    }

    private static ImageReference ParseTag(string reference)
    {
        var r = ImageReference.ParseNormalized(reference);
        if (r.Digest is not null) throw BerthException.Invalid("refusing to create a tag with a digest reference");
        return r.Tag is null ? r.WithTag(ImageReference.DefaultTag) : r;
    }

    /// <summary>Records that <paramref name="image"/> is known to a registry as <paramref name="reference"/> (a push's RepoDigest).</summary>
    public void AddRepoDigest(string image, ImageReference reference)
    {
        if (reference.Digest is null) throw BerthException.Invalid($"{reference} has no digest");
        lock (_lock)
        {
            if (!_images.ContainsKey(image)) throw BerthException.NotFound($"No such image: {image}");
            _refs[reference.WithDigest(reference.Digest.Value).ToString()] = image;
            SaveLocked();
        }
    }

    /// <summary><c>docker tag</c>: points <paramref name="reference"/> at the image <paramref name="source"/> names, moving it if it pointed elsewhere.</summary>
    public void Tag(string source, string reference)
    {
        var r = ParseTag(reference);
        lock (_lock)
        {
            var id = ResolveIdLocked(source) ?? throw BerthException.NotFound($"No such image: {source}");
            _refs[r.ToString()] = id;
            _images[id] = _images[id] with { LastTagTime = _time.GetUtcNow() }; // dockerd's LastTagTime
            SaveLocked();
        }
    }

    // ---- delete / prune ----

    /// <summary>
    /// <c>docker rmi</c> with Docker's rules: a name with other names left only untags; an ID with names in
    /// several repositories needs force; an image used by a stopped container needs force; one used by a running
    /// container cannot be deleted. <paramref name="containersUsing"/> lists the containers whose image is the given ID.
    /// </summary>
    public async Task<IReadOnlyList<ImageDeleteItem>> DeleteAsync(string nameOrId, bool force, bool noPrune,
        Func<string, IEnumerable<ImageUse>> containersUsing, CancellationToken ct)
    {
        var items = new List<ImageDeleteItem>();
        string id;
        lock (_lock) id = ResolveIdLocked(nameOrId) ?? throw BerthException.NotFound($"No such image: {nameOrId}");
        // The callback belongs to the container side; it is not called under our lock.
        var users = containersUsing(id).ToList();
        lock (_lock)
        {
            if (ResolveIdLocked(nameOrId) != id) throw BerthException.Conflict($"image {nameOrId} changed while being deleted; try again");
            var refs = RefsOfLocked(id);
            var shortId = id[7..19];
            if (!IsIdPrefix(id, nameOrId))
            {
                if (!force && IsSingleRepository(refs) && users.Count > 0)
                    throw BerthException.Conflict($"conflict: unable to remove repository reference \"{nameOrId}\" (must force) - container {Short(users[0].ContainerId)} is using its referenced image {shortId}");
                var named = ImageReference.Parse(nameOrId).ToString();
                _refs.Remove(named);
                items.Add(new(ImageDeleteItem.Untagged, ImageReference.ParseNormalized(named).FamiliarString));
                // As in Docker: with the last tag of a repository go that repository's digest references (RepoDigests).
                var repository = ImageReference.ParseNormalized(named).Name;
                var left = RefsOfLocked(id).Select(ImageReference.ParseNormalized).Where(r => r.Name == repository).ToList();
                if (!left.Any(r => r.Tag is not null))
                    foreach (var r in left)
                    {
                        _refs.Remove(r.ToString());
                        items.Add(new(ImageDeleteItem.Untagged, r.FamiliarString));
                    }
                // With names left, a container still on it or images made on it, untagging was the whole job.
                if (RefsOfLocked(id).Count > 0 || users.Count > 0 || HasChildrenLocked(id))
                {
                    SaveLocked();
                    return items;
                }
            }
            else
            {
                if (HasChildrenLocked(id))
                    throw BerthException.Conflict($"conflict: unable to delete {shortId} (cannot be forced) - image has dependent child images");
                if (IsSingleRepository(refs))
                {
                    CheckConflicts(shortId, users, force, activeRefs: 0);
                    foreach (var r in refs)
                    {
                        _refs.Remove(r);
                        items.Add(new(ImageDeleteItem.Untagged, ImageReference.ParseNormalized(r).FamiliarString));
                    }
                }
                CheckConflicts(shortId, users, force, activeRefs: RefsOfLocked(id).Count);
            }
        }
        var (deleted, _, parent) = await RemoveImageAsync(id, RemoveMode.Always, ct).ConfigureAwait(false);
        items.AddRange(deleted);
        if (!noPrune) await PruneParentsAsync(parent, p => containersUsing(p).Any(), items, ct).ConfigureAwait(false);
        return items;
    }

    /// <summary>
    /// As dockerd after deleting an image: its parent goes too when nothing else holds it (no name, no other child, no
    /// container), and so on down the chain: the builder's intermediate images leave with the image they made.
    /// </summary>
    private async Task<long> PruneParentsAsync(string? parent, Func<string, bool> inUse, List<ImageDeleteItem> items, CancellationToken ct)
    {
        long freed = 0;
        while (parent is not null && !inUse(parent))
        {
            var (deleted, bytes, next) = await RemoveImageAsync(parent, RemoveMode.IfOrphan, ct).ConfigureAwait(false);
            if (deleted.Count == 0) break;
            items.AddRange(deleted);
            freed += bytes;
            parent = next;
        }
        return freed;
    }

    private enum RemoveMode
    {
        /// <summary>Names and image go (the caller has checked what stops it; a child that appeared since is a conflict).</summary>
        Always,
        /// <summary>Names go; the image stays when images were made on it (dockerd's prune of a named image).</summary>
        UntagThenIfChildless,
        /// <summary>Only an image without names or children goes; otherwise nothing changes.</summary>
        IfOrphan,
    }

    private static void CheckConflicts(string shortId, List<ImageUse> users, bool force, int activeRefs)
    {
        if (users.FirstOrDefault(u => u.Running) is { ContainerId: not null } running)
            throw BerthException.Conflict($"conflict: unable to delete {shortId} (cannot be forced) - image is being used by running container {Short(running.ContainerId)}");
        if (force) return;
        if (activeRefs > 0)
            throw BerthException.Conflict($"conflict: unable to delete {shortId} (must be forced) - image is referenced in multiple repositories");
        if (users.FirstOrDefault(u => !u.Running) is { ContainerId: not null } stopped)
            throw BerthException.Conflict($"conflict: unable to delete {shortId} (must be forced) - image is being used by stopped container {Short(stopped.ContainerId)}");
    }

    private static string Short(string id) => id.Length > 12 ? id[..12] : id;

    /// <summary>Whether <paramref name="candidate"/> names image <paramref name="id"/> by its ID (whole, bare hex or a prefix) rather than by a name.</summary>
    public static bool IsIdPrefix(string id, string candidate) =>
        id.StartsWith(candidate, StringComparison.Ordinal) || id.AsSpan(7).StartsWith(candidate, StringComparison.Ordinal);

    private List<string> RefsOfLocked(string id) => _refs.Where(kv => kv.Value == id).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();

    /// <summary>True when every name is in one repository (e.g. busybox:1 and busybox:latest).</summary>
    private static bool IsSingleRepository(List<string> refs) =>
        refs.Select(r => ImageReference.ParseNormalized(r).Name).Distinct(StringComparer.Ordinal).Count() <= 1;

    /// <summary>
    /// Forgets an image and its names, then frees the blobs and snapshots no remaining image uses. Snapshots a
    /// container still builds on stay (the snapshotter refuses to remove a parent).
    /// </summary>
    private async Task<(List<ImageDeleteItem> Items, long Freed, string? Parent)> RemoveImageAsync(string id, RemoveMode mode, CancellationToken ct)
    {
        var items = new List<ImageDeleteItem>();
        LoadedImage img;
        HashSet<string> keepBlobs, keepChains;
        lock (_lock)
        {
            if (!_images.TryGetValue(id, out img!)) return (items, 0, null);
            bool children = HasChildrenLocked(id);
            if (mode == RemoveMode.IfOrphan && (children || RefsOfLocked(id).Count > 0)) return (items, 0, null);
            // A commit on it began after the caller's checks: the image stays for it.
            if (mode == RemoveMode.Always && children)
                throw BerthException.Conflict($"conflict: unable to delete {id[7..19]} (cannot be forced) - image has dependent child images");
            foreach (var r in RefsOfLocked(id))
            {
                _refs.Remove(r);
                items.Add(new(ImageDeleteItem.Untagged, ImageReference.ParseNormalized(r).FamiliarString));
            }
            if (children)
            {
                SaveLocked();
                return (items, 0, null);
            }
            _images.Remove(id);
            SaveLocked();
            keepBlobs = ReferencedBlobsLocked();
            keepChains = _images.Values.SelectMany(i => ChainIds(i.Config.RootFs.DiffIds.Select(Digest.Parse).ToList())).ToHashSet(StringComparer.Ordinal);
        }
        items.Add(new(ImageDeleteItem.Deleted, id));

        long freed = 0;
        HashSet<string> keepDiffIds;
        lock (_lock) keepDiffIds = _images.Values.SelectMany(i => i.Config.RootFs.DiffIds).ToHashSet(StringComparer.Ordinal);
        var compressedForms = _sources is null ? [] : img.Config.RootFs.DiffIds
            .Where(d => !keepDiffIds.Contains(d) && Digest.TryParse(d, out _))
            .SelectMany(d => _sources.Get(Digest.Parse(d))).Select(s => s.Digest);
        // What is reclaimed is counted as dockerd counts it: the content size of each layer that went.
        var layerOf = img.Manifest.Layers.Zip(img.Config.RootFs.DiffIds).GroupBy(l => l.First.Digest).ToDictionary(g => g.Key, g => g.First().Second, StringComparer.Ordinal);
        foreach (var blob in img.Manifest.Layers.Select(l => l.Digest).Append(img.ManifestDigest.ToString()).Append(img.ConfigDigest.ToString())
                     .Concat(compressedForms).Distinct())
        {
            if (keepBlobs.Contains(blob)) continue;
            var d = Digest.Parse(blob);
            if (!_content.Exists(d)) continue;
            long size = _content.Size(d);
            if (!DeleteUnlessLeased(d) || !layerOf.TryGetValue(blob, out var diffId)) continue;
            lock (_lock) freed += _layerSizes.TryGetValue(diffId, out var content) ? content : size;
        }

        var chains = ChainIds(img.Config.RootFs.DiffIds.Select(Digest.Parse).ToList());
        for (int i = chains.Count - 1; i >= 0; i--)
        {
            if (keepChains.Contains(chains[i])) break; // shared from here down
            if (_snapshotter.Stat(chains[i]) is null) continue;
            try
            {
                await _snapshotter.RemoveAsync(chains[i], ct).ConfigureAwait(false);
                items.Add(new(ImageDeleteItem.Deleted, chains[i]));
            }
            catch (BerthException e) when (e.Kind is ErrorKind.Conflict or ErrorKind.NotFound)
            {
                break; // a container (or an unpack) builds on it; its parents are needed too
            }
        }
        return (items, freed, img.Parent);
    }

    /// <summary>
    /// <c>docker image prune</c>: deletes dangling (or, with DanglingOnly false, all) images no container uses, as
    /// dockerd: an untagged image with children is an intermediate one and goes only with its last child; a named
    /// image with children loses its names and stays.
    /// </summary>
    public async Task<PruneResult> PruneAsync(PruneOptions options, Func<string, bool> inUse, CancellationToken ct)
    {
        var candidates = List().Where(img =>
            !img.IsIntermediate
            && (!options.DanglingOnly || (img.RepoTags.Count == 0 && !img.HasChildren))
            && (options.Until is not { } until || img.Created is not { } c || c < until)
            && options.Labels.All(f => MatchesLabel(img.Labels, f))
            && !options.NotLabels.Any(f => MatchesLabel(img.Labels, f))
            && !inUse(img.Id)).ToList();
        var items = new List<ImageDeleteItem>();
        long freed = 0;
        foreach (var img in candidates)
        {
            ct.ThrowIfCancellationRequested();
            var (deleted, bytes, parent) = await RemoveImageAsync(img.Id, RemoveMode.UntagThenIfChildless, ct).ConfigureAwait(false);
            items.AddRange(deleted);
            freed += bytes + await PruneParentsAsync(parent, inUse, items, ct).ConfigureAwait(false);
        }
        return new PruneResult(items, freed);
    }

    private static bool MatchesLabel(IReadOnlyDictionary<string, string> labels, string filter)
    {
        int eq = filter.IndexOf('=');
        if (eq < 0) return labels.ContainsKey(filter);
        return labels.TryGetValue(filter[..eq], out var v) && v == filter[(eq + 1)..];
    }

    // ---- unpack ----

    /// <summary>
    /// Makes sure every layer of <paramref name="image"/> is a committed snapshot named by its chain ID and returns
    /// the top chain ID (null for an image without layers): the parent for a container's writable snapshot.
    /// Layers already unpacked (by this or any other image) are reused; concurrent unpacks of one layer share the work.
    /// </summary>
    public async Task<string?> UnpackAsync(ImageRecord image, CancellationToken ct)
    {
        var chains = ChainIds(image.Layers);
        if (image.LayerBlobs.Count != chains.Count)
            throw BerthException.Invalid($"image {image.Id}: {image.LayerBlobs.Count} layers in the manifest but {chains.Count} diff IDs in the config");
        string? parent = null;
        for (int i = 0; i < chains.Count; i++)
        {
            await EnsureLayerAsync(chains[i], parent, image.LayerBlobs[i], image.Layers[i], ct).ConfigureAwait(false);
            parent = chains[i];
        }
        return parent;
    }

    /// <summary>True when the layer with chain ID <paramref name="chain"/> is unpacked (a committed snapshot).</summary>
    public bool IsUnpacked(string chain) => _snapshotter.Stat(chain) is { Kind: SnapshotKind.Committed };

    /// <summary>
    /// Unpacks one layer blob as the committed snapshot <paramref name="chain"/> on top of <paramref name="parent"/>
    /// (which must be unpacked), unless it already is; checks the result against <paramref name="diffId"/>.
    /// <paramref name="progress"/> gets the blob bytes read so far (pull's Extracting).
    /// </summary>
    public Task EnsureLayerAsync(string chain, string? parent, Descriptor blob, Digest diffId, Action<long>? progress, CancellationToken ct) =>
        EnsureLayerAsync(chain, parent, blob, diffId, ct, progress);

    private async Task EnsureLayerAsync(string chain, string? parent, Descriptor blob, Digest diffId, CancellationToken ct, Action<long>? progress = null)
    {
        if (_snapshotter.Stat(chain) is { Kind: SnapshotKind.Committed }) return;
        Task work;
        bool owner = false;
        lock (_unpackLock)
        {
            if (!_unpacking.TryGetValue(chain, out work!))
            {
                work = Task.Run(() => UnpackLayerAsync(chain, parent, blob, diffId, progress, ct), ct);
                _unpacking[chain] = work;
                owner = true;
            }
        }
        try
        {
            await work.ConfigureAwait(false);
        }
        finally
        {
            if (owner)
                lock (_unpackLock) _unpacking.Remove(chain);
        }
    }

    private async Task UnpackLayerAsync(string chain, string? parent, Descriptor blob, Digest diffId, Action<long>? progress, CancellationToken ct)
    {
        if (_snapshotter.Stat(chain) is { Kind: SnapshotKind.Committed }) return;
        var key = $"extract-{Guid.NewGuid():N}-{chain}";
        var mounts = await _snapshotter.PrepareAsync(key, parent, ct).ConfigureAwait(false);
        bool committed = false;
        try
        {
            var (dir, mode) = ApplyTarget.For(mounts);
            LayerStats stats;
            using (var s = progress is null ? _content.OpenRead(blob.Digest) : new ProgressStream(_content.OpenRead(blob.Digest), progress))
            using (var tar = Compression.Decompress(s))
                stats = LayerApplier.Apply(tar, dir, mode, ct);
            if (stats.DiffId != diffId)
                throw BerthException.Invalid($"layer {blob.Digest}: content does not match its diff ID: expected {diffId}, got {stats.DiffId}");
            RecordLayerSize(diffId, stats.ContentBytes);
            try
            {
                await _snapshotter.CommitAsync(chain, key, ct).ConfigureAwait(false);
                committed = true;
            }
            catch (BerthException e) when (e.Kind == ErrorKind.Conflict && _snapshotter.Stat(chain) is { Kind: SnapshotKind.Committed })
            {
                // Someone else (another daemon process on this root) committed the same layer first: use theirs.
            }
        }
        finally
        {
            if (!committed)
            {
                try { await _snapshotter.RemoveAsync(key, CancellationToken.None).ConfigureAwait(false); }
                catch (BerthException) { /* already gone */ }
            }
        }
    }
}
