using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Berth.Core.Interop;
using Berth.Core;
using Berth.Core.IO;

namespace Berth.Content;

/// <summary>What applying one layer did.</summary>
public sealed record LayerStats
{
    /// <summary>sha256 of the uncompressed tar stream: the layer's diff ID.</summary>
    public required Digest DiffId { get; init; }

    /// <summary>Bytes of uncompressed tar read.</summary>
    public long TarSize { get; init; }

    public int Entries { get; init; }
    public int Whiteouts { get; init; }

    /// <summary>Bytes of regular-file content written.</summary>
    public long ContentBytes { get; init; }
}

/// <summary>How <see cref="LayerApplier.Extract"/> treats an archive that is not an image layer (docker cp).</summary>
public sealed record ExtractOptions
{
    /// <summary>Execute <c>.wh.</c> entries as whiteouts (a layer); false extracts them as the plain files they are.</summary>
    public bool Whiteouts { get; init; }

    /// <summary>The owner of every entry instead of the archive's (docker cp without <c>-a</c>: the container's root).</summary>
    public (int Uid, int Gid)? Owner { get; init; }

    /// <summary>Refuse to replace a directory with a non-directory or the reverse (the docker CLI always asks for this).</summary>
    public bool NoOverwriteDirNonDir { get; init; }

    /// <summary>
    /// The process is chrooted into the container's root (the file helper): entry names are placed below the target
    /// directory, but symlinks met on the way resolve from <c>/</c>, the container's root, as the kernel resolves
    /// them there (<c>/data/cur -> /data/v2</c> and entry <c>cur/f</c> into <c>/data</c> give <c>/data/v2/f</c>, as in
    /// Docker's chrootarchive). The target may then be <c>/</c> itself.
    /// </summary>
    public bool ConfinedByChroot { get; init; }
}

