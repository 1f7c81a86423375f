using System.Text.Json;
using Berth.Content;
using Berth.Core;
using Berth.Core.Interop;
using Berth.Storage.Diff;

namespace Berth.FsHelper;

/// <summary>
/// <c>berth-fshelper</c>: the daemon's file work on a container's filesystem, done inside the container's root so the
/// kernel, not path checks, keeps it there (as dockerd's chrootarchive). Its first act: a private mount namespace for
/// its main thread, the container's volumes and binds mounted onto their destinations inside the root (read-only
/// ones read-only), chroot into the root. All file work then runs synchronously on that thread with container paths.
/// <code>
/// berth-fshelper OP --root DIR [--bind SRC DEST]... [--bind-ro SRC DEST]... [--readonly-rootfs]
///                [--path P] [--copy-uid-gid] [--no-overwrite-dir-non-dir]
/// OP: stat     the path's stat as one JSON line on stdout
///     archive  the stat line, then the path as a tar on stdout
///     extract  the tar on stdin extracted into the directory at the path
///     export   the whole root (no volumes or binds) as a tar on stdout
/// </code>
/// A failure exits 2 with one line "KIND\tmessage" on stderr, KIND one of notfound, invalid, forbidden, unknown.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        Request req;
        try
        {
            req = Request.Parse(args);
        }
        catch (HelperException e)
        {
            return Fail(e.Kind, e.Message);
        }
        try
        {
            Enter(req);
            using var stdout = new FdStream(1, write: true);
            using var output = new BufferedStream(stdout, 1 << 16);
            switch (req.Op)
            {
                case "stat":
                    WriteStat(output, req.Path!, Resolve(req.Path!));
                    break;
                case "archive":
                    Archive(output, req.Path!);
                    break;
                case "extract":
                    Extract(req);
                    break;
                case "export":
                    Export(output);
                    break;
            }
            output.Flush();
            return 0;
        }
        catch (HelperException e)
        {
            return Fail(e.Kind, e.Message);
        }
        catch (ConfineException e)
        {
            return Fail(KindOf(e.Errno), e.Message);
        }
        catch (BerthException e)
        {
            return Fail(e.Kind switch
            {
                ErrorKind.NotFound => "notfound",
                ErrorKind.InvalidArgument or ErrorKind.NotImplemented => "invalid",
                ErrorKind.Forbidden => "forbidden",
                _ => e.Message.EndsWith("Read-only file system", StringComparison.Ordinal) ? "forbidden" : "unknown",
            }, e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail("forbidden", e.Message);
        }
        catch (IOException e) when (e.Message.Contains("Read-only file system", StringComparison.Ordinal))
        {
            return Fail("forbidden", e.Message);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            return Fail("invalid", $"invalid tar archive: {e.Message}");
        }
        catch (Exception e)
        {
            return Fail("unknown", e.Message);
        }
    }

    private static string KindOf(int errno) => errno switch
    {
        2 => "notfound",
        Confine.EROFS or Confine.EACCES or Confine.EPERM => "forbidden",
        _ => "unknown",
    };

    private static int Fail(string kind, string message)
    {
        using var stderr = new FdStream(2, write: true);
        stderr.Write(System.Text.Encoding.UTF8.GetBytes($"{kind}\t{message.ReplaceLineEndings(" ")}\n"));
        return 2;
    }

    // ---- confinement ----

    /// <summary>
    /// Private mount namespace, volumes and binds cloned from the host (their sources are host paths, so they are
    /// opened before the chroot) and attached at their destinations resolved inside the root (after it).
    /// </summary>
    private static void Enter(Request req)
    {
        // The runtime seeds hashing and Random from /dev/urandom on first use and keeps the descriptor: done here,
        // the host's device is used, not whatever the container's root has at that path.
        _ = HashCode.Combine(req.Op);
        _ = req.Op.GetHashCode();
        _ = Random.Shared.Next();
        Confine.UnshareMountNamespace();
        var trees = new List<(int Fd, bool IsDir, List<string> Dest)>();
        try
        {
            // The root itself as a nodev, nosuid copy over itself (in this namespace only), so the chroot lands in it.
            int rootTree = Confine.CloneTree(req.Root, readOnly: false);
            try
            {
                Confine.AttachTree(rootTree, req.Root);
            }
            finally
            {
                Confine.Close(rootTree);
            }
            foreach (var b in req.Binds.OrderBy(b => RootPath.Clean("/" + b.Destination).Count))
            {
                var dest = RootPath.Clean("/" + b.Destination);
                if (dest.Count == 0) continue; // nothing may replace the root itself
                if (Fs.LStat(b.Source) is not { } st) continue; // a source gone from the host: nothing to show there
                trees.Add((Confine.CloneTree(b.Source, b.ReadOnly), (st.Mode & Fs.S_IFMT) == Fs.S_IFDIR, dest));
            }
            Confine.ChrootHere(req.Root);
            foreach (var (fd, isDir, dest) in trees)
            {
                // The destination is resolved in the container's root, as the runtime does; a link there can only
                // lead elsewhere inside it.
                var target = HostOf(RootPath.ResolveIn(HostOf, dest, followLast: true));
                if (Fs.LStat(target) is null)
                {
                    if (isDir)
                    {
                        Directory.CreateDirectory(target);
                    }
                    else
                    {
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        new FileStream(target, FileMode.CreateNew, FileAccess.Write).Dispose();
                    }
                }
                Confine.AttachTree(fd, target);
            }
        }
        finally
        {
            foreach (var t in trees) Confine.Close(t.Fd);
        }
    }

    // ---- paths, inside the root ----

    private static string HostOf(IReadOnlyList<string> parts) => parts.Count == 0 ? "/" : "/" + string.Join('/', parts);

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

    private sealed record Target(List<string> Parts, string Path, Fs.StatX Stat);

    /// <summary>
    /// GET/HEAD's resolution: the path cleaned lexically (as Docker does), every element but the last followed (the
    /// last too when the path asserts a directory), the result lstat'ed.
    /// </summary>
    private static Target Resolve(string path)
    {
        var clean = RootPath.Clean("/" + path);
        var parts = RootPath.ResolveIn(HostOf, clean, followLast: AssertsDirectory(path));
        var p = HostOf(parts);
        if (Fs.LStat(p) is not { } st) throw new HelperException("notfound", $"no such file: {path}");
        if (AssertsDirectory(path) && (st.Mode & Fs.S_IFMT) != Fs.S_IFDIR)
            throw new HelperException("invalid", $"not a directory: {path}");
        return new Target(parts, p, st);
    }

    private static void WriteStat(Stream output, string path, Target t)
    {
        string link = "";
        if ((t.Stat.Mode & Fs.S_IFMT) == Fs.S_IFLNK)
            link = HostOf(RootPath.ResolveIn(HostOf, RootPath.Clean("/" + path), followLast: true));
        using (var w = new Utf8JsonWriter(output))
        {
            w.WriteStartObject();
            w.WriteString("name", BaseName(path));
            w.WriteNumber("size", (long)t.Stat.Size);
            w.WriteNumber("mode", t.Stat.Mode);
            w.WriteNumber("mtimeSec", t.Stat.Mtime.Sec);
            w.WriteNumber("mtimeNsec", t.Stat.Mtime.Nsec);
            w.WriteString("linkTarget", link);
            w.WriteEndObject();
        }
        output.WriteByte((byte)'\n');
    }

    // ---- operations ----

    private static void Archive(Stream output, string path)
    {
        var target = Resolve(path);
        WriteStat(output, path, target);
        var top = BaseName(path);
        int depth = target.Parts.Count;
        string NameOf(IReadOnlyList<string> parts)
        {
            if (parts.Count == depth) return top;
            var rest = string.Join('/', parts.Skip(depth));
            return top == "/" ? "/" + rest : top + "/" + rest;
        }
        using var tar = new FsTarWriter(output, leaveOpen: true);
        tar.WriteTree(target.Parts, HostOf, NameOf, null, CancellationToken.None);
    }

    private static void Export(Stream output)
    {
        using var tar = new FsTarWriter(output, leaveOpen: true);
        // Docker's export has no entry for the root directory itself.
        tar.WriteTree([], HostOf, parts => string.Join('/', parts), null, CancellationToken.None, includeStart: false);
    }

    private static void Extract(Request req)
    {
        var path = req.Path!;
        var parts = RootPath.ResolveIn(HostOf, RootPath.Clean("/" + path), followLast: true);
        var dir = HostOf(parts);
        if (Fs.LStat(dir) is not { } st) throw new HelperException("notfound", $"no such directory: {path}");
        if ((st.Mode & Fs.S_IFMT) != Fs.S_IFDIR) throw new HelperException("invalid", "extraction point is not a directory");
        // The mount that holds the destination decides, as the kernel will: a volume mounted read-only, or the
        // root filesystem of a container created with --read-only.
        bool onRoot = Confine.MountId(dir) == Confine.MountId("/");
        if (Confine.WriteAccess(dir) == Confine.EROFS)
            throw new HelperException("forbidden", onRoot ? "container rootfs is marked read-only" : "mounted volume is marked read-only");
        if (onRoot && req.ReadonlyRootfs) throw new HelperException("forbidden", "container rootfs is marked read-only");

        using var stdin = new FdStream(0, write: false);
        using var input = new BufferedStream(stdin, 1 << 16);
        var options = new ExtractOptions
        {
            Owner = req.CopyUidGid ? null : (0, 0),
            NoOverwriteDirNonDir = req.NoOverwriteDirNonDir,
            ConfinedByChroot = true,
        };
        LayerApplier.Extract(input, dir, options, CancellationToken.None);
    }
}

