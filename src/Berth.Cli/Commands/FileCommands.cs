using System.Formats.Tar;
using Berth.Api;
using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;
using Berth.Client;

namespace Berth.Cli.Commands;

// docker cp, diff, export and commit, with the docker CLI's copy semantics (its archive.CopyTo/PrepareArchiveCopy):
// the destination is stat'ed first, and the archive is renamed so that extracting it into a directory gives
// "cp -r"-like results.
internal static class FileCommands
{
    // ---- cp ----

    public static async Task<int> CopyAsync(CliContext ctx, ParsedArgs args)
    {
        var (source, destination) = (args.Positionals[0], args.Positionals[1]);
        if (source.Length == 0)
        {
            throw new ExitException(1, "source can not be empty");
        }
        if (destination.Length == 0)
        {
            throw new ExitException(1, "destination can not be empty");
        }
        var (srcContainer, srcPath) = SplitCpArg(source);
        var (dstContainer, dstPath) = SplitCpArg(destination);
        var follow = args.GetBool("follow-link");
        var quiet = args.GetBool("quiet") || !Terminal.IsTerminal(1);
        return (srcContainer, dstContainer) switch
        {
            ({ } c, null) => await CopyFromContainerAsync(ctx, c, srcPath, dstPath, follow, quiet).ConfigureAwait(false),
            (null, { } c) => await CopyToContainerAsync(ctx, c, srcPath, dstPath, follow, args.GetBool("archive"), quiet).ConfigureAwait(false),
            ({ }, { }) => throw new ExitException(1, "copying between containers is not supported"),
            _ => throw new ExitException(1, "must specify at least one container source"),
        };
    }

    // A local path with a colon must be explicit: absolute, or starting with "." (as scp does).
    internal static (string? Container, string Path) SplitCpArg(string arg)
    {
        if (arg.StartsWith('/'))
        {
            return (null, arg);
        }
        var colon = arg.IndexOf(':');
        if (colon < 0 || arg.StartsWith('.'))
        {
            return (null, arg);
        }
        return (arg[..colon], arg[(colon + 1)..]);
    }

    private static async Task<int> CopyFromContainerAsync(CliContext ctx, string container, string srcPath, string dstPath, bool follow, bool quiet)
    {
        if (dstPath != "-")
        {
            dstPath = AbsLocal(dstPath);
        }
        string? rebaseName = null;
        if (follow)
        {
            try
            {
                var st = await ctx.Client.ContainerStatPathAsync(container, srcPath).ConfigureAwait(false);
                if (st.IsSymlink)
                {
                    var target = st.LinkTarget.StartsWith('/') ? st.LinkTarget : Path.Combine(SplitDirEntry(srcPath).Dir, st.LinkTarget);
                    (srcPath, rebaseName) = RebaseName(srcPath, target);
                }
            }
            catch (DockerApiException)
            {
                // The copy itself reports what is wrong with the path.
            }
        }
        var result = await ctx.Client.CopyFromContainerAsync(container, srcPath).ConfigureAwait(false);
        await using var content = result.Content;
        if (dstPath == "-")
        {
            await content.CopyToAsync(ctx.StdoutStream).ConfigureAwait(false);
            return 0;
        }
        var counting = new CountingStream(content);
        var srcBase = SplitDirEntry(srcPath).Base;
        var dstInfo = DestinationInfo(dstPath);
        var (dstDir, rename) = PrepareCopy(srcBase, rebaseName, result.Stat.IsDir, dstInfo);
        var renames = new List<(string, string)>();
        if (rebaseName is not null)
        {
            renames.Add((srcBase, rebaseName));
        }
        if (rename is { } r)
        {
            renames.Add(r);
        }
        await Untar.ExtractAsync(counting, dstDir, renames).ConfigureAwait(false);
        if (!quiet)
        {
            var size = result.Stat.IsDir ? counting.Count : result.Stat.Size;
            ctx.Err.WriteLine($"Successfully copied {Units.HumanSize(size)} to {dstPath}");
        }
        return 0;
    }