/// <summary>
/// Unpacks a layer tar into a directory. The safety rule: no entry may create, change or follow anything outside
/// the target directory, whatever its name, link target or the symlinks earlier entries planted.
/// </summary>
public static class LayerApplier
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueWhiteout = ".wh..wh..opq";
    private const string XattrPaxPrefix = "SCHILY.xattr.";

    /// <summary>
    /// Applies the uncompressed tar <paramref name="tar"/> to <paramref name="targetDir"/>. Whiteouts are executed
    /// (<see cref="WhiteoutMode.Delete"/>) or recorded as overlayfs whiteouts (<see cref="WhiteoutMode.Overlay"/>).
    /// </summary>
    public static LayerStats Apply(Stream tar, string targetDir, WhiteoutMode mode, CancellationToken ct) =>
        Run(tar, targetDir, mode, new ExtractOptions { Whiteouts = true }, hash: true, ct);

    /// <summary>
    /// Extracts an ordinary archive into <paramref name="targetDir"/> with the same confinement as a layer: nothing
    /// is created or followed outside the directory. The result has no <see cref="LayerStats.DiffId"/>: no digest is
    /// computed (the confined file helper must not load a crypto library after its chroot).
    /// </summary>
    public static LayerStats Extract(Stream tar, string targetDir, ExtractOptions options, CancellationToken ct) =>
        Run(tar, targetDir, WhiteoutMode.Delete, options, hash: false, ct);

    private static LayerStats Run(Stream tar, string targetDir, WhiteoutMode mode, ExtractOptions options, bool hash, CancellationToken ct)
    {
        var root = Path.GetFullPath(targetDir).TrimEnd('/');
        if (root.Length == 0 && !options.ConfinedByChroot) throw BerthException.Invalid("refusing to apply a layer to /");
        Directory.CreateDirectory(root.Length == 0 ? "/" : root);
        // Chrooted: symlinks resolve from "/" (the container's root) and names start at the target directory.
        List<string> prefix = [];
        if (options.ConfinedByChroot)
        {
            prefix = RootPath.Clean(root);
            root = "";
        }
        using var hashing = new HashingStream(tar, hash);
        var state = new ApplyState(root, prefix, mode, options);
        using (var reader = new TarReader(hashing, leaveOpen: true))
        {
            long dataEnd = -1;
            while (NextEntry(reader, () => hashing.Length, dataEnd) is { } entry)
            {
                // The reader stops at the start of the entry's data: where it ends tells a missing padding from a cut.
                dataEnd = hashing.Length + (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile ? entry.Length : 0);
                ct.ThrowIfCancellationRequested();
                state.Apply(entry);
            }
        }
        // The end-of-archive blocks and any padding belong to the diff ID too.
        hashing.CopyTo(Stream.Null);
        state.FinishDirectories();
        return new LayerStats
        {
            DiffId = hashing.Digest(),
            TarSize = hashing.Length,
            Entries = state.Entries,
            Whiteouts = state.Whiteouts,
            ContentBytes = state.ContentBytes,
        };
    }

    // An empty stream is an empty layer (Go's archive/tar reads it so, and so does every registry). A stream that ends
    // right after an entry's data, without the padding to its block's end or the end-of-archive blocks, is a whole
    // archive too: the docker CLI sends `build -f -` contexts so, and dockerd takes them. A tar that stops inside an
    // entry's header or data is the sender's error, not the daemon's.
    private static TarEntry? NextEntry(TarReader reader, Func<long> consumed, long lastDataEnd)
    {
        try
        {
            return reader.GetNextEntry(copyData: false);
        }
        catch (EndOfStreamException) when (consumed() is var at && (at == 0 || (lastDataEnd >= 0 && at >= lastDataEnd && at <= RoundUp(lastDataEnd))))
        {
            return null;
        }
        catch (EndOfStreamException)
        {
            throw BerthException.Invalid("the layer tar ends in the middle of an entry");
        }
    }

    private static long RoundUp(long offset) => (offset + 511) / 512 * 512;

    private sealed class ApplyState(string root, List<string> prefix, WhiteoutMode mode, ExtractOptions options)
    {
        // Directory times are set last: creating entries inside a directory would overwrite them.
        private readonly List<(string Path, DateTimeOffset Mtime)> _dirTimes = [];

        // Paths this layer wrote: an opaque marker in Delete mode must remove lower content, not this layer's.
        private readonly HashSet<string> _written = new(StringComparer.Ordinal);

        public int Entries;
        public int Whiteouts;
        public long ContentBytes;

        public void Apply(TarEntry entry)
        {
            var parts = RootPath.Clean(entry.Name);
            Entries++;
            if (parts.Count == 0)
            {
                // "./" names the root itself; its metadata belongs to whoever created the root.
                return;
            }
            if (prefix.Count > 0) parts = [.. prefix, .. parts];
            var name = parts[^1];
            if (options.Whiteouts && name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            {
                ApplyWhiteout(parts, name);
                return;
            }

            var path = RootPath.ResolveParent(root, parts);
            var parent = Path.GetDirectoryName(path)!;
            EnsureDirectory(parent);

            var existing = Fs.LStat(path);
            bool isDir = entry.EntryType == TarEntryType.Directory;
            bool replacesWhiteout = false;
            if (existing is { } ex)
            {
                bool existingIsDir = (ex.Mode & Fs.S_IFMT) == Fs.S_IFDIR;
                replacesWhiteout = (ex.Mode & Fs.S_IFMT) == Fs.S_IFCHR && ex.RdevMajor == 0 && ex.RdevMinor == 0;
                if (options.NoOverwriteDirNonDir && isDir != existingIsDir)
                    throw BerthException.Invalid(existingIsDir
                        ? $"cannot overwrite directory \"{path[root.Length..]}\" with non-directory \"{entry.Name}\""
                        : $"cannot overwrite non-directory \"{path[root.Length..]}\" with directory \"{entry.Name}\"");
                if (!(isDir && existingIsDir))
                {
                    RemovePath(path, existingIsDir);
                    existing = null;
                }
            }

            uint perm = (uint)entry.Mode & 0xFFF;
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    if (existing is null) Directory.CreateDirectory(path);
                    // A directory where an overlay whiteout was (".wh.d" then "d/") replaces the lower one
                    // entirely, so it must not merge with it.
                    if (replacesWhiteout && mode == WhiteoutMode.Overlay) SetXattr(path, "trusted.overlay.opaque", "y"u8);
                    SetOwner(path, entry);
                    Fs.Chmod(path, perm);
                    _dirTimes.Add((path, entry.ModificationTime));
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                    {
                        if (entry.DataStream is { } data)
                        {
                            data.CopyTo(fs);
                            ContentBytes += fs.Length;
                        }
                    }
                    // chown clears setuid/setgid, so ownership first, then the full mode.
                    SetOwner(path, entry);
                    Fs.Chmod(path, perm);
                    SetXattrs(path, entry);
                    Fs.SetTimes(path, entry.ModificationTime, entry.ModificationTime);
                    break;
                case TarEntryType.SymbolicLink:
                    // The link text is stored verbatim: it is only ever followed relative to this root
                    // (by RootPath here, by the container's own root at run time).
                    File.CreateSymbolicLink(path, entry.LinkName);
                    SetOwner(path, entry);
                    Fs.SetTimes(path, entry.ModificationTime, entry.ModificationTime);
                    break;
                case TarEntryType.HardLink:
                    {
                        var linkParts = RootPath.Clean(entry.LinkName);
                        if (linkParts.Count == 0)
                            throw BerthException.Invalid($"invalid hard link \"{entry.Name}\" -> \"{entry.LinkName}\"");
                        if (prefix.Count > 0) linkParts = [.. prefix, .. linkParts];
                        var source = RootPath.ResolveParent(root, linkParts);
                        if (Fs.LStat(source) is null)
                            throw BerthException.Invalid($"invalid hard link \"{entry.Name}\": target \"{entry.LinkName}\" does not exist in the layer");
                        // link(2) does not follow a symlink at the source, so the new name gets the link itself.
                        Fs.Link(source, path);
                        break;
                    }
                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                    {
                        uint type = entry.EntryType switch
                        {
                            TarEntryType.CharacterDevice => (uint)Fs.S_IFCHR,
                            TarEntryType.BlockDevice => (uint)Fs.S_IFBLK,
                            _ => (uint)Fs.S_IFIFO,
                        };
                        ulong dev = entry is PosixTarEntry p && type != Fs.S_IFIFO ? Sys.MakeDev((uint)p.DeviceMajor, (uint)p.DeviceMinor) : 0;
                        Sys.CheckIo(Sys.Mknod(path, type | perm, dev), $"mknod {path}");
                        SetOwner(path, entry);
                        Fs.Chmod(path, perm);
                        Fs.SetTimes(path, entry.ModificationTime, entry.ModificationTime);
                        break;
                    }
                default:
                    // Sparse files, volume headers and the like do not occur in image layers.
                    throw new BerthException(ErrorKind.NotImplemented, $"tar entry \"{entry.Name}\": unsupported type {entry.EntryType}");
            }
            MarkWritten(path);
        }

        private void ApplyWhiteout(List<string> parts, string name)
        {
            Whiteouts++;
            var dir = RootPath.Resolve(root, parts.Take(parts.Count - 1));
            if (name == OpaqueWhiteout)
            {
                EnsureDirectory(dir);
                if (mode == WhiteoutMode.Overlay)
                {
                    SetXattr(dir, "trusted.overlay.opaque", "y"u8);
                }
                else
                {
                    foreach (var child in Directory.EnumerateFileSystemEntries(dir))
                    {
                        if (_written.Contains(child)) continue;
                        var st = Fs.LStat(child);
                        if (st is { } s) RemovePath(child, (s.Mode & Fs.S_IFMT) == Fs.S_IFDIR);
                    }
                }
                MarkWritten(dir);
                return;
            }

            var victim = name[WhiteoutPrefix.Length..];
            if (victim is "" or "." or ".." || victim.Contains('/'))
                throw BerthException.Invalid($"invalid whiteout \"{string.Join('/', parts)}\"");
            var path = Path.Combine(dir, victim);
            var existing = Fs.LStat(path);
            if (existing is { } ex) RemovePath(path, (ex.Mode & Fs.S_IFMT) == Fs.S_IFDIR);
            if (mode == WhiteoutMode.Overlay)
            {
                EnsureDirectory(dir);
                Sys.CheckIo(Sys.Mknod(path, (uint)Fs.S_IFCHR, 0), $"mknod whiteout {path}");
            }
        }

        /// <summary>Creates a resolved in-root directory path; its existing components are already real directories.</summary>
        private void EnsureDirectory(string dir)
        {
            if (dir.Length < root.Length || !(dir == root || dir.StartsWith(root + "/", StringComparison.Ordinal)))
                throw BerthException.Invalid($"path {dir} escapes the extraction root");
            if (Fs.LStat(dir) is { } st)
            {
                if ((st.Mode & Fs.S_IFMT) != Fs.S_IFDIR)
                    throw BerthException.Invalid($"cannot create entries under {dir[root.Length..]}: not a directory");
                return;
            }
            Directory.CreateDirectory(dir);
        }

        private void MarkWritten(string path)
        {
            // Ancestors count too: "d/sub/f" written before "d/.wh..wh..opq" keeps "d/sub".
            for (var p = path; p.Length > root.Length && p != "/" && _written.Add(p); p = Path.GetDirectoryName(p) ?? "") { }
        }

        private static void RemovePath(string path, bool isDir)
        {
            // Directory.Delete unlinks symlinks it meets instead of descending into them.
            if (isDir) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }

        private void SetOwner(string path, TarEntry entry)
        {
            var (uid, gid) = options.Owner ?? (entry.Uid, entry.Gid);
            Sys.CheckIo(Sys.Lchown(path, uid, gid), $"lchown {path}");
        }

        private static void SetXattrs(string path, TarEntry entry)
        {
            if (entry is not PaxTarEntry pax) return;
            foreach (var (key, value) in pax.ExtendedAttributes)
            {
                if (!key.StartsWith(XattrPaxPrefix, StringComparison.Ordinal)) continue;
                // TarReader decodes PAX values as UTF-8; a binary value (security.capability) that did not survive
                // the decoding is skipped rather than written corrupted.
                if (value.Contains('\uFFFD')) continue;
                SetXattr(path, key[XattrPaxPrefix.Length..], Encoding.UTF8.GetBytes(value), bestEffort: true);
            }
        }

        private static unsafe void SetXattr(string path, string name, ReadOnlySpan<byte> value, bool bestEffort = false)
        {
            fixed (byte* v = value)
            {
                int r = Sys.Lsetxattr(path, name, v, (nuint)value.Length, 0);
                if (r != 0 && !bestEffort) Sys.CheckIo(r, $"setxattr {name} on {path}");
            }
        }

        public void FinishDirectories()
        {
            for (int i = _dirTimes.Count - 1; i >= 0; i--)
            {
                var (path, mtime) = _dirTimes[i];
                // A later entry may have replaced the directory; only stamp what is still a directory.
                if (Fs.LStat(path) is { } st && (st.Mode & Fs.S_IFMT) == Fs.S_IFDIR)
                    Fs.SetTimes(path, mtime, mtime);
            }
        }
    }

    /// <summary>Hashes and counts every byte read through it.</summary>
    private sealed class HashingStream(Stream inner, bool hash) : ReadOnlyStream
    {
        private readonly IncrementalHash? _hash = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        private long _length;

        public Digest Digest() => _hash is null ? default : Core.Digest.FromHash(_hash.GetHashAndReset());

        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer) => Count(buffer, inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            return Count(buffer.Span, n);
        }

        private int Count(ReadOnlySpan<byte> buffer, int n)
        {
            _hash?.AppendData(buffer[..n]);
            _length += n;
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash?.Dispose();
            base.Dispose(disposing);
        }
    }
}
