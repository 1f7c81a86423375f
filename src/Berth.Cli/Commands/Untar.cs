using System.Formats.Tar;
using System.Runtime.InteropServices;

namespace Berth.Cli.Commands;

// Extracts a tar from the daemon into a local directory for `cp CONTAINER:SRC DEST`, like the docker CLI's
// archive.Untar with NoLchown and NoOverwriteDirNonDir: files belong to the user running the CLI, and no entry
// may land outside the destination (".." names, symlinks that lead out, and writing through a symlink are refused).
// A hard link is link(2), which never follows a symlink: copying its target would let an archive of planted links
// copy any file the user can read into the destination.
internal static partial class Untar
{
    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkNative(string oldPath, string newPath);

    public static async Task ExtractAsync(Stream content, string dstDir, IReadOnlyList<(string Old, string New)> renames)
    {
        var root = Path.GetFullPath(dstDir).TrimEnd('/');
        var dirTimes = new List<(string, DateTimeOffset)>();
        await using var reader = new TarReader(content, leaveOpen: true);
        while (await reader.GetNextEntryAsync(copyData: false).ConfigureAwait(false) is { } entry)
        {
            var name = Rename(entry.Name, renames);
            var rel = Relative(name);
            if (rel.Length == 0)
            {
                continue;
            }
            var path = root + "/" + rel;
            var parent = Path.GetDirectoryName(path)!;
            EnsureInside(root, parent);
            Directory.CreateDirectory(parent);
            var existing = new FileInfo(path);
            bool existsAsDir = existing.LinkTarget is null && Directory.Exists(path);
            bool exists = existsAsDir || existing.Exists || existing.LinkTarget is not null;
            bool isDir = entry.EntryType == TarEntryType.Directory;
            if (exists && existsAsDir != isDir)
            {
                throw new ExitException(1, existsAsDir
                    ? $"cannot overwrite directory \"{path}\" with non-directory \"{entry.Name}\""
                    : $"cannot overwrite non-directory \"{path}\" with directory \"{entry.Name}\"");
            }
            if (exists && !isDir)
            {
                File.Delete(path);
            }
            var mode = (UnixFileMode)((int)entry.Mode & 0xFFF);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(path);
                    SetMode(path, mode);
                    dirTimes.Add((path, entry.ModificationTime));
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    await using (var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                    {
                        if (entry.DataStream is { } data)
                        {
                            await data.CopyToAsync(f).ConfigureAwait(false);
                        }
                    }
                    SetMode(path, mode);
                    File.SetLastWriteTimeUtc(path, entry.ModificationTime.UtcDateTime);
                    break;
                case TarEntryType.SymbolicLink:
                    {
                        // As docker's Untar: the link, read from the entry's directory, must stay inside.
                        var target = entry.LinkName.StartsWith('/') ? root + entry.LinkName : Path.Combine(parent, entry.LinkName);
                        if (!IsInside(root, Path.GetFullPath(target)))
                        {
                            throw new ExitException(1, $"invalid symlink \"{path}\" -> \"{entry.LinkName}\"");
                        }
                        File.CreateSymbolicLink(path, entry.LinkName);
                        break;
                    }
                case TarEntryType.HardLink:
                    {
                        var linkRel = Relative(Rename(entry.LinkName, renames));
                        var source = root + "/" + linkRel;
                        EnsureInside(root, Path.GetDirectoryName(source)!);
                        // lstat, right before use: the name itself, not what a link there points at.
                        var info = new FileInfo(source);
                        if (linkRel.Length == 0 || (info.LinkTarget is null && !info.Exists))
                        {
                            throw new ExitException(1, $"invalid hardlink \"{path}\" -> \"{entry.LinkName}\"");
                        }
                        if (LinkNative(source, path) != 0)
                        {
                            throw new ExitException(1, $"hardlink \"{path}\" -> \"{entry.LinkName}\": {Marshal.GetLastPInvokeErrorMessage()}");
                        }
                        break;
                    }
                default:
                    // Devices and FIFOs need privileges a copy to the local filesystem does not assume.
                    break;
            }
        }
        for (int i = dirTimes.Count - 1; i >= 0; i--)
        {
            Directory.SetLastWriteTimeUtc(dirTimes[i].Item1, dirTimes[i].Item2.UtcDateTime);
        }
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    // strings.Replace(name, old, new, 1) for each rename, as the docker CLI rebases archive entries.
    private static string Rename(string name, IReadOnlyList<(string Old, string New)> renames)
    {
        foreach (var (o, n) in renames)
        {
            var old = o == "/" ? "" : o;
            var i = name.IndexOf(old, StringComparison.Ordinal);
            if (i >= 0)
            {
                name = name[..i] + n + name[(i + old.Length)..];
            }
        }
        return name;
    }

    // The cleaned relative name; ".." that climbs out is a breakout.
    private static string Relative(string name)
    {
        var parts = new List<string>();
        foreach (var c in name.Split('/'))
        {
            if (c is "" or ".")
            {
                continue;
            }
            if (c == "..")
            {
                if (parts.Count == 0)
                {
                    throw new ExitException(1, $"invalid tar entry \"{name}\": path escapes the destination");
                }
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(c);
        }
        return string.Join('/', parts);
    }

    // Every existing component between the root and dir must be a real directory, not a symlink to elsewhere.
    private static void EnsureInside(string root, string dir)
    {
        if (!IsInside(root, dir))
        {
            throw new ExitException(1, $"invalid tar entry: {dir} is outside {root}");
        }
        var p = dir;
        while (p.Length > root.Length)
        {
            if (new FileInfo(p).LinkTarget is not null)
            {
                throw new ExitException(1, $"refusing to write through the symlink {p}");
            }
            p = Path.GetDirectoryName(p)!;
        }
    }

    private static bool IsInside(string root, string path) => path == root || path.StartsWith(root + "/", StringComparison.Ordinal);
}
