using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Berth.Content;
using Berth.Core;
using Berth.Core.IO;

namespace Berth.Images;

/// <summary>
/// <c>docker load</c>: reads an image archive (plain or gzip) in any of the three layouts found in the wild — Docker's
/// legacy one (<c>manifest.json</c>, <c>&lt;id&gt;.json</c>, <c>&lt;dir&gt;/layer.tar</c>), Docker 25+'s (the same
/// <c>manifest.json</c> pointing into <c>blobs/</c>) and a pure OCI image layout (<c>index.json</c>, names from its
/// annotations) — and registers its images.
/// </summary>
/// <remarks>
/// Entries may come in any order, so every regular file goes straight into the content store as it streams by (a
/// file named <c>blobs/sha256/&lt;hex&gt;</c> is checked against its name on the way) and is then known by archive
/// name → digest; nothing is unpacked onto the filesystem, so no archive name ever becomes a path. Names with
/// <c>..</c> or a leading <c>/</c>, links that leave the archive, and devices are refused. Links inside the archive
/// (Docker's <c>layer.tar</c> symlinks) are followed by name only. Every blob written is leased while the load runs;
/// afterwards those no image references — the archive's own JSON files, or everything new when the load failed — are
/// deleted again, so a failed load leaves no new blob. (A file not named by its digest is hashed on its way in, so
/// whether the store had it is not known beforehand; if it had it and no image uses it, it was garbage anyway.) Every image is checked (config, layers, diff IDs)
/// before the first one is registered.
/// </remarks>
public sealed class ImageArchiveReader(ImageStore images, IContentStore content)
{
    /// <summary>The most entries an archive may have; a real one has a few per layer.</summary>
    public const int MaxEntries = 100_000;

    /// <summary>The longest entry name accepted.</summary>
    public const int MaxNameLength = 4096;

    private const int MaxLinkHops = 16;

    /// <summary>
    /// Loads the archive read from <paramref name="archive"/> (which need not seek). <paramref name="progress"/>, when
    /// given, hears about each layer as it is checked. Throws InvalidArgument for a malformed archive, with the store
    /// unchanged.
    /// </summary>
    public async Task<IReadOnlyList<LoadedImage>> LoadAsync(Stream archive, Func<LoadProgress, ValueTask>? progress, CancellationToken ct)
    {
        var written = new HashSet<Digest>();
        using var lease = images.Lease();
        try
        {
            var files = await IngestAsync(archive, lease, written, ct).ConfigureAwait(false);
            var pending = files.Has(ArchiveLayout.ManifestJson)
                ? await FromDockerManifestAsync(files, lease, written, progress, ct).ConfigureAwait(false)
                : files.Has(ArchiveLayout.IndexJson)
                    ? await FromOciIndexAsync(files, progress, ct).ConfigureAwait(false)
                    : throw BerthException.Invalid("invalid archive: it has neither manifest.json nor index.json");
            if (pending.Count == 0) throw BerthException.Invalid("invalid archive: it holds no images");

            var loaded = new List<LoadedImage>();
            foreach (var p in pending)
            {
                var replaced = new List<(string Name, string OldId)>();
                foreach (var n in p.Names)
                    if (images.Resolve(n.ToString()) is { } old && old.Id != p.ConfigDigest.ToString())
                        replaced.Add((n.FamiliarString, old.Id));
                // An image the store already has keeps its manifest (and layer blobs): only the names are new, as in Docker.
                var manifest = images.Resolve(p.ConfigDigest.ToString()) is { } have && have.Id == p.ConfigDigest.ToString() ? have.ManifestDigest : p.ManifestDigest;
                var record = images.Register(manifest, p.Names);
                loaded.Add(new LoadedImage(record, p.Names.Select(n => n.FamiliarString).ToList(), replaced));
            }
            return loaded;
        }
        finally
        {
            lease.Dispose();
            // The archive's own files (manifest.json, legacy json, ...) and, after a failure, everything it brought.
            images.DeleteUnreferenced(written);
        }
    }

