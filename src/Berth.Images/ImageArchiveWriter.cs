using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using Berth.Content;
using Berth.Core;

namespace Berth.Images;

/// <summary>
/// <c>docker save</c>: images as one tar in the layout Docker 25+ writes, an OCI image layout (<c>oci-layout</c>,
/// <c>index.json</c>, <c>blobs/sha256/…</c>) that also carries Docker's <c>manifest.json</c> and <c>repositories</c>,
/// so both Docker's loader and OCI tools read it. Layers go in uncompressed, named by their diff IDs, with a manifest
/// written for the archive that says so. The tar is streamed: nothing is built in memory or on disk.
/// </summary>
/// <remarks>
/// Two steps, so that every error (an unknown name, a layer whose content does not match its diff ID) is known before
/// the first byte goes out: <see cref="PrepareAsync"/> resolves names and sizes every layer, <see cref="WriteAsync"/>
/// streams.
/// </remarks>
public sealed class ImageArchiveWriter(ImageStore images, IContentProvider content)
{
    /// <summary>Resolves <paramref name="names"/> with Docker's rules: a tagged name saves that name, a repository
    /// without a tag every tag it has, an ID the image without names. NotFound for a name no image has.</summary>
    public async Task<SaveSet> PrepareAsync(IReadOnlyList<string> names, CancellationToken ct)
    {
        if (names.Count == 0) throw BerthException.Invalid("no images specified");
        // Image ID → its names, in the order first asked for; an image asked for twice goes in once.
        var order = new List<ImageRecord>();
        var refs = new Dictionary<string, List<ImageReference>>(StringComparer.Ordinal);
        void Add(ImageRecord img, ImageReference? name)
        {
            if (!refs.TryGetValue(img.Id, out var list))
            {
                refs[img.Id] = list = [];
                order.Add(img);
            }
            if (name is not null && !list.Contains(name)) list.Add(name);
        }

        var all = images.List();
        foreach (var name in names)
        {
            if (string.IsNullOrEmpty(name)) throw BerthException.Invalid("invalid reference format: empty image name");
            if (IsIdLike(name))
            {
                Add(images.Resolve(name) ?? throw BerthException.NotFound($"No such image: {name}"), null);
                continue;
            }
            if (!TryParseName(name, out var r))
            {
                // Not a name (a full hex ID is not a valid repository): an ID, or nothing.
                Add(images.Resolve(name) ?? throw BerthException.Invalid($"invalid reference format: {name}"), null);
                continue;
            }
            if (r.Digest is not null)
            {
                // A digest reference selects the image; the archive names it by nothing (tags only), as Docker does.
                Add(images.Resolve(name) ?? throw BerthException.NotFound($"No such image: {name}"), null);
                continue;
            }
            if (r.Tag is null)
            {
                var tagged = all.SelectMany(img => img.RepoTags.Select(t => (img, tag: ImageReference.ParseNormalized(t))))
                    .Where(x => x.tag.Name == r.Name)
                    .OrderBy(x => x.tag.Tag, StringComparer.Ordinal)
                    .ToList();
                foreach (var (img, tag) in tagged) Add(img, tag);
                if (tagged.Count == 0)
                    Add(images.Resolve(name) ?? throw BerthException.NotFound($"No such image: {name}"), null);
                continue;
            }
            Add(images.Resolve(r.ToString()) ?? throw BerthException.NotFound($"No such image: {r.FamiliarString}"), r);
        }

        var layers = new Dictionary<Digest, SaveLayer>();
        var saved = new List<SavedImage>();
        foreach (var img in order)
        {
            ct.ThrowIfCancellationRequested();
            if (img.LayerBlobs.Count != img.Layers.Count)
                throw BerthException.Invalid($"image {img.Id}: {img.LayerBlobs.Count} layers in the manifest but {img.Layers.Count} diff IDs in the config");
            var config = await ReadAllAsync(img.ConfigDigest, ImageStore.MaxDocumentSize, ct).ConfigureAwait(false);
            var descriptors = new List<OciDescriptor>();
            for (int i = 0; i < img.Layers.Count; i++)
            {
                var diffId = img.Layers[i];
                if (!layers.TryGetValue(diffId, out var layer))
                    layers[diffId] = layer = await SizeLayerAsync(img.LayerBlobs[i], diffId, ct).ConfigureAwait(false);
                descriptors.Add(new OciDescriptor { MediaType = MediaTypes.OciLayer, Digest = diffId.ToString(), Size = layer.Size });
            }
            var manifest = new ImageManifest
            {
                MediaType = MediaTypes.OciManifest,
                Config = new OciDescriptor { MediaType = MediaTypes.OciConfig, Digest = img.ConfigDigest.ToString(), Size = config.Length },
                Layers = descriptors,
            }.ToJsonBytes();
            saved.Add(new SavedImage(img, config, manifest, Digest.FromBytes(manifest), refs[img.Id]));
        }
        return new SaveSet(saved, layers);
    }

