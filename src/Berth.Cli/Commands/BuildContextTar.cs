using System.Formats.Tar;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Cli.Commands;

/// <summary>
/// The build context of <c>berth build DIR</c> as docker's legacy path sends it: the directory tarred with
/// owner 0:0, minus what its <c>.dockerignore</c> excludes (the Dockerfile and .dockerignore always go), symlinks
/// written as symlinks and never followed, so nothing outside the directory is read. A Dockerfile outside the
/// directory (<c>-f ../other</c>) is added under a generated name <c>.dockerfile.HEX</c> that is also appended to
/// the sent .dockerignore, as docker does.
/// </summary>
internal static partial class BuildContextTar
{
    /// <summary>
    /// Writes the context of <paramref name="contextDir"/> to <paramref name="output"/>. <paramref name="dockerfile"/>
    /// is the -f value (relative to the working directory, as docker takes it) or null for DIR/Dockerfile.
    /// Returns the Dockerfile's name inside the tar.
    /// </summary>
    public static string Write(string contextDir, string? dockerfile, Stream output, TaskCompletionSource<string>? nameReady = null)
    {
        var (root, dockerfilePath, inside) = Resolve(contextDir, dockerfile);
        var ignoreFile = Path.Combine(root, ".dockerignore");
        var ignoreText = File.Exists(ignoreFile) ? File.ReadAllText(ignoreFile) : null;
        var keep = new List<string> { ".dockerignore" };
        string nameInTar;
        byte[]? outsideDockerfile = null;
        if (inside is not null)
        {
            nameInTar = inside;
            keep.Add(inside);
        }
        else
        {
            nameInTar = ".dockerfile." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10));
            outsideDockerfile = File.ReadAllBytes(dockerfilePath);
        }
        var ignore = IgnoreRules.Parse(ignoreText ?? "", keep);
        nameReady?.TrySetResult(nameInTar);

        using var tar = new TarWriter(output, TarEntryFormat.Gnu, leaveOpen: true);
        Walk(root, "", ignore, tar, skip: outsideDockerfile is null ? null : ".dockerignore");
        if (outsideDockerfile is not null)
        {
            var now = DateTimeOffset.UtcNow;
            tar.WriteEntry(FileEntry(nameInTar, outsideDockerfile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, now));
            // Docker appends the generated name to .dockerignore, so that the daemon leaves it out of COPY . after reading it.
            var text = (ignoreText ?? "") + "\n" + nameInTar + "\n";
            var mode = ignoreText is null ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead : new FileInfo(ignoreFile).UnixFileMode;
            tar.WriteEntry(FileEntry(".dockerignore", Encoding.UTF8.GetBytes(text), mode, now));
        }
        return nameInTar;
    }

    // The context's real directory, the Dockerfile's real path, and its '/'-separated path inside the context (null when outside).
    internal static (string Root, string Dockerfile, string? Inside) Resolve(string contextDir, string? dockerfile)
    {
        var dirInfo = new DirectoryInfo(Path.GetFullPath(contextDir));
        if (!dirInfo.Exists)
        {
            throw new ExitException(1, $"unable to prepare context: path \"{contextDir}\" not found");
        }
        var root = RealPath(dirInfo.FullName);
        string path;
        if (dockerfile is null)
        {
            path = Path.Combine(root, "Dockerfile");
            // docker's fallback for a lowercase name.
            if (!Exists(path) && Exists(Path.Combine(root, "dockerfile")))
            {
                path = Path.Combine(root, "dockerfile");
            }
        }
        else
        {
            path = Path.GetFullPath(dockerfile);
        }
        if (!Exists(path))
        {
            throw new ExitException(1, $"unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {path}: no such file or directory");
        }
        var real = RealPath(path);
        if (Directory.Exists(real))
        {
            throw new ExitException(1, $"unable to prepare context: the Dockerfile ({path}) cannot be a directory");
        }
        var rel = Path.GetRelativePath(root, real);
        var inside = rel == ".." || rel.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? null : rel.Replace('\\', '/');
        return (root, real, inside);
    }

    private static bool Exists(string path) => File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;

    // Every symlink on the way resolved, like filepath.EvalSymlinks; the final target of a dangling link stays unresolved.
    private static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var parts = full.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = "/";
        for (int i = 0, hops = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            var info = new FileInfo(next);
            if (info.LinkTarget is { } target && hops++ < 40)
            {
                var resolved = Path.GetFullPath(target, current);
                // Restart from the link's target with the rest of the path appended.
                var rest = string.Join('/', parts[(i + 1)..]);
                parts = (rest.Length == 0 ? resolved : resolved + "/" + rest).Split('/', StringSplitOptions.RemoveEmptyEntries);
                current = "/";
                i = -1;
                continue;
            }
            current = next;
        }
        return current;
    }

    private static void Walk(string root, string rel, IgnoreRules ignore, TarWriter tar, string? skip)
    {
        var dir = rel.Length == 0 ? root : Path.Combine(root, rel);
        FileSystemInfo[] entries;
        try
        {
            entries = new DirectoryInfo(dir).GetFileSystemInfos();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExitException(1, $"error checking context: can't stat '{dir}'");
        }
        Array.Sort(entries, (a, b) => string.CompareOrdinal(a.Name, b.Name));
        foreach (var entry in entries)
        {
            var r = rel.Length == 0 ? entry.Name : rel + "/" + entry.Name;
            if (r == skip)
            {
                continue;
            }
            var isLink = entry.LinkTarget is not null;
            var isDir = !isLink && entry is DirectoryInfo;
            if (ignore.Excludes(r))
            {
                // An exception (!pattern) may still keep something below an excluded directory.
                if (isDir && ignore.HasExceptions)
                {
                    Walk(root, r, ignore, tar, skip);
                }
                continue;
            }
            var mode = entry.UnixFileMode;
            var mtime = new DateTimeOffset(entry.LastWriteTimeUtc, TimeSpan.Zero);
            if (isLink)
            {
                var link = new GnuTarEntry(TarEntryType.SymbolicLink, r) { LinkName = entry.LinkTarget!, Mode = mode, ModificationTime = mtime };
                tar.WriteEntry(Owned(link));
            }
            else if (isDir)
            {
                tar.WriteEntry(Owned(new GnuTarEntry(TarEntryType.Directory, r + "/") { Mode = mode, ModificationTime = mtime }));
                Walk(root, r, ignore, tar, skip);
            }
            else if (entry is FileInfo f)
            {
                using var data = OpenRegular(f.FullName);
                // Sockets, fifos and devices are not part of a context.
                if (data is not null)
                {
                    tar.WriteEntry(Owned(new GnuTarEntry(TarEntryType.RegularFile, r) { Mode = mode, ModificationTime = mtime, DataStream = data }));
                }
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    // O_NOFOLLOW differs between architectures; O_NONBLOCK and O_CLOEXEC do not.
    private static readonly int NoFollow = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    // The file opened without following a link and without blocking on a fifo; null when it is not a regular
    // (seekable) file. A file that cannot be read fails the build, as docker's "error checking context" does.
    private static FileStream? OpenRegular(string path)
    {
        var fd = Open(path, 0x800 | 0x80000 | NoFollow);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            // ENXIO: a socket or a fifo without a writer; ELOOP: replaced by a link meanwhile.
            if (errno is 6 or 40)
            {
                return null;
            }
            throw new ExitException(1, $"error checking context: can't open '{path}': {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 1 << 16);
        if (!stream.CanSeek)
        {
            stream.Dispose();
            return null;
        }
        return stream;
    }

    private static GnuTarEntry FileEntry(string name, byte[] content, UnixFileMode mode, DateTimeOffset mtime) =>
        Owned(new GnuTarEntry(TarEntryType.RegularFile, name) { Mode = mode, ModificationTime = mtime, DataStream = new MemoryStream(content) });

    private static GnuTarEntry Owned(GnuTarEntry e)
    {
        e.Uid = 0;
        e.Gid = 0;
        e.UserName = "";
        e.GroupName = "";
        return e;
    }
}

/// <summary>
/// <c>.dockerignore</c> patterns with docker's rules (moby patternmatcher): cleaned paths, <c>*</c> and <c>?</c>
/// inside one component, <c>**</c> across components, <c>[...]</c> classes, <c>\</c> escapes, <c>!</c> exceptions;
/// the last matching pattern decides and a pattern matching a parent directory matches what is below it.
/// </summary>
internal sealed class IgnoreRules
{
    private readonly List<(Regex Pattern, bool Exclude)> _rules = [];

    public bool HasExceptions => _rules.Exists(r => !r.Exclude);

    /// <summary>The rules of a .dockerignore text, then an exception for each path in <paramref name="alwaysKept"/>.</summary>
    public static IgnoreRules Parse(string text, IEnumerable<string> alwaysKept)
    {
        var rules = new IgnoreRules();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith('#'))
            {
                continue;
            }
            line = line.Trim();
            if (line.Length == 0)
            {
                continue;
            }
            var exclude = true;
            if (line[0] == '!')
            {
                exclude = false;
                line = line[1..].Trim();
            }
            line = Clean(line);
            if (line.Length == 0)
            {
                continue;
            }
            rules._rules.Add((new Regex("^" + ToRegex(line) + "$", RegexOptions.CultureInvariant | RegexOptions.Singleline), exclude));
        }
        // Only needed when something excludes at all (docker's TrimBuildFilesFromExcludes).
        if (rules._rules.Count > 0)
        {
            foreach (var k in alwaysKept)
            {
                rules._rules.Add((new Regex("^" + Regex.Escape(Clean(k)) + "$", RegexOptions.CultureInvariant), false));
            }
        }
        return rules;
    }

    /// <summary>Whether the context-relative, '/'-separated <paramref name="path"/> is left out.</summary>
    public bool Excludes(string path)
    {
        path = Clean(path);
        var excluded = false;
        foreach (var (pattern, exclude) in _rules)
        {
            if (exclude == excluded)
            {
                continue;
            }
            if (MatchesOrParent(pattern, path))
            {
                excluded = exclude;
            }
        }
        return excluded;
    }

    private static bool MatchesOrParent(Regex pattern, string path)
    {
        if (pattern.IsMatch(path))
        {
            return true;
        }
        for (var i = path.LastIndexOf('/'); i > 0; i = path.LastIndexOf('/', i - 1))
        {
            if (pattern.IsMatch(path[..i]))
            {
                return true;
            }
        }
        return false;
    }

    // filepath.Clean without the leading '/': "./a//b/../c/" → "a/c".
    internal static string Clean(string p)
    {
        var parts = new List<string>();
        foreach (var c in p.Split('/'))
        {
            if (c is "" or ".")
            {
                continue;
            }
            if (c == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                continue;
            }
            parts.Add(c);
        }
        return string.Join('/', parts);
    }

    private static string ToRegex(string p)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < p.Length; i++)
        {
            var c = p[i];
            switch (c)
            {
                case '*' when i + 1 < p.Length && p[i + 1] == '*':
                    i++;
                    if (i + 1 < p.Length && p[i + 1] == '/')
                    {
                        // "**/" : zero or more whole directories.
                        i++;
                        sb.Append("(?:.*/)?");
                    }
                    else
                    {
                        sb.Append(".*");
                    }
                    break;
                case '*':
                    sb.Append("[^/]*");
                    break;
                case '?':
                    sb.Append("[^/]");
                    break;
                case '\\' when i + 1 < p.Length:
                    i++;
                    sb.Append(Regex.Escape(p[i].ToString()));
                    break;
                case '[':
                    var end = p.IndexOf(']', i + 1);
                    if (end < 0)
                    {
                        sb.Append(@"\[");
                        break;
                    }
                    var cls = p[(i + 1)..end];
                    if (cls.StartsWith('!') || cls.StartsWith('^'))
                    {
                        cls = "^" + cls[1..];
                    }
                    sb.Append('[').Append(cls.Replace("\\", @"\\").Replace("[", @"\[")).Append(']');
                    i = end;
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        return sb.ToString();
    }
}
