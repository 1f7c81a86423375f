using System.Formats.Tar;
using Berth.Api;
using Berth.Content;
using Berth.Core;
using Berth.Core.Interop;
using Berth.Storage.Diff;

namespace Berth.Daemon.Containers;

/// <summary>
/// A container's files from outside: stat, archive and extract (<c>docker cp</c>), export, and changes
/// (<c>docker diff</c>). Everything that follows paths in the container's root runs in <c>berth-fshelper</c>, confined
/// by the kernel to that root with the container's volumes and binds mounted in place (see
/// <see cref="FsHelperRunner"/>); no link or <c>..</c> can reach the host's files, whatever the container swaps in
/// meanwhile. Diff (and commit) read the writable layer's directory in-process: see <see cref="DiffOf"/>.
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

    private static BerthException NotFound(RootfsLease lease, string path) =>
        BerthException.NotFound($"Could not find the file {path} in container {lease.Record.Name.TrimStart('/')}");

    private static FsHelperRunner.Run StartHelper(string op, RootfsLease lease, string? path, CancellationToken ct, bool withMounts = true, params string[] extra)
    {
        var args = FsHelperRunner.Args(op, lease, path, withMounts);
        args.AddRange(extra);
        return new FsHelperRunner.Run(args, (kind, message) => FsHelperRunner.Error(kind, message, () => NotFound(lease, path ?? "/")), ct);
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
        await using var helper = StartHelper("stat", lease, path, ct);
        var (stat, _) = await FsHelperRunner.ReadStatLineAsync(helper.Stdout, ct);
        await helper.CheckAsync();
        return stat ?? throw new BerthException(ErrorKind.Unknown, "berth-fshelper gave no stat");
    }

    /// <summary>
    /// GET /containers/{id}/archive: the stat goes to <paramref name="begin"/> (which sends the headers and returns
    /// the body), then the tar is streamed, entries named from the requested path's last element.
    /// </summary>
    public async Task ArchiveAsync(string idOrName, string path, Func<ContainerPathStat, Stream> begin, CancellationToken ct)
    {
        ValidatePath(path);
        using var lease = await containers.LeaseRootfsAsync(idOrName, mount: true, ct);
        await using var helper = StartHelper("archive", lease, path, ct);
        var (stat, rest) = await FsHelperRunner.ReadStatLineAsync(helper.Stdout, ct);
        if (stat is null)
        {
            await helper.CheckAsync();
            throw new BerthException(ErrorKind.Unknown, "berth-fshelper gave no stat");
        }
        var body = begin(stat);
        await body.WriteAsync(rest, ct);
        await helper.Stdout.CopyToAsync(body, ct);
        // Headers are gone: a failure now can only cut the stream short (the client sees a truncated tar).
        await helper.CheckAsync();
    }

    /// <summary>
    /// PUT /containers/{id}/archive: extracts the tar (plain, or gzip, zstd, xz or bzip2) in <paramref name="archive"/> into the directory
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
            var extra = new List<string>();
            if (copyUidGid) extra.Add("--copy-uid-gid");
            if (noOverwriteDirNonDir) extra.Add("--no-overwrite-dir-non-dir");
            await using var helper = StartHelper("extract", lease, path, ct, true, [.. extra]);
            try
            {
                // The helper gets the plain tar: decompression stays here, outside the container's root.
                await using var s = new FileStream(spool, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
                await using var tar = Compression.Decompress(s);
                await tar.CopyToAsync(helper.Stdin, ct);
            }
            catch (IOException)
            {
                // The helper stopped reading: it failed, and says why below.
            }
            await helper.CheckAsync();
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
        await using var helper = StartHelper("export", lease, null, ct, withMounts: false);
        // The first bytes before the headers: a helper that fails at once is an error response, not an empty tar.
        var first = new byte[1 << 16];
        int n = await helper.Stdout.ReadAtLeastAsync(first, 1, throwOnEndOfStream: false, ct);
        if (n == 0) await helper.CheckAsync();
        var body = begin();
        await body.WriteAsync(first.AsMemory(0, n), ct);
        await helper.Stdout.CopyToAsync(body, ct);
        await helper.CheckAsync();
    }

    /// <summary>GET /containers/{id}/changes.</summary>
    public async Task<IReadOnlyList<LayerChange>> ChangesAsync(string idOrName, CancellationToken ct)
    {
        using var lease = await containers.LeaseRootfsAsync(idOrName, mount: false, ct);
        return await Task.Run(() => DiffOf(lease).Changes(ct), ct);
    }

    /// <summary>
    /// The container's writable layer against its image, without the runtime's mount points. Read in-process: the
    /// layer's directory is not reachable from the container except through its merged view, lists no volume, and
    /// its file content is opened beneath it with no symlink followed (<see cref="FsTarWriter"/>'s beneath), so
    /// what the container plants there cannot lead a read elsewhere. Commit freezes a running container meanwhile.
    /// </summary>
    public LayerDiff DiffOf(RootfsLease lease)
    {
        var ignore = new HashSet<string>(RuntimePaths, StringComparer.Ordinal);
        foreach (var m in lease.Record.Mounts) ignore.Add("/" + string.Join('/', RootPath.Clean("/" + m.Destination)));
        return LayerDiff.For(containers.Snapshotter, lease.Record.SnapshotKey, ignore);
    }
}