    private static bool TryParseName(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ImageReference? r)
    {
        try
        {
            r = ImageReference.ParseNormalized(name);
            return true;
        }
        catch (BerthException)
        {
            r = null;
            return false;
        }
    }

    private static bool IsIdLike(string name)
    {
        var hex = name.StartsWith("sha256:", StringComparison.Ordinal) ? name[7..] : null;
        // A bare hex string is a name too (Docker tries it as a repository first); "sha256:…" is always an ID.
        return hex is not null && hex.Length > 0 && hex.All(char.IsAsciiHexDigitLower);
    }

    /// <summary>The uncompressed size of a layer: its blob's when the blob is the uncompressed tar, else counted by
    /// decompressing it, which also checks that the content is what the diff ID says.</summary>
    private async Task<SaveLayer> SizeLayerAsync(Descriptor blob, Digest diffId, CancellationToken ct)
    {
        if (blob.Digest == diffId) return new SaveLayer(blob, content.Size(blob.Digest));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0;
        await using (var s = Compression.Decompress(content.OpenRead(blob.Digest)))
        {
            var buf = new byte[1 << 16];
            int n;
            while ((n = await s.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buf, 0, n);
                size += n;
            }
        }
        var actual = Digest.FromHash(hash.GetHashAndReset());
        if (actual != diffId)
            throw BerthException.Invalid($"layer {blob.Digest}: content does not match its diff ID: expected {diffId}, got {actual}");
        return new SaveLayer(blob, size);
    }