    private static async Task<int> CopyToContainerAsync(CliContext ctx, string container, string srcPath, string dstPath, bool follow, bool copyUidGid, bool quiet)
    {
        if (srcPath != "-")
        {
            srcPath = AbsLocal(srcPath);
        }
        var dst = new CopyInfo(dstPath, false, false);
        try
        {
            var st = await ctx.Client.ContainerStatPathAsync(container, dstPath).ConfigureAwait(false);
            if (st.IsSymlink)
            {
                var target = st.LinkTarget.StartsWith('/') ? st.LinkTarget : Path.Combine(SplitDirEntry(dstPath).Dir, st.LinkTarget);
                dst = dst with { Path = target };
                st = await ctx.Client.ContainerStatPathAsync(container, target).ConfigureAwait(false);
            }
            const uint typeBits = ContainerPathStat.ModeDir | ContainerPathStat.ModeSymlink | ContainerPathStat.ModeNamedPipe | ContainerPathStat.ModeSocket | ContainerPathStat.ModeDevice | ContainerPathStat.ModeCharDevice | (1u << 19);
            if ((st.Mode & typeBits) != 0 && !st.IsDir)
            {
                throw new ExitException(1, $"destination \"{container}:{dstPath}\" must be a directory or a regular file");
            }
            dst = dst with { Exists = true, IsDir = st.IsDir };
        }
        catch (DockerApiException)
        {
            // Assume the parent exists; the extraction reports any conflict.
        }

        if (srcPath == "-")
        {
            if (!dst.IsDir)
            {
                throw new ExitException(1, $"destination \"{container}:{dstPath}\" must be a directory");
            }
            await ctx.Client.CopyToContainerAsync(container, new ContainerCopyToOptions { Content = ctx.Stdin, DestinationPath = dst.Path, CopyUidGid = copyUidGid }).ConfigureAwait(false);
            return 0;
        }

        // The source, with symlinks in its directory part (and the last one with -L) resolved.
        var (resolved, rebaseName) = ResolveLocalSource(srcPath, follow);
        var info = new FileInfo(resolved);
        if (info.LinkTarget is null && !info.Exists && !Directory.Exists(resolved))
        {
            throw new ExitException(1, $"lstat {resolved}: no such file or directory");
        }
        bool srcIsDir = info.LinkTarget is null && Directory.Exists(resolved);
        var (srcDir, srcBase) = SplitDirEntry(resolved);
        var (dstDir, rename) = PrepareCopy(srcBase, rebaseName, srcIsDir, dst);
        var top = rename?.New ?? rebaseName ?? srcBase;

        var pipe = new System.IO.Pipelines.Pipe();
        long contentSize = 0;
        var writer = Task.Run(async () =>
        {
            try
            {
                await using var output = pipe.Writer.AsStream();
                contentSize = await WriteLocalTarAsync(output, srcDir, srcBase, top).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                throw;
            }
        });
        try
        {
            await ctx.Client.CopyToContainerAsync(container, new ContainerCopyToOptions
            {
                Content = pipe.Reader.AsStream(),
                DestinationPath = dstDir,
                CopyUidGid = copyUidGid,
            }).ConfigureAwait(false);
        }
        finally
        {
            try { await writer.ConfigureAwait(false); } catch (Exception) when (writer.IsFaulted) { }
        }
        await writer.ConfigureAwait(false);
        if (!quiet)
        {
            ctx.Err.WriteLine($"Successfully copied {Units.HumanSize(contentSize)} to {container}:{dst.Path}");
        }
        return 0;
    }

    private sealed record CopyInfo(string Path, bool Exists, bool IsDir);

    // The directory to extract into, and the rename of the archive's top entry that gives cp's result.
    private static (string DstDir, (string Old, string New)? Rename) PrepareCopy(string srcBase, string? rebaseName, bool srcIsDir, CopyInfo dst)
    {
        var (dstDir, dstBase) = SplitDirEntry(dst.Path);
        var oldBase = rebaseName ?? srcBase;
        if (dst.Exists && dst.IsDir)
        {
            return (dst.Path, null);
        }
        if (dst.Exists && srcIsDir)
        {
            throw new ExitException(1, "cannot copy directory");
        }
        if (!dst.Exists && !srcIsDir && AssertsDirectory(dst.Path))
        {
            throw new ExitException(1, "no such directory");
        }
        return (dstDir, (oldBase, dstBase));
    }

