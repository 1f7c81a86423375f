using System.Runtime.InteropServices;
using Berth.Core;

namespace Berth.Core.Interop;

/// <summary>libc calls for files: lstat-like queries, hard links, times without following links.</summary>
public static unsafe partial class Fs
{
    private const string Libc = "libc";
    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const uint STATX_BASIC_STATS = 0x7ff;

    public const int S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFLNK = 0xA000, S_IFREG = 0x8000,
        S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000;

    // struct statx is the same on every architecture, unlike struct stat, so it is the one we marshal.
    [StructLayout(LayoutKind.Sequential)]
    public struct StatX
    {
        public uint Mask;
        public uint BlkSize;
        public ulong Attributes;
        public uint Nlink;
        public uint Uid;
        public uint Gid;
        public ushort Mode;
        private ushort _spare0;
        public ulong Ino;
        public ulong Size;
        public ulong Blocks;
        public ulong AttributesMask;
        public StatXTimestamp Atime, Btime, Ctime, Mtime;
        public uint RdevMajor, RdevMinor, DevMajor, DevMinor;
        private fixed ulong _spare2[14];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct StatXTimestamp
    {
        public long Sec;
        public uint Nsec;
        private int _reserved;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxNative(int dirfd, string path, int flags, uint mask, StatX* buf);

    [LibraryImport(Libc, EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkNative(string oldPath, string newPath);

    [LibraryImport(Libc, EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UtimensatNative(int dirfd, string path, Timespec* times, int flags);

    [LibraryImport(Libc, EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChmodNative(string path, uint mode);

    /// <summary>lstat: the entry itself, never what a symlink points at. Null when nothing is there.</summary>
    public static StatX? LStat(string path)
    {
        StatX st;
        if (StatxNative(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) == 0) return st;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == 2 /* ENOENT */ || errno == 20 /* ENOTDIR */) return null;
        throw new BerthException(ErrorKind.Unknown, $"lstat {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    public static void Link(string oldPath, string newPath) =>
        Check(LinkNative(oldPath, newPath), $"link {newPath} -> {oldPath}");

    public static void Chmod(string path, uint mode) => Check(ChmodNative(path, mode), $"chmod {path}");

    /// <summary>Sets atime and mtime of the entry itself (a symlink's own times, not its target's).</summary>
    public static void SetTimes(string path, DateTimeOffset atime, DateTimeOffset mtime)
    {
        var ts = stackalloc Timespec[2];
        ts[0] = ToTimespec(atime);
        ts[1] = ToTimespec(mtime);
        Check(UtimensatNative(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), $"utimensat {path}");
    }

    private static Timespec ToTimespec(DateTimeOffset t)
    {
        long ticks = t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        long sec = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem);
        if (rem < 0) { sec--; rem += TimeSpan.TicksPerSecond; }
        return new Timespec { Sec = sec, Nsec = rem * 100 };
    }

    [LibraryImport(Libc, EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LListXattrNative(string path, byte* list, nuint size);

    /// <summary>The names of a path's extended attributes (not following a symlink); empty when unsupported.</summary>
    public static List<string> ListXattrs(string path)
    {
        var names = new List<string>();
        nint size = LListXattrNative(path, null, 0);
        if (size <= 0) return names;
        var buf = new byte[size];
        fixed (byte* b = buf)
        {
            size = LListXattrNative(path, b, (nuint)buf.Length);
        }
        if (size <= 0) return names;
        foreach (var n in System.Text.Encoding.UTF8.GetString(buf, 0, (int)size).Split('\0', StringSplitOptions.RemoveEmptyEntries))
            names.Add(n);
        return names;
    }

    /// <summary>Reads one extended attribute, or null when it is absent.</summary>
    public static byte[]? GetXattr(string path, string name)
    {
        nint size = Berth.Core.Interop.Sys.Lgetxattr(path, name, null, 0);
        if (size < 0) return null;
        var buf = new byte[size];
        fixed (byte* b = buf)
        {
            size = Berth.Core.Interop.Sys.Lgetxattr(path, name, b, (nuint)buf.Length);
        }
        return size < 0 ? null : buf[..(int)size];
    }

    public static void SetXattr(string path, string name, ReadOnlySpan<byte> value)
    {
        fixed (byte* v = value)
        {
            Check(Berth.Core.Interop.Sys.Lsetxattr(path, name, v, (nuint)value.Length, 0), $"setxattr {name} on {path}");
        }
    }

    public static void Check(int result, string what)
    {
        if (result == 0) return;
        Berth.Core.Interop.Sys.CheckIo(-1, what);
    }
}