    // ---- reading the tar ----

    private async Task<ArchiveFiles> IngestAsync(Stream archive, ImageStore.BlobLease lease, HashSet<Digest> written, CancellationToken ct)
    {
        var files = new ArchiveFiles();
        try
        {
            await using var tarStream = await DecompressAsync(archive, ct).ConfigureAwait(false);
            await using var reader = new TarReader(tarStream, leaveOpen: true);
            int count = 0;
            while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
            {
                if (++count > MaxEntries) throw BerthException.Invalid($"invalid archive: more than {MaxEntries} entries");
                var name = CleanName(entry.Name);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        if (name.Length > 0) files.Directories.Add(name);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        if (name.Length == 0) throw BerthException.Invalid($"invalid archive: file entry with an empty name");
                        await IngestFileAsync(files, name, entry, lease, written, ct).ConfigureAwait(false);
                        break;
                    case TarEntryType.SymbolicLink:
                        files.AddLink(name, LinkTarget(name, entry.LinkName, symbolic: true));
                        break;
                    case TarEntryType.HardLink:
                        files.AddLink(name, LinkTarget(name, entry.LinkName, symbolic: false));
                        break;
                    case TarEntryType.GlobalExtendedAttributes:
                        break;
                    default:
                        throw BerthException.Invalid($"invalid archive: entry \"{entry.Name}\" has unsupported type {entry.EntryType}");
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException)
        {
            throw new BerthException(ErrorKind.InvalidArgument, $"invalid archive: {(e is EndOfStreamException ? "unexpected EOF" : e.Message)}", e);
        }
        return files;
    }

    private async Task IngestFileAsync(ArchiveFiles files, string name, TarEntry entry, ImageStore.BlobLease lease, HashSet<Digest> written, CancellationToken ct)
    {
        // blobs/sha256/<hex> is content-addressed by its name: the store refuses it if the bytes say otherwise.
        Digest? expected = null;
        var parts = name.Split('/');
        if (parts is [ArchiveLayout.BlobsDir, var alg, var hex] && alg == Digest.Sha256)
        {
            if (!Digest.TryParse($"{alg}:{hex}", out var d)) throw BerthException.Invalid($"invalid archive: blob \"{name}\" is not named by a sha256 digest");
            expected = d;
            lease.Add(d);
            // A blob the store had before is not this load's to clean up.
            if (content.Exists(d))
            {
                files.Add(name, new ArchiveFile(d, content.Size(d)));
                return;
            }
        }
        // An entry's data must be exactly as long as its header says: a truncated archive is an error, not a short file.
        var data = new ExactLengthStream(entry.DataStream ?? Stream.Null, entry.Length,
            got => BerthException.Invalid($"invalid archive: unexpected EOF in \"{name}\" ({got} of {entry.Length} bytes)"));
        Descriptor desc;
        try
        {
            desc = await content.WriteAsync(data, "application/octet-stream", expected, ct).ConfigureAwait(false);
        }
        catch (BerthException e) when (e.Kind == ErrorKind.InvalidArgument)
        {
            throw BerthException.Invalid($"invalid archive: {name}: {e.Message}");
        }
        lease.Add(desc.Digest);
        written.Add(desc.Digest);
        files.Add(name, new ArchiveFile(desc.Digest, desc.Size));
    }

    /// <summary>An entry name as a relative path with no <c>.</c> segments; refuses absolute names and <c>..</c>.</summary>
    internal static string CleanName(string raw)
    {
        if (raw.Length > MaxNameLength) throw BerthException.Invalid($"invalid archive: entry name longer than {MaxNameLength} characters");
        if (raw.Contains('\0')) throw BerthException.Invalid("invalid archive: entry name contains a NUL byte");
        if (raw.StartsWith('/')) throw BerthException.Invalid($"invalid archive: entry \"{raw}\" has an absolute path");
        var segments = new List<string>();
        foreach (var s in raw.Split('/'))
        {
            if (s is "" or ".") continue;
            if (s == "..") throw BerthException.Invalid($"invalid archive: entry \"{raw}\" points outside the archive");
            segments.Add(s);
        }
        return string.Join('/', segments);
    }

    /// <summary>Where a link points, as an archive name. A symlink's target is relative to its directory; a hard link's to the archive root.</summary>
    internal static string LinkTarget(string name, string target, bool symbolic)
    {
        if (string.IsNullOrEmpty(target)) throw BerthException.Invalid($"invalid archive: link \"{name}\" has no target");
        if (target.StartsWith('/')) throw BerthException.Invalid($"invalid archive: link \"{name}\" points to the absolute path \"{target}\"");
        var segments = new List<string>();
        if (symbolic)
        {
            var dir = name.Split('/');
            segments.AddRange(dir[..^1]);
        }
        foreach (var s in target.Split('/'))
        {
            if (s is "" or ".") continue;
            if (s == "..")
            {
                if (segments.Count == 0) throw BerthException.Invalid($"invalid archive: link \"{name}\" points outside the archive (\"{target}\")");
                segments.RemoveAt(segments.Count - 1);
                continue;
            }
            segments.Add(s);
        }
        return string.Join('/', segments);
    }

    /// <summary>The archive's plain tar: gzip, zstd, xz or bzip2 is undone here; the first bytes decide, as Docker's loader does.</summary>
    private static async Task<Stream> DecompressAsync(Stream archive, CancellationToken ct)
    {
        var (head, whole) = await Compression.PeekAsync(archive, 1, ct, leaveOpen: true).ConfigureAwait(false);
        if (head.Length == 0) throw BerthException.Invalid("invalid archive: empty");
        return await Compression.DecompressAsync(whole, ct).ConfigureAwait(false);
    }

    // ---- Docker's manifest.json (legacy and 25+) ----

    private async Task<List<PendingImage>> FromDockerManifestAsync(ArchiveFiles files, ImageStore.BlobLease lease, HashSet<Digest> written,
        Func<LoadProgress, ValueTask>? progress, CancellationToken ct)
    {
        var items = ParseJson(await ReadDocumentAsync(files, ArchiveLayout.ManifestJson, ct).ConfigureAwait(false),
            ImagesJsonContext.Default.ListArchiveManifestItem, ArchiveLayout.ManifestJson);
        var pending = new List<PendingImage>();
        foreach (var item in items)
        {
            if (item is null) throw BerthException.Invalid("invalid manifest.json: null entry");
            var configFile = files.Resolve(item.Config) ?? throw BerthException.Invalid($"invalid archive: config \"{item.Config}\" is not in the archive");
            var configBytes = await ReadDocumentAsync(files, item.Config, ct).ConfigureAwait(false);
            var config = ImageConfig.Parse(configBytes);
            var layerPaths = item.Layers ?? [];
            if (config.RootFs.DiffIds.Count != layerPaths.Count)
                throw BerthException.Invalid($"invalid archive: image {configFile.Digest} has {layerPaths.Count} layers but its config lists {config.RootFs.DiffIds.Count} diff IDs");
            var layers = new List<OciDescriptor>();
            for (int i = 0; i < layerPaths.Count; i++)
            {
                var f = files.Resolve(layerPaths[i]) ?? throw BerthException.Invalid($"invalid archive: layer \"{layerPaths[i]}\" is not in the archive");
                var diffId = ParseDiffId(config, i);
                var compression = await CheckLayerAsync(f, diffId, progress, ct).ConfigureAwait(false);
                layers.Add(new OciDescriptor { MediaType = compression switch { LayerCompression.Gzip => MediaTypes.OciLayerGzip, LayerCompression.Zstd => MediaTypes.OciLayerZstd, _ => MediaTypes.OciLayer }, Digest = f.Digest.ToString(), Size = f.Size });
            }
            var names = new List<ImageReference>();
            foreach (var tag in item.RepoTags ?? [])
            {
                if (!TryParseTag(tag, out var r)) throw BerthException.Invalid($"invalid archive: invalid tag \"{tag}\"");
                names.Add(r);
            }
            // The manifest this archive implies, written for the store (Docker's legacy format has none of its own).
            var manifest = new ImageManifest
            {
                MediaType = MediaTypes.OciManifest,
                Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = configFile.Digest.ToString(), Size = configFile.Size },
                Layers = layers,
            };
            var manifestBytes = manifest.ToJsonBytes();
            var mdigest = Digest.FromBytes(manifestBytes);
            lease.Add(mdigest);
            if (!content.Exists(mdigest)) written.Add(mdigest);
            var md = content.WriteBytes(manifestBytes, MediaTypes.OciManifest);
            pending.Add(new PendingImage(md.Digest, configFile.Digest, names));
        }
        return pending;
    }