    private static CopyInfo DestinationInfo(string path)
    {
        for (int i = 0; i < 10; i++)
        {
            var fi = new FileInfo(path);
            if (fi.LinkTarget is { } link)
            {
                path = link.StartsWith('/') ? link : Path.Combine(SplitDirEntry(path).Dir, link);
                continue;
            }
            if (Directory.Exists(path))
            {
                return new CopyInfo(path, true, true);
            }
            if (fi.Exists)
            {
                return new CopyInfo(path, true, false);
            }
            var parent = SplitDirEntry(path).Dir;
            if (!Directory.Exists(parent))
            {
                throw new ExitException(1, File.Exists(parent) ? $"{parent}: not a directory" : $"lstat {parent}: no such file or directory");
            }
            return new CopyInfo(path, false, false);
        }
        throw new ExitException(1, $"too many symlinks in {path}");
    }

    private static (string Resolved, string? RebaseName) ResolveLocalSource(string path, bool follow)
    {
        if (follow)
        {
            var full = Path.GetFullPath(path);
            var target = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
            return RebaseName(path, target);
        }
        var (dir, name) = SplitDirEntry(path);
        var resolvedDir = new DirectoryInfo(dir).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dir;
        var resolved = resolvedDir.TrimEnd('/') + "/" + name;
        string? rebase = HasTrailingSeparator(path) && Path.GetFileName(path.TrimEnd('/')) != name ? Path.GetFileName(path.TrimEnd('/')) : null;
        return (resolved, rebase);
    }

    // When following a link changed the last element, the archive's entries take the name that was asked for.
    private static (string Path, string? RebaseName) RebaseName(string path, string resolved)
    {
        if (SpecifiesCurrentDir(path) && !SpecifiesCurrentDir(resolved))
        {
            resolved += "/.";
        }
        if (HasTrailingSeparator(path) && !HasTrailingSeparator(resolved))
        {
            resolved += "/";
        }
        var a = SplitDirEntry(path).Base;
        var b = SplitDirEntry(resolved).Base;
        return (resolved, a != b ? a : null);
    }

    private static bool HasTrailingSeparator(string p) => p.EndsWith('/');

    private static bool SpecifiesCurrentDir(string p) => p == "." || p.EndsWith("/.", StringComparison.Ordinal);

    private static bool AssertsDirectory(string p) => HasTrailingSeparator(p) || SpecifiesCurrentDir(p);

    // filepath.Dir/Base of the cleaned path, keeping a trailing "/." as the entry ".".
    internal static (string Dir, string Base) SplitDirEntry(string path)
    {
        var clean = CleanPath(path);
        if (SpecifiesCurrentDir(path))
        {
            clean = clean == "/" ? "/." : clean + "/.";
        }
        if (clean == "/")
        {
            return ("/", "/");
        }
        var i = clean.LastIndexOf('/');
        if (i < 0)
        {
            return (".", clean);
        }
        return (i == 0 ? "/" : clean[..i], clean[(i + 1)..]);
    }