/// <summary>An expected failure, reported to the daemon by kind.</summary>
internal sealed class HelperException(string kind, string message) : Exception(message)
{
    public string Kind => kind;
}

/// <summary>The command line.</summary>
internal sealed class Request
{
    public required string Op { get; init; }
    public string Root { get; private set; } = "";
    public string? Path { get; private set; }
    public List<(string Source, string Destination, bool ReadOnly)> Binds { get; } = [];
    public bool ReadonlyRootfs { get; private set; }
    public bool CopyUidGid { get; private set; }
    public bool NoOverwriteDirNonDir { get; private set; }

    public static Request Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("stat" or "archive" or "extract" or "export"))
            throw new HelperException("invalid", "usage: berth-fshelper stat|archive|extract|export --root DIR ...");
        var r = new Request { Op = args[0] };
        string Next(ref int i) => ++i < args.Length ? args[i] : throw new HelperException("invalid", $"{args[i - 1]} needs a value");
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--root": r.Root = Next(ref i); break;
                case "--path": r.Path = Next(ref i); break;
                case "--bind": r.Binds.Add((Next(ref i), Next(ref i), false)); break;
                case "--bind-ro": r.Binds.Add((Next(ref i), Next(ref i), true)); break;
                case "--readonly-rootfs": r.ReadonlyRootfs = true; break;
                case "--copy-uid-gid": r.CopyUidGid = true; break;
                case "--no-overwrite-dir-non-dir": r.NoOverwriteDirNonDir = true; break;
                default: throw new HelperException("invalid", $"unknown argument {args[i]}");
            }
        }
        if (!r.Root.StartsWith('/')) throw new HelperException("invalid", "--root must be an absolute path");
        if (r.Op != "export" && r.Path is null) throw new HelperException("invalid", "--path is required");
        return r;
    }
}
