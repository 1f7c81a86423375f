using System.Formats.Tar;
using Berth.Api;
using Berth.Content;
using Berth.Core;
using Berth.Core.Interop;
using Berth.Storage.Diff;

namespace Berth.Daemon.Containers;

/// <summary>
/// A container's files from outside: stat, archive and extract (<c>docker cp</c>), export, and changes
/// (<c>docker diff</c>). Every path is resolved like chroot would inside the container's root, with its volumes and
/// binds in place, so no link or <c>..</c> ever reaches the host's files.
/// </summary>
internal sealed class ContainerFiles(ContainerService containers, string spoolDir)
{
    /// <summary>The mount points the runtime makes, which Docker keeps out of the writable layer (its init layer).</summary>
    private static readonly string[] RuntimePaths =
        ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab", "/.dockerenv", "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/console", "/dev/mqueue"];

    // ---- paths ----

    /// <summary>The API's <c>path</c>: required, no NUL; relative paths are taken from the container's root.</summary>
    public static string ValidatePath(string? path)
    {
        if (string.IsNullOrEmpty(path)) throw BerthException.Invalid("path cannot be empty");
        if (path.Contains('\0')) throw BerthException.Invalid("invalid path: it contains a NUL byte");
        return path;
    }

    /// <summary>True for <c>dir/</c> and <c>dir/.</c>: the caller asserts a directory.</summary>
    private static bool AssertsDirectory(string path) => path.EndsWith('/') || path == "." || path.EndsWith("/.", StringComparison.Ordinal);

    /// <summary>Docker's name for an archive's top entry: the last element of the requested path (<c>/</c> for the root).</summary>
    private static string BaseName(string path)
    {
        if (path.EndsWith("/.", StringComparison.Ordinal) || path == ".") return ".";
        var trimmed = path.TrimEnd('/');
        if (trimmed.Length == 0) return "/";
        return trimmed[(trimmed.LastIndexOf('/') + 1)..];
    }

    /// <summary>Maps root-relative components to host paths: the longest volume/bind destination wins, else the rootfs.</summary>
    private sealed class ContainerView
    {
        private readonly string _rootfs;
        private readonly List<(List<string> Dest, string Source, string Destination)> _binds;

        public ContainerView(RootfsLease lease)
        {
            _rootfs = lease.Rootfs;
            _binds = lease.Binds
                .Select(b => (Dest: RootPath.Clean("/" + b.Destination), b.Source, b.Destination))
                .Where(b => b.Dest.Count > 0)
                .OrderByDescending(b => b.Dest.Count)
                .ToList();
        }

        public string HostOf(IReadOnlyList<string> parts)
        {
            foreach (var (dest, source, _) in _binds)
            {
                if (dest.Count > parts.Count) continue;
                bool match = true;
                for (int i = 0; i < dest.Count && match; i++) match = dest[i] == parts[i];
                if (match) return Join(source, parts.Skip(dest.Count));
            }
            return Join(_rootfs, parts);
        }

        /// <summary>The bind or volume holding <paramref name="parts"/>, if any.</summary>
        public string? MountOf(IReadOnlyList<string> parts) =>
            _binds.FirstOrDefault(b => b.Dest.Count <= parts.Count && b.Dest.SequenceEqual(parts.Take(b.Dest.Count))).Destination;

        public string RootfsOnly(IReadOnlyList<string> parts) => Join(_rootfs, parts);

        private static string Join(string root, IEnumerable<string> parts)
        {
            var sb = new System.Text.StringBuilder(root.TrimEnd('/'));
            foreach (var p in parts) sb.Append('/').Append(p);
            return sb.Length == 0 ? "/" : sb.ToString();
        }
    }

    private sealed record Target(List<string> Parts, string Host, Fs.StatX Stat);

    /// <summary>
    /// Resolves <paramref name="path"/> as GET/HEAD do: every element but the last followed inside the container
    /// (the last too when the path asserts a directory), the result lstat'ed.
    /// </summary>
    private static Target Resolve(ContainerView view, RootfsLease lease, string path)
    {
        var clean = RootPath.Clean("/" + path);
        var parts = RootPath.ResolveIn(view.HostOf, clean, followLast: AssertsDirectory(path));
        var host = view.HostOf(parts);
        if (Fs.LStat(host) is not { } st) throw NotFound(lease, path);
        if (AssertsDirectory(path) && (st.Mode & Fs.S_IFMT) != Fs.S_IFDIR)
            throw BerthException.Invalid($"not a directory: {path}");
        return new Target(parts, host, st);
    }

