using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Berth.Content;
using Berth.Core.Interop;

namespace Berth.Builder;

public sealed partial class Executor
{
    /// <summary>One source of a COPY/ADD: a file or directory under <see cref="Root"/>, or a here-document.</summary>
    /// <see cref="Parts"/> are resolved inside the root; <see cref="Name"/> is the last component as the user named it,
    /// the name a copy into a directory gets (a symlink source is followed, but keeps the link's name, as in Docker).</summary>
    private sealed record Source(string Display, string? Root, IReadOnlyList<string> Parts, Heredoc? Doc, string Name);

    private async Task CopyAsync(Run run, Stage stage, State st, Instruction inst)
    {
        var lookup = Lookup(run, st);
        var esc = run.File.Escape;
        bool add = inst.Keyword == "ADD";
        var words = inst.Json?.Select(w => ShellWords.Expand(w, lookup, esc)).ToList() ?? ShellWords.ExpandWords(inst.Args, lookup, esc);
        if (words.Count < 2)
            throw run.Error(inst, $"{inst.Keyword} requires at least two arguments, but only one was provided. Destination could not be determined");
        var dest = words[^1];
        var srcWords = words[..^1];
        var from = inst.Flag("from") is { } f ? ShellWords.Expand(f, lookup, esc) : null;
        if (add && from is not null) throw run.Error(inst, "ADD does not support --from");
        var chown = inst.Flag("chown") is { } co ? ShellWords.Expand(co, lookup, esc) : null;
        uint? chmod = null;
        if (inst.Flag("chmod") is { } cm)
        {
            var s = ShellWords.Expand(cm, lookup, esc);
            try { chmod = Convert.ToUInt32(s, 8); }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException) { throw run.Error(inst, $"invalid chmod parameter: {s}"); }
            if (chmod > 0xFFF) throw run.Error(inst, $"invalid chmod parameter: {s}");
        }

        var destAbs = dest.StartsWith('/') ? dest : (st.Config.WorkingDir is { Length: > 0 } w ? w.TrimEnd('/') : "") + "/" + dest;
        bool destIsDirSyntax = dest.EndsWith('/') || dest is "." or ".." || dest.EndsWith("/.", StringComparison.Ordinal);
        var destParts = RootPath.Clean(destAbs);

