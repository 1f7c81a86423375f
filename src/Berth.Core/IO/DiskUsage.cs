using Berth.Core.Interop;

namespace Berth.Core.IO;

/// <summary>What a directory tree takes, as volumes, snapshots and build caches report it.</summary>
public static class DiskUsage
{
    /// <summary>Bytes in a tree: regular files and symlinks, each hard-linked inode once.</summary>
    public static long Of(string path)
    {
        long total = 0;
        var seen = new HashSet<(uint, uint, ulong)>();
        var pending = new Stack<string>();
        pending.Push(path);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            if (Fs.LStat(dir) is not { } dst || (dst.Mode & Fs.S_IFMT) != Fs.S_IFDIR) continue;
            foreach (var e in Directory.EnumerateFileSystemEntries(dir))
            {
                if (Fs.LStat(e) is not { } st) continue;
                int type = st.Mode & Fs.S_IFMT;
                if (type == Fs.S_IFDIR) { pending.Push(e); continue; }
                if (st.Nlink > 1 && !seen.Add((st.DevMajor, st.DevMinor, st.Ino))) continue;
                if (type is Fs.S_IFREG or Fs.S_IFLNK) total += (long)st.Size;
            }
        }
        return total;
    }
}