    private static BerthException NotFound(RootfsLease lease, string path) =>
        BerthException.NotFound($"Could not find the file {path} in container {lease.Record.Name.TrimStart('/')}");

    private static ContainerPathStat StatOf(ContainerView view, string path, Target t)
    {
        string link = "";
        if ((t.Stat.Mode & Fs.S_IFMT) == Fs.S_IFLNK)
            link = "/" + string.Join('/', RootPath.ResolveIn(view.HostOf, RootPath.Clean("/" + path), followLast: true));
        return new ContainerPathStat
        {
            Name = BaseName(path),
            Size = (long)t.Stat.Size,
            Mode = GoMode(t.Stat.Mode),
            Mtime = DateTimeOffset.UnixEpoch.AddTicks(t.Stat.Mtime.Sec * TimeSpan.TicksPerSecond + t.Stat.Mtime.Nsec / 100),
            LinkTarget = link,
        };
    }

    /// <summary>Go's os.FileMode for a Unix st_mode.</summary>
    public static uint GoMode(int mode)
    {
        uint m = (uint)mode & 0x1FF;
        switch (mode & Fs.S_IFMT)
        {
            case Fs.S_IFDIR: m |= ContainerPathStat.ModeDir; break;
            case Fs.S_IFLNK: m |= ContainerPathStat.ModeSymlink; break;
            case Fs.S_IFBLK: m |= ContainerPathStat.ModeDevice; break;
            case Fs.S_IFCHR: m |= ContainerPathStat.ModeDevice | ContainerPathStat.ModeCharDevice; break;
            case Fs.S_IFIFO: m |= ContainerPathStat.ModeNamedPipe; break;
            case 0xC000: m |= ContainerPathStat.ModeSocket; break;
        }
        if ((mode & 0x800) != 0) m |= ContainerPathStat.ModeSetuid;
        if ((mode & 0x400) != 0) m |= ContainerPathStat.ModeSetgid;
        if ((mode & 0x200) != 0) m |= ContainerPathStat.ModeSticky;
        return m;
    }

    // ---- operations ----

    /// <summary>HEAD /containers/{id}/archive.</summary>
    public async Task<ContainerPathStat> StatAsync(string idOrName, string path, CancellationToken ct)
    {
        ValidatePath(path);
        using var lease = await containers.LeaseRootfsAsync(idOrName, mount: true, ct);
        var view = new ContainerView(lease);
        return StatOf(view, path, Resolve(view, lease, path));
    }

    /// <summary>
    /// GET /containers/{id}/archive: the stat goes to <paramref name="begin"/> (which sends the headers and returns
    /// the body), then the tar is streamed, entries named from the requested path's last element.
    /// </summary>
    public async Task ArchiveAsync(string idOrName, string path, Func<ContainerPathStat, Stream> begin, CancellationToken ct)
    {
        ValidatePath(path);
        using var lease = await containers.LeaseRootfsAsync(idOrName, mount: true, ct);
        var view = new ContainerView(lease);
        var target = Resolve(view, lease, path);
        var stat = StatOf(view, path, target);
        var body = begin(stat);
        var top = stat.Name;
        int depth = target.Parts.Count;
        string NameOf(IReadOnlyList<string> parts)
        {
            if (parts.Count == depth) return top;
            var rest = string.Join('/', parts.Skip(depth));
            return top == "/" ? "/" + rest : top + "/" + rest;
        }
        await using var tar = new FsTarWriter(body, leaveOpen: true);
        await tar.WriteTreeAsync(target.Parts, view.HostOf, NameOf, null, ct);
    }