        IStepContainer? fromContainer = null;
        IMountedRootfs? fromRoot = null;
        try
        {
            string sourceRoot = run.Context.Dir;
            if (from is not null)
            {
                string fromImage;
                if (FindStage(run, from, stage.Index) is { } s)
                    fromImage = s.ResultId ?? throw run.Error(inst, $"stage {from} has no image");
                else
                {
                    try { fromImage = (await ImageAsync(run, from, run.Options.Platform, run.Options.Pull)).Id; }
                    catch (Exception e) when (e is not (OperationCanceledException or DockerfileException))
                    {
                        throw new BuildFailedException($"invalid from flag value {from}: {e.Message}");
                    }
                }
                fromContainer = await containers.CreateAsync(new StepContainerSpec { ImageId = fromImage, Cmd = ["/bin/sh"] }, run.Ct);
                fromRoot = await fromContainer.MountAsync(run.Ct);
                sourceRoot = fromRoot.Path;
            }

            // Sources: here-documents, or paths (with wildcards) under the context or the other stage's root.
            var sources = new List<Source>();
            foreach (var word in srcWords)
            {
                if (word.StartsWith("<<", StringComparison.Ordinal) && inst.Heredocs.FirstOrDefault(h => word.TrimStart('<', '-').Trim('"', '\'') == h.Name) is { } doc)
                {
                    var content = doc.Expand ? ShellWords.ExpandVariables(doc.Content, lookup, esc) : doc.Content;
                    sources.Add(new Source(doc.Name, null, [doc.Name], doc with { Content = content }, doc.Name));
                    continue;
                }
                if (add && (word.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || word.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || word.StartsWith("git@", StringComparison.Ordinal)))
                    throw run.Error(inst, $"ADD from a URL ({word}) is not supported by this builder");
                if (from is null && RootPath.ClimbsOut(word))
                    throw new BuildFailedException($"{inst.Keyword} failed: forbidden path outside the build context: {word} ()");
                var cleaned = RootPath.Clean("/" + word);
                if (word.IndexOfAny(['*', '?', '[']) >= 0)
                {
                    foreach (var m in Glob(sourceRoot, cleaned)) sources.Add(SourceAt(string.Join('/', m), m));
                    continue;
                }
                sources.Add(SourceAt(word, cleaned));
            }
            if (sources.Count == 0)
                throw new BuildFailedException($"{inst.Keyword} failed: no source files were specified");

            // A source resolved inside its root (symlinks followed there, never to the host's files).
            Source SourceAt(string display, List<string> parts)
            {
                var resolved = RootPath.ResolveIn(p => Join(sourceRoot, p), parts, followLast: true);
                if (Fs.LStat(Join(sourceRoot, resolved)) is null)
                {
                    var shown = TrimLeading(display);
                    throw new BuildFailedException(from is null
                        ? $"{inst.Keyword} failed: file not found in build context or excluded by .dockerignore: stat {shown}: file does not exist"
                        : $"{inst.Keyword} failed: stat {shown}: file does not exist");
                }
                return new Source(display, sourceRoot, resolved, null, parts.Count > 0 ? parts[^1] : display);
            }
            if (sources.Count > 1 && !destIsDirSyntax)
                throw new BuildFailedException($"When using {inst.Keyword} with more than one source file, the destination must be a directory and end with a /");

            var checksum = Checksum(sources, from is not null, from is null ? run.Context.Checksums : null);
            var createdBy = NopCreatedBy(st.Config, $"{inst.Keyword} {(from is not null ? "from " + from + " " : "")}{(chown is not null ? "--chown=" + chown + " " : "")}{(chmod is not null ? "--chmod=" + Convert.ToString(chmod.Value, 8) + " " : "")}{(sources.Count == 1 ? "file" : "multi")}:{checksum} in {destAbs} ");
            var key = CacheKey(st.ImageId, createdBy, ConfigHash(st.Config));
            if (await TryCacheAsync(run, st, key, createdBy, st.Config) is { } hit)
            {
                await run.Out(" ---> Using cache\n");
                st.ImageId = hit.Id;
                return;
            }

            var image = await EnsureImageAsync(run, st);
            await using var c = await containers.CreateAsync(new StepContainerSpec { ImageId = image, Cmd = ["/bin/sh"] }, run.Ct);
            using (var root = await c.MountAsync(run.Ct))
            {
                var owner = chown is null ? (0, 0) : ResolveOwner(root.Path, chown);
                var destHost = RootPath.Resolve(root.Path, destParts);
                bool destIsDir = destIsDirSyntax || sources.Count > 1 || Directory.Exists(destHost) && new DirectoryInfo(destHost).LinkTarget is null;
                foreach (var src in sources)
                {
                    run.Ct.ThrowIfCancellationRequested();
                    if (src.Doc is { } doc)
                    {
                        var parts = destIsDir ? [.. destParts, doc.Name] : destParts;
                        FileOps.MkdirAll(root.Path, parts[..^1], owner.Item1, owner.Item2);
                        var target = RootPath.ResolveParent(root.Path, parts);
                        if (Fs.LStat(target) is not null) { if (Directory.Exists(target) && new DirectoryInfo(target).LinkTarget is null) Directory.Delete(target, true); else File.Delete(target); }
                        await File.WriteAllTextAsync(target, doc.Content, run.Ct);
                        FileOps.Lchown(target, owner.Item1, owner.Item2);
                        Fs.Chmod(target, chmod ?? 0x1A4); // 0644
                        continue;
                    }
                    var host = Join(src.Root!, src.Parts);
                    var stt = Fs.LStat(host)!.Value;
                    bool isDir = (stt.Mode & Fs.S_IFMT) == Fs.S_IFDIR;
                    if (isDir)
                    {
                        // A directory's content is copied, not the directory itself.
                        var destDir = FileOps.MkdirAll(root.Path, destParts, owner.Item1, owner.Item2);
                        CopyTree(host, root.Path, destParts, owner, chmod, run.Ct);
                        _ = destDir;
                    }
                    // Like Docker's classic builder, an extracted archive keeps its own owners: --chown does not apply.
                    else if (add && from is null && TryExtract(host, root.Path, destParts, null, run.Ct))
                    {
                    }
                    else
                    {
                        var parts = destIsDir ? [.. destParts, src.Name] : destParts;
                        // Directories the copy creates belong to the --chown owner, as in Docker.
                        FileOps.MkdirAll(root.Path, parts[..^1], owner.Item1, owner.Item2);
                        FileOps.CopyEntry(host, RootPath.ResolveParent(root.Path, parts), owner, chmod);
                    }
                }
            }
            var img = await c.CommitAsync(st.Config, createdBy, st.Author, run.Ct);
            cache?.Put(key, img.Id);
            st.ImageId = img.Id;
        }
        finally
        {
            fromRoot?.Dispose();
            if (fromContainer is not null) await fromContainer.DisposeAsync();
        }
    }

    /// <summary>Docker's trimming of a source path for its messages: one leading "/", then one leading "./".</summary>
    private static string TrimLeading(string path)
    {
        if (path.StartsWith('/')) path = path[1..];
        if (path.StartsWith("./", StringComparison.Ordinal)) path = path[2..];
        return path;
    }

    private static string Join(string root, IReadOnlyList<string> parts) =>
        parts.Count == 0 ? root : root.TrimEnd('/') + "/" + string.Join('/', parts);

    private static void CopyTree(string srcDir, string root, List<string> destParts, (int, int) owner, uint? chmod, CancellationToken ct)
    {
        foreach (var entry in new DirectoryInfo(srcDir).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            List<string> parts = [.. destParts, entry.Name];
            var target = RootPath.ResolveParent(root, parts);
            FileOps.CopyEntry(entry.FullName, target, owner, chmod);
            if (entry is DirectoryInfo && entry.LinkTarget is null)
            {
                CopyTree(entry.FullName, root, parts, owner, chmod, ct);
                // Filling it moved its time on: it keeps the context's, as with dockerd.
                if (Fs.LStat(entry.FullName) is { } st) FileOps.KeepTimes(st, target);
            }
        }
    }

    /// <summary>ADD's auto-extraction: a local tar (plain or compressed) is unpacked into the destination directory.</summary>
    private static bool TryExtract(string file, string root, List<string> destParts, (int, int)? owner, CancellationToken ct)
    {
        using (var probe = File.OpenRead(file))
        {
            try
            {
                using var d = Compression.Decompress(probe, leaveOpen: true);
                using var reader = new TarReader(d);
                if (reader.GetNextEntry() is null) return false;
            }
            catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or Core.BerthException or IOException)
            {
                return false;
            }
        }
        var dir = FileOps.MkdirAll(root, destParts, 0, 0);
        using var s = File.OpenRead(file);
        using var tar = Compression.Decompress(s);
        try
        {
            LayerApplier.Extract(tar, dir, new ExtractOptions { Whiteouts = false, Owner = owner }, ct);
        }
        catch (Core.BerthException e)
        {
            throw new BuildFailedException($"ADD failed: {e.Message}");
        }
        return true;
    }

    /// <summary>
    /// <c>--chown=user[:group]</c> as Docker's classic builder reads it: names from the image's /etc/passwd and
    /// /etc/group; without a group, the user's string is used as the group too (a name must then exist as a group).
    /// </summary>
    private static (int, int) ResolveOwner(string root, string spec)
    {
        var parts = spec.Split(':');
        if (parts.Length > 2) throw new BuildFailedException($"unable to convert uid/gid chown string to host mapping: invalid chown string format: {spec}");
        int uid = Id(parts[0], "passwd", 2);
        int gid = Id(parts.Length > 1 ? parts[1] : parts[0], "group", 2);
        return (uid, gid);

        int Id(string name, string db, int field)
        {
            if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return n;
            foreach (var line in ReadDb(db))
            {
                var f = line.Split(':');
                if (f.Length > field && f[0] == name && int.TryParse(f[field], out var v)) return v;
            }
            var what = db == "passwd" ? "user" : "group";
            throw new BuildFailedException($"unable to convert uid/gid chown string to host mapping: can't find {(db == "passwd" ? "uid" : "gid")} for {what} {name}: no such {what}: {name}");
        }

        IEnumerable<string> ReadDb(string name)
        {
            var path = RootPath.Resolve(root, ["etc", name]);
            return File.Exists(path) ? File.ReadAllLines(path) : [];
        }
    }

    /// <summary>
    /// Every source file's name, type, mode, owner, link target and content; never the times. Each source's part is
    /// taken from <paramref name="known"/> when given (a context's: its files never change) and added to it.
    /// </summary>
    private static string Checksum(List<Source> sources, bool withOwner, ConcurrentDictionary<string, string>? known)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var s in sources)
        {
            h.AppendData(Encoding.UTF8.GetBytes("\0src " + s.Name + "\n"));
            if (s.Doc is { } doc) { h.AppendData(Encoding.UTF8.GetBytes(doc.Content)); continue; }
            var path = Join(s.Root!, s.Parts);
            string Compute()
            {
                using var one = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                HashEntry(one, path, "", withOwner);
                return Convert.ToHexStringLower(one.GetHashAndReset());
            }
            h.AppendData(Encoding.UTF8.GetBytes(known is null ? Compute() : known.GetOrAdd($"{withOwner}\0{path}", _ => Compute())));
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    private static void HashEntry(IncrementalHash h, string path, string rel, bool withOwner)
    {
        var st = Fs.LStat(path)!.Value;
        int type = st.Mode & Fs.S_IFMT;
        h.AppendData(Encoding.UTF8.GetBytes($"{rel}\0{st.Mode:x}\0{(withOwner ? $"{st.Uid}:{st.Gid}" : "")}\0"));
        if (type == Fs.S_IFLNK) h.AppendData(Encoding.UTF8.GetBytes(new FileInfo(path).LinkTarget ?? ""));
        else if (type == Fs.S_IFREG)
        {
            using var f = File.OpenRead(path);
            h.AppendData(SHA256.HashData(f));
        }
        else if (type == Fs.S_IFDIR)
        {
            foreach (var e in Directory.EnumerateFileSystemEntries(path).Order(StringComparer.Ordinal))
                HashEntry(h, e, rel + "/" + Path.GetFileName(e), withOwner);
        }
    }

    /// <summary>Wildcard sources: each component matched against the directory it names (no match crosses a '/').</summary>
    private static List<List<string>> Glob(string root, List<string> pattern)
    {
        var results = new List<List<string>>();
        Walk([], 0);
        return results;

        void Walk(List<string> at, int i)
        {
            if (i == pattern.Count) { results.Add(at); return; }
            // Like Docker's walk of the context, a wildcard never descends through a symlink (which could lead out of
            // the root); only the matched entry itself is resolved later, inside the root.
            var dir = Join(root, at);
            if (Fs.LStat(dir) is not { } ds || (ds.Mode & Fs.S_IFMT) != Fs.S_IFDIR) return;
            var comp = pattern[i];
            if (comp.IndexOfAny(['*', '?', '[']) < 0)
            {
                if (Fs.LStat(Path.Combine(dir, comp)) is not null) Walk([.. at, comp], i + 1);
                return;
            }
            var rx = new Regex("^" + GlobRegex(comp) + "$", RegexOptions.CultureInvariant);
            foreach (var e in Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal))
                if (rx.IsMatch(e!)) Walk([.. at, e!], i + 1);
        }
    }

    private static string GlobRegex(string comp)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < comp.Length; i++)
        {
            char c = comp[i];
            if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else if (c == '[' && comp.IndexOf(']', i + 1) is var end && end > i)
            {
                var cls = comp[(i + 1)..end];
                if (cls.StartsWith('!') || cls.StartsWith('^')) cls = "^" + cls[1..];
                sb.Append('[').Append(cls.Replace("\\", "\\\\")).Append(']');
                i = end;
            }
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return sb.ToString();
    }
}