    // ---- the OCI image layout ----

    private async Task<List<PendingImage>> FromOciIndexAsync(ArchiveFiles files, Func<LoadProgress, ValueTask>? progress, CancellationToken ct)
    {
        var index = ImageIndex.Parse(await ReadDocumentAsync(files, ArchiveLayout.IndexJson, ct).ConfigureAwait(false));
        var byManifest = new Dictionary<Digest, PendingImage>();
        var order = new List<Digest>();
        foreach (var desc in index.Manifests)
        {
            var manifestDesc = await ResolveManifestAsync(files, desc, depth: 0, ct).ConfigureAwait(false);
            var md = ParseDescriptorDigest(manifestDesc);
            if (!byManifest.TryGetValue(md, out var p))
            {
                p = await CheckOciManifestAsync(files, md, progress, ct).ConfigureAwait(false);
                byManifest[md] = p;
                order.Add(md);
            }
            if (NameOf(desc) is { } name && !p.Names.Contains(name)) p.Names.Add(name);
        }
        return order.Select(d => byManifest[d]).ToList();
    }

    /// <summary>The image manifest an index entry stands for: itself, or for a nested index the host platform's entry.</summary>
    private async Task<OciDescriptor> ResolveManifestAsync(ArchiveFiles files, OciDescriptor desc, int depth, CancellationToken ct)
    {
        if (!MediaTypes.IsIndex(desc.MediaType)) return desc;
        if (depth > 2) throw BerthException.Invalid("invalid archive: indexes nested too deep");
        var nested = ImageIndex.Parse(await ReadDocumentAsync(files, BlobName(desc), ct).ConfigureAwait(false));
        var arch = HostArchitecture();
        var pick = nested.Manifests.FirstOrDefault(m => m.Platform is { Os: "linux" } pl && pl.Architecture == arch && MediaTypes.IsManifest(m.MediaType))
            ?? nested.Manifests.FirstOrDefault(m => MediaTypes.IsIndex(m.MediaType))
            ?? throw BerthException.Invalid($"invalid archive: index {desc.Digest} has no image for linux/{arch}");
        return await ResolveManifestAsync(files, pick, depth + 1, ct).ConfigureAwait(false);
    }