    private static string CleanPath(string path)
    {
        var rooted = path.StartsWith('/');
        var parts = new List<string>();
        foreach (var c in path.Split('/'))
        {
            if (c is "" or ".")
            {
                continue;
            }
            if (c == ".." && parts.Count > 0 && parts[^1] != "..")
            {
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            if (c == ".." && rooted)
            {
                continue;
            }
            parts.Add(c);
        }
        var joined = string.Join('/', parts);
        return rooted ? "/" + joined : joined.Length == 0 ? "." : joined;
    }

    private static string AbsLocal(string path)
    {
        var abs = Path.GetFullPath(path);
        if (SpecifiesCurrentDir(path) && !SpecifiesCurrentDir(abs))
        {
            abs = abs.TrimEnd('/') + "/.";
        }
        else if (HasTrailingSeparator(path) && !HasTrailingSeparator(abs))
        {
            abs += "/";
        }
        return abs;
    }

    // The tar of srcDir/srcBase with its top entry named `top`; returns the bytes of regular-file content.
    private static async Task<long> WriteLocalTarAsync(Stream output, string srcDir, string srcBase, string top)
    {
        long size = 0;
        await using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        var root = srcBase == "." ? srcDir : Path.Combine(srcDir, srcBase);
        var pending = new Stack<(string Host, string Name)>();
        pending.Push((root, top));
        while (pending.Count > 0)
        {
            var (host, name) = pending.Pop();
            var fi = new FileInfo(host);
            bool isDir = fi.LinkTarget is null && Directory.Exists(host);
            if (!isDir && fi.LinkTarget is null && fi.Exists)
            {
                size += fi.Length;
            }
            await tar.WriteEntryAsync(host, isDir ? name.TrimEnd('/') + "/" : name).ConfigureAwait(false);
            if (isDir)
            {
                foreach (var child in Directory.EnumerateFileSystemEntries(host).Select(Path.GetFileName).OfType<string>().OrderDescending(StringComparer.Ordinal))
                {
                    pending.Push((Path.Combine(host, child), name.TrimEnd('/') + "/" + child));
                }
            }
        }
        return size;
    }

    // ---- diff, export, commit ----

    public static async Task<int> DiffAsync(CliContext ctx, ParsedArgs args)
    {
        var changes = await ctx.Client.ContainerDiffAsync(args.Positionals[0]).ConfigureAwait(false);
        foreach (var c in changes)
        {
            var letter = c.Kind switch { 1 => 'A', 2 => 'D', _ => 'C' };
            ctx.Out.WriteLine($"{letter} {c.Path}");
        }
        return 0;
    }

    public static async Task<int> ExportAsync(CliContext ctx, ParsedArgs args)
    {
        var output = args.Get("output");
        if (output is null && ctx.ForwardSignals && Terminal.IsTerminal(1))
        {
            throw new ExitException(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
        }
        await using var content = await ctx.Client.ContainerExportAsync(args.Positionals[0]).ConfigureAwait(false);
        if (output is null)
        {
            await content.CopyToAsync(ctx.StdoutStream).ConfigureAwait(false);
            return 0;
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(output)) ?? ".";
        if (!Directory.Exists(dir))
        {
            throw new ExitException(1, $"failed to export container: invalid output path: directory \"{dir}\" does not exist");
        }
        // Written beside the target and renamed, so a failed export leaves no partial file.
        var temp = Path.Combine(dir, $".docker_temp_{Guid.NewGuid():N}");
        try
        {
            await using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await content.CopyToAsync(f).ConfigureAwait(false);
            }
            File.Move(temp, output, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
        return 0;
    }

    public static async Task<int> CommitAsync(CliContext ctx, ParsedArgs args)
    {
        string? repo = null, tag = null;
        if (args.Positionals.Count > 1 && args.Positionals[1].Length > 0)
        {
            var reference = args.Positionals[1];
            var colon = reference.LastIndexOf(':');
            if (colon > reference.LastIndexOf('/'))
            {
                (repo, tag) = (reference[..colon], reference[(colon + 1)..]);
            }
            else
            {
                repo = reference;
            }
        }
        var r = await ctx.Client.ContainerCommitAsync(args.Positionals[0], new ContainerCommitOptions
        {
            Repository = repo,
            Tag = tag,
            Comment = args.Get("message"),
            Author = args.Get("author"),
            Pause = args.GetBool("pause", fallback: true),
            Changes = args.GetAll("change"),
        }).ConfigureAwait(false);
        ctx.Out.WriteLine(r.Id);
        return 0;
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            Count += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            var n = await inner.ReadAsync(buffer, ct).ConfigureAwait(false);
            Count += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