    /// <summary>
    /// PUT /containers/{id}/archive: extracts the (plain or gzip) tar in <paramref name="archive"/> into the directory
    /// <paramref name="path"/>, confined to it. A body that is not a tar archive is refused before anything is written.
    /// </summary>
    public async Task ExtractAsync(string idOrName, string path, Stream archive, bool copyUidGid, bool noOverwriteDirNonDir, CancellationToken ct)
    {
        ValidatePath(path);
        Directory.CreateDirectory(spoolDir);
        var spool = Path.Combine(spoolDir, $"extract-{Guid.NewGuid():N}");
        try
        {
            // Kestrel's body is asynchronous and the extractor is not: the archive goes to disk first, and is checked
            // to be a whole tar archive before any of it lands in the container.
            await using (var f = new FileStream(spool, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                await archive.CopyToAsync(f, ct);
            await Task.Run(() => CheckTar(spool), ct);

            using var lease = await containers.LeaseRootfsAsync(idOrName, mount: true, ct);
            var view = new ContainerView(lease);
            var parts = RootPath.ResolveIn(view.HostOf, RootPath.Clean("/" + path), followLast: true);
            var host = view.HostOf(parts);
            if (Fs.LStat(host) is not { } st) throw NotFound(lease, path);
            if ((st.Mode & Fs.S_IFMT) != Fs.S_IFDIR) throw BerthException.Invalid("extraction point is not a directory");
            var mount = view.MountOf(parts);
            if (mount is not null)
            {
                if (lease.Record.Mounts.FirstOrDefault(m => m.Destination == mount) is { RW: false })
                    throw new BerthException(ErrorKind.Forbidden, "mounted volume is marked read-only");
            }
            else if (lease.Record.HostConfig.ReadonlyRootfs)
            {
                throw new BerthException(ErrorKind.Forbidden, "container rootfs is marked read-only");
            }
            if (new FileInfo(spool).Length == 0) return; // an empty archive: nothing to write
            var options = new ExtractOptions { Owner = copyUidGid ? null : (0, 0), NoOverwriteDirNonDir = noOverwriteDirNonDir };
            await Task.Run(() =>
            {
                using var s = new FileStream(spool, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                using var tar = Compression.Decompress(s);
                LayerApplier.Extract(tar, host, options, ct);
            }, ct);
        }
        finally
        {
            File.Delete(spool);
        }
    }

    private static void CheckTar(string file)
    {
        try
        {
            using var s = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            if (s.Length == 0) return; // an empty body is an empty archive, as for Docker
            using var tar = Compression.Decompress(s);
            using var reader = new TarReader(tar);
            int entries = 0;
            while (reader.GetNextEntry(copyData: false) is not null) entries++;
            if (entries == 0 && s.Length < 1024) throw new InvalidDataException("no tar header found");
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException)
        {
            throw BerthException.Invalid($"invalid tar archive: {e.Message}");
        }
    }

    /// <summary>GET /containers/{id}/export: the merged root filesystem without volumes and binds, streamed.</summary>
    public async Task ExportAsync(string idOrName, Func<Stream> begin, CancellationToken ct)
    {
        using var lease = await containers.LeaseRootfsAsync(idOrName, mount: true, ct);
        var view = new ContainerView(lease);
        var body = begin();
        await using var tar = new FsTarWriter(body, leaveOpen: true);
        // Docker's export has no entry for the root directory itself.
        await tar.WriteTreeAsync([], view.RootfsOnly, parts => parts.Count == 0 ? "./" : string.Join('/', parts), null, ct, includeStart: false);
    }

    /// <summary>GET /containers/{id}/changes.</summary>
    public async Task<IReadOnlyList<LayerChange>> ChangesAsync(string idOrName, CancellationToken ct)
    {
        using var lease = await containers.LeaseRootfsAsync(idOrName, mount: false, ct);
        return await Task.Run(() => DiffOf(lease).Changes(ct), ct);
    }

    /// <summary>The container's writable layer against its image, without the runtime's mount points.</summary>
    public LayerDiff DiffOf(RootfsLease lease)
    {
        var ignore = new HashSet<string>(RuntimePaths, StringComparer.Ordinal);
        foreach (var m in lease.Record.Mounts) ignore.Add("/" + string.Join('/', RootPath.Clean("/" + m.Destination)));
        return LayerDiff.For(containers.Snapshotter, lease.Record.SnapshotKey, ignore);
    }
}