    private async Task<PendingImage> CheckOciManifestAsync(ArchiveFiles files, Digest md, Func<LoadProgress, ValueTask>? progress, CancellationToken ct)
    {
        var manifest = ImageManifest.Parse(await ReadDocumentAsync(files, ArchiveLayout.BlobPath(md), ct).ConfigureAwait(false));
        if (manifest.MediaType is { } mt && !MediaTypes.IsManifest(mt))
            throw BerthException.Invalid($"invalid archive: manifest {md} has unsupported media type {mt}");
        if (!MediaTypes.IsConfig(manifest.Config.MediaType))
            throw BerthException.Invalid($"invalid archive: manifest {md}: config has media type {manifest.Config.MediaType}, not an image config");
        var cd = ParseDescriptorDigest(manifest.Config);
        var config = ImageConfig.Parse(await ReadDocumentAsync(files, ArchiveLayout.BlobPath(cd), ct).ConfigureAwait(false));
        if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
            throw BerthException.Invalid($"invalid archive: manifest {md} has {manifest.Layers.Count} layers but its config lists {config.RootFs.DiffIds.Count} diff IDs");
        for (int i = 0; i < manifest.Layers.Count; i++)
        {
            var l = manifest.Layers[i];
            if (!MediaTypes.IsLayer(l.MediaType)) throw BerthException.Invalid($"invalid archive: manifest {md}: unsupported layer media type {l.MediaType}");
            var ld = ParseDescriptorDigest(l);
            var f = files.Resolve(ArchiveLayout.BlobPath(ld)) ?? throw BerthException.Invalid($"invalid archive: layer {ld} is not in the archive");
            if (f.Size != l.Size) throw BerthException.Invalid($"invalid archive: layer {ld} has {f.Size} bytes, the manifest says {l.Size}");
            await CheckLayerAsync(f, ParseDiffId(config, i), progress, ct).ConfigureAwait(false);
        }
        return new PendingImage(md, cd, []);
    }