    private async Task<byte[]> ReadAllAsync(Digest d, int max, CancellationToken ct)
    {
        if (content.Size(d) > max) throw BerthException.Invalid($"blob {d}: larger than {max} bytes");
        await using var s = content.OpenRead(d);
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms, ct).ConfigureAwait(false);
        return ms.ToArray();
    }

    /// <summary>Streams the archive of <paramref name="set"/> to <paramref name="output"/> (which need not seek).</summary>
    public async Task WriteAsync(SaveSet set, Stream output, CancellationToken ct)
    {
        await using var tar = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true);
        var epoch = DateTimeOffset.UnixEpoch;
        await WriteDirAsync(tar, "blobs/", epoch, ct).ConfigureAwait(false);
        await WriteDirAsync(tar, "blobs/sha256/", epoch, ct).ConfigureAwait(false);

        var written = new HashSet<Digest>();
        foreach (var img in set.Images)
        {
            var when = img.Record.Created ?? epoch;
            foreach (var diffId in img.Record.Layers)
            {
                if (!written.Add(diffId)) continue;
                var layer = set.Layers[diffId];
                await using var blob = content.OpenRead(layer.Blob.Digest);
                await using var data = layer.Blob.Digest == diffId ? blob : Compression.Decompress(blob, leaveOpen: true);
                await WriteFileAsync(tar, ArchiveLayout.BlobPath(diffId), new ExactLengthStream(data, layer.Size, diffId), layer.Size, when, ct).ConfigureAwait(false);
            }
            if (written.Add(img.Record.ConfigDigest))
                await WriteBytesAsync(tar, ArchiveLayout.BlobPath(img.Record.ConfigDigest), img.Config, when, ct).ConfigureAwait(false);
            if (written.Add(img.ManifestDigest))
                await WriteBytesAsync(tar, ArchiveLayout.BlobPath(img.ManifestDigest), img.Manifest, when, ct).ConfigureAwait(false);
        }

        var index = new List<OciDescriptor>();
        var manifestJson = new List<ArchiveManifestItem>();
        var repositories = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var img in set.Images)
        {
            var desc = new OciDescriptor { MediaType = MediaTypes.OciManifest, Digest = img.ManifestDigest.ToString(), Size = img.Manifest.Length };
            foreach (var r in img.Names)
            {
                index.Add(desc with
                {
                    Annotations = new Dictionary<string, string>(StringComparer.Ordinal)
                    {
                        [ArchiveLayout.ImageNameAnnotation] = r.ToString(),
                        [ArchiveLayout.RefNameAnnotation] = r.Tag!,
                    },
                });
                // The legacy file maps repository → tag → the top layer, as Docker's save writes it.
                if (img.Record.Layers.Count > 0)
                {
                    if (!repositories.TryGetValue(r.FamiliarName, out var tags)) repositories[r.FamiliarName] = tags = new(StringComparer.Ordinal);
                    tags[r.Tag!] = img.Record.Layers[^1].Hex;
                }
            }
            if (img.Names.Count == 0) index.Add(desc);
            manifestJson.Add(new ArchiveManifestItem
            {
                Config = ArchiveLayout.BlobPath(img.Record.ConfigDigest),
                RepoTags = img.Names.Count == 0 ? null : img.Names.Select(n => n.FamiliarString).ToList(),
                Layers = img.Record.Layers.Select(ArchiveLayout.BlobPath).ToList(),
            });
        }
        await WriteBytesAsync(tar, ArchiveLayout.IndexJson, new ImageIndex { MediaType = MediaTypes.OciIndex, Manifests = index }.ToJsonBytes(), epoch, ct).ConfigureAwait(false);
        await WriteBytesAsync(tar, ArchiveLayout.ManifestJson, JsonSerializer.SerializeToUtf8Bytes(manifestJson, ArchiveJson.Writer.ListArchiveManifestItem), epoch, ct).ConfigureAwait(false);
        await WriteBytesAsync(tar, ArchiveLayout.OciLayoutFile, ArchiveLayout.OciLayoutContent.ToArray(), epoch, ct).ConfigureAwait(false);
        if (repositories.Count > 0)
            await WriteBytesAsync(tar, ArchiveLayout.Repositories, JsonSerializer.SerializeToUtf8Bytes(repositories, ArchiveJson.Writer.DictionaryStringDictionaryStringString), epoch, ct).ConfigureAwait(false);
    }

    private static Task WriteDirAsync(TarWriter tar, string name, DateTimeOffset when, CancellationToken ct) =>
        tar.WriteEntryAsync(new UstarTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)0b111_101_101, ModificationTime = when }, ct);

    private static Task WriteBytesAsync(TarWriter tar, string name, byte[] data, DateTimeOffset when, CancellationToken ct) =>
        WriteFileAsync(tar, name, new MemoryStream(data, writable: false), data.Length, when, ct);

    private static Task WriteFileAsync(TarWriter tar, string name, Stream data, long size, DateTimeOffset when, CancellationToken ct)
    {
        // ustar's size field holds up to 8 GiB; a bigger layer needs a PAX header.
        TarEntry e = size < (8L << 30)
            ? new UstarTarEntry(TarEntryType.RegularFile, name)
            : new PaxTarEntry(TarEntryType.RegularFile, name);
        e.Mode = (UnixFileMode)0b110_100_100;
        e.ModificationTime = when;
        e.DataStream = data;
        return tar.WriteEntryAsync(e, ct);
    }

    /// <summary>
    /// A stream of a length known in advance. The tar writer needs an entry's size before its data, and takes it from a
    /// seekable stream's Length; this one reports the size it was promised without seeking, and fails rather than
    /// write a torn entry when the content turns out shorter or longer (a blob changed under us).
    /// </summary>
    private sealed class ExactLengthStream(Stream inner, long length, Digest what) : Stream
    {
        private long _pos;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;

        public override long Position
        {
            get => _pos;
            set { if (value != _pos) throw new NotSupportedException(); }
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int want = (int)Math.Min(buffer.Length, length - _pos);
            int n = want == 0 ? 0 : inner.Read(buffer[..want]);
            return Advance(n, want);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            int want = (int)Math.Min(buffer.Length, length - _pos);
            int n = want == 0 ? 0 : await inner.ReadAsync(buffer[..want], ct).ConfigureAwait(false);
            return Advance(n, want);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        private int Advance(int n, int want)
        {
            if (n == 0 && want > 0) throw new BerthException(ErrorKind.Unknown, $"layer {what}: ended after {_pos} of {length} bytes");
            _pos += n;
            if (_pos == length && n > 0 && inner.ReadByte() >= 0)
                throw new BerthException(ErrorKind.Unknown, $"layer {what}: longer than the {length} bytes it had");
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) =>
            origin == SeekOrigin.Current && offset == 0 ? _pos : throw new NotSupportedException();

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>What <see cref="ImageArchiveWriter.PrepareAsync"/> found: the images to save and their layers.</summary>
public sealed class SaveSet
{
    internal SaveSet(IReadOnlyList<SavedImage> images, IReadOnlyDictionary<Digest, SaveLayer> layers)
    {
        Images = images;
        Layers = layers;
    }

    internal IReadOnlyList<SavedImage> Images { get; }
    internal IReadOnlyDictionary<Digest, SaveLayer> Layers { get; }

    /// <summary>The images the archive holds, each once.</summary>
    public IReadOnlyList<ImageRecord> Records => Images.Select(i => i.Record).ToList();
}

internal sealed record SavedImage(ImageRecord Record, byte[] Config, byte[] Manifest, Digest ManifestDigest, IReadOnlyList<ImageReference> Names);

internal sealed record SaveLayer(Descriptor Blob, long Size);
