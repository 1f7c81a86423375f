using Berth.Core;
using Berth.Core.Interop;

namespace Berth.Storage;

/// <summary>Whole-tree filesystem operations that never follow symlinks.</summary>
internal static class FsOps
{
    public static void RemoveTree(string path)
    {
        var st = Fs.LStat(path);
        if (st is null) return;
        if ((st.Value.Mode & Fs.S_IFMT) == Fs.S_IFDIR) Directory.Delete(path, recursive: true);
        else File.Delete(path);
    }

    /// <summary>
    /// Copies the contents of <paramref name="src"/> into the existing directory <paramref name="dst"/> preserving
    /// type, mode (with setuid bits), ownership, times, xattrs, symlinks, devices and hard links.
    /// </summary>
    public static void CopyTree(string src, string dst, CancellationToken ct = default)
    {
        var links = new Dictionary<(uint, uint, ulong), string>();
        var dirTimes = new List<(string Path, Fs.StatX St)>();
        CopyChildren(src, dst, links, dirTimes, ct);
        // Directory times last: filling a directory changes its mtime.
        for (int i = dirTimes.Count - 1; i >= 0; i--) SetTimes(dirTimes[i].Path, dirTimes[i].St);
    }

    /// <summary>Copies <paramref name="src"/>'s own mode, owner, xattrs and times onto <paramref name="dst"/>.</summary>
    public static void CopyMetadata(string src, string dst)
    {
        var st = Fs.LStat(src) ?? throw BerthException.NotFound($"{src}: not found");
        ApplyMetadata(src, dst, st);
        SetTimes(dst, st);
    }

    private static void CopyChildren(string src, string dst, Dictionary<(uint, uint, ulong), string> links,
        List<(string, Fs.StatX)> dirTimes, CancellationToken ct)
    {
        foreach (var s in Directory.EnumerateFileSystemEntries(src))
        {
            ct.ThrowIfCancellationRequested();
            var d = Path.Combine(dst, Path.GetFileName(s));
            if (Fs.LStat(s) is not { } st) continue;
            int type = st.Mode & Fs.S_IFMT;
            if (type != Fs.S_IFDIR && st.Nlink > 1)
            {
                var id = (st.DevMajor, st.DevMinor, st.Ino);
                if (links.TryGetValue(id, out var first))
                {
                    Fs.Link(first, d);
                    continue;
                }
                links[id] = d;
            }
            switch (type)
            {
                case Fs.S_IFDIR:
                    Directory.CreateDirectory(d);
                    CopyChildren(s, d, links, dirTimes, ct);
                    ApplyMetadata(s, d, st);
                    dirTimes.Add((d, st));
                    continue;
                case Fs.S_IFREG:
                    using (var i = new FileStream(s, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
                    using (var o = new FileStream(d, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                        i.CopyTo(o);
                    break;
                case Fs.S_IFLNK:
                    File.CreateSymbolicLink(d, new FileInfo(s).LinkTarget ?? "");
                    break;
                case Fs.S_IFCHR or Fs.S_IFBLK or Fs.S_IFIFO:
                    Sys.CheckIo(Sys.Mknod(d, (uint)st.Mode, Sys.MakeDev(st.RdevMajor, st.RdevMinor)), $"mknod {d}");
                    break;
                default:
                    // Sockets belong to the process that bound them; a copy would be meaningless.
                    continue;
            }
            ApplyMetadata(s, d, st);
            SetTimes(d, st);
        }
    }

    private static void ApplyMetadata(string src, string dst, Fs.StatX st)
    {
        Sys.CheckIo(Sys.Lchown(dst, (int)st.Uid, (int)st.Gid), $"lchown {dst}");
        if ((st.Mode & Fs.S_IFMT) != Fs.S_IFLNK)
            Fs.Chmod(dst, (uint)st.Mode & 0xFFF); // after chown, which clears setuid/setgid
        foreach (var name in Fs.ListXattrs(src))
        {
            if (Fs.GetXattr(src, name) is { } value)
            {
                try { Fs.SetXattr(dst, name, value); }
                catch (BerthException) { /* a filesystem without that namespace (e.g. trusted.* on tmpfs) */ }
            }
        }
    }

    private static void SetTimes(string path, Fs.StatX st) =>
        Fs.SetTimes(path, FromTs(st.Atime), FromTs(st.Mtime));

    private static DateTimeOffset FromTs(Fs.StatXTimestamp t) =>
        DateTimeOffset.UnixEpoch.AddTicks(t.Sec * TimeSpan.TicksPerSecond + t.Nsec / 100);
}