    /// <summary>
    /// The name an index entry gives its image: containerd's full-name annotation, or the OCI ref name when it is a
    /// whole reference (skopeo's <c>oci:dir:busybox:latest</c>); a bare tag (<c>latest</c>) names nothing.
    /// </summary>
    private static ImageReference? NameOf(OciDescriptor desc)
    {
        if (desc.Annotations is not { } a) return null;
        if (a.TryGetValue(ArchiveLayout.ImageNameAnnotation, out var full) && TryParseTag(full, out var r)) return r;
        if (a.TryGetValue(ArchiveLayout.RefNameAnnotation, out var refName) && refName.IndexOfAny([':', '/']) > 0 && TryParseTag(refName, out r)) return r;
        return null;
    }

    // ---- shared checks ----

    /// <summary>
    /// Checks that a layer blob holds the tar its diff ID names: an uncompressed blob is its own diff ID, a gzip one is
    /// decompressed and hashed. Returns its compression.
    /// </summary>
    private async Task<LayerCompression> CheckLayerAsync(ArchiveFile f, Digest diffId, Func<LoadProgress, ValueTask>? progress, CancellationToken ct)
    {
        var id = diffId.Hex[..12];
        LayerCompression kind;
        await using (var probe = content.OpenRead(f.Digest))
            kind = Compression.Detect(probe).Compression;
        if (kind == LayerCompression.None)
        {
            if (f.Digest != diffId) throw BerthException.Invalid($"invalid archive: layer {f.Digest} does not match its diff ID {diffId}");
            if (progress is not null) await progress(new LoadProgress(id, f.Size, f.Size)).ConfigureAwait(false);
            return kind;
        }
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var blob = content.OpenRead(f.Digest))
        await using (var counted = new ProgressStream(blob, _ => { }))
        await using (var tar = Compression.Decompress(counted, leaveOpen: true))
        {
            var buf = new byte[1 << 16];
            long next = 0;
            int n;
            try
            {
                while ((n = await tar.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buf, 0, n);
                    if (progress is not null && counted.Position >= next)
                    {
                        await progress(new LoadProgress(id, counted.Position, f.Size)).ConfigureAwait(false);
                        next = counted.Position + Math.Max(f.Size / 20, 1 << 20);
                    }
                }
            }
            catch (InvalidDataException e)
            {
                throw new BerthException(ErrorKind.InvalidArgument, $"invalid archive: layer {f.Digest}: {e.Message}", e);
            }
        }
        var actual = Digest.FromHash(hash.GetHashAndReset());
        if (actual != diffId) throw BerthException.Invalid($"invalid archive: layer {f.Digest} does not match its diff ID: expected {diffId}, got {actual}");
        if (progress is not null) await progress(new LoadProgress(id, f.Size, f.Size)).ConfigureAwait(false);
        return kind;
    }

    private async Task<byte[]> ReadDocumentAsync(ArchiveFiles files, string name, CancellationToken ct)
    {
        var f = files.Resolve(name) ?? throw BerthException.Invalid($"invalid archive: \"{name}\" is not in the archive");
        if (f.Size > ImageStore.MaxDocumentSize)
            throw BerthException.Invalid($"invalid archive: {name} is larger than {ImageStore.MaxDocumentSize} bytes");
        await using var s = content.OpenRead(f.Digest);
        var bytes = new byte[f.Size];
        await s.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
        return bytes;
    }

    private static T ParseJson<T>(byte[] json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(json, type) ?? throw BerthException.Invalid($"invalid {what}: null");
        }
        catch (JsonException e)
        {
            throw new BerthException(ErrorKind.InvalidArgument, $"invalid {what}: {e.Message}", e);
        }
    }

    private static Digest ParseDiffId(ImageConfig config, int i) =>
        Digest.TryParse(config.RootFs.DiffIds[i], out var d) ? d : throw BerthException.Invalid($"invalid archive: invalid diff ID \"{config.RootFs.DiffIds[i]}\"");

    private static Digest ParseDescriptorDigest(OciDescriptor desc) =>
        Digest.TryParse(desc.Digest, out var d) && d.Algorithm == Digest.Sha256 ? d : throw BerthException.Invalid($"invalid archive: unsupported digest \"{desc.Digest}\"");

    private static string BlobName(OciDescriptor desc) => ArchiveLayout.BlobPath(ParseDescriptorDigest(desc));

    private static bool TryParseTag(string s, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ImageReference? r)
    {
        if (!ImageReference.TryParse(s, out r) || r.Digest is not null)
        {
            r = null;
            return false;
        }
        return true;
    }

    private static string HostArchitecture() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        var a => a.ToString().ToLowerInvariant(),
    };

    private sealed record PendingImage(Digest ManifestDigest, Digest ConfigDigest, List<ImageReference> Names);

    /// <summary>The archive as names: regular files (by the digest the store keeps them under) and links between names.</summary>
    private sealed class ArchiveFiles
    {
        private readonly Dictionary<string, ArchiveFile> _files = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);

        public HashSet<string> Directories { get; } = new(StringComparer.Ordinal);

        // A later entry of the same name replaces the earlier, as extracting the tar would.
        public void Add(string name, ArchiveFile f)
        {
            _links.Remove(name);
            _files[name] = f;
        }

        public void AddLink(string name, string target)
        {
            if (name.Length == 0) throw BerthException.Invalid("invalid archive: link entry with an empty name");
            _files.Remove(name);
            _links[name] = target;
        }

        public bool Has(string name) => Resolve(name) is not null;

        public ArchiveFile? Resolve(string name)
        {
            string clean;
            try { clean = CleanName(name); }
            catch (BerthException) { return null; }
            for (int hop = 0; hop <= MaxLinkHops; hop++)
            {
                if (_files.TryGetValue(clean, out var f)) return f;
                if (!_links.TryGetValue(clean, out var next)) return null;
                clean = next;
            }
            return null;
        }
    }

    private sealed record ArchiveFile(Digest Digest, long Size);
}

/// <summary>A layer being checked during a load: <c>Current</c> of <c>Total</c> bytes of its blob.</summary>
public readonly record struct LoadProgress(string Id, long Current, long Total);

/// <summary>An image a load registered, with the names it got and the names it took from other images (Docker reports those).</summary>
public sealed record LoadedImage(ImageRecord Record, IReadOnlyList<string> Names, IReadOnlyList<(string Name, string OldId)> Replaced);
