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

    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags, int mode);

    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, AT_EMPTY_PATH = 0x1000;

    /// <summary>
    /// Opens a regular file for reading without following a symlink at its last component and without blocking
    /// on a FIFO; anything but a regular file (device, FIFO, socket, symlink, directory) is refused: null.
    /// For files a container controls, which may be swapped for something else at any moment.
    /// </summary>
    public static FileStream? OpenRegularNoFollow(string path)
    {
        int fd = OpenNative(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
        if (fd < 0) return null;
        var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        StatX st;
        // What was opened is what is checked: fstat of the descriptor, not another lookup of the path.
        if (StatxNative(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &st) != 0 || (st.Mode & S_IFMT) != S_IFREG)
        {
            handle.Dispose();
            return null;
        }
        return new FileStream(handle, FileAccess.Read, 0);
    }

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

    /// <summary>
    /// chmod of the entry itself: a symlink swapped in at the last component is not followed (fchmodat2 with
    /// AT_SYMLINK_NOFOLLOW fails on it instead). Kernels before 6.6 get an lstat check right before a plain chmod.
    /// </summary>
    public static void Chmod(string path, uint mode)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            if (SyscallNative(SYS_fchmodat2, AT_FDCWD, (nint)p, (nint)mode, AT_SYMLINK_NOFOLLOW) == 0) return;
        }
        int errno = Marshal.GetLastPInvokeError();
        if (errno != ENOSYS) Fail(errno, $"chmod {path}");
        if (LStat(path) is { } st && (st.Mode & S_IFMT) == S_IFLNK)
            throw new BerthException(ErrorKind.InvalidArgument, $"chmod {path}: it is a symbolic link");
        Check(ChmodNative(path, mode), $"chmod {path}");
    }

    private const int ENOSYS = 38;
    private const nint SYS_openat2 = 437, SYS_fchmodat2 = 452;
    private const int O_NOCTTY = 0x100, O_DIRECTORY = 0x10000, O_PATH = 0x200000;
    public const ulong RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08;

    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static partial nint SyscallNative(nint number, nint a1, nint a2, nint a3, nint a4);

    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true)]
    private static partial int StatxFdNative(int dirfd, byte* path, int flags, uint mask, StatX* buf);

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    /// <summary>
    /// Opens an existing entry for reading without following a symlink at its last component and without blocking
    /// on a FIFO or device (O_NOFOLLOW|O_NONBLOCK). Null when it is gone or has turned into a symlink.
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle? OpenNoFollow(string path)
    {
        int fd = OpenNative(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
        if (fd >= 0) return new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        int errno = Marshal.GetLastPInvokeError();
        if (errno is 2 or 20 or 40 /* ELOOP */) return null;
        Fail(errno, $"open {path}");
        return null;
    }

    /// <summary>
    /// openat2 of <paramref name="relative"/> beneath the directory <paramref name="dirFd"/>, with no symlink followed
    /// in any component (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS): the kernel, not a string check, keeps it below.
    /// Opened as O_PATH: nothing is opened for I/O (no FIFO waits, no device driver runs) until the caller has
    /// checked what it is and calls <see cref="Reopen"/>. Null when it is gone or any component is (or became) a
    /// symlink.
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle? OpenBeneath(Microsoft.Win32.SafeHandles.SafeFileHandle dirFd, string relative)
    {
        var how = new OpenHow
        {
            Flags = (ulong)(O_PATH | O_NOFOLLOW | O_CLOEXEC),
            Resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        var bytes = System.Text.Encoding.UTF8.GetBytes(relative + "\0");
        nint fd;
        fixed (byte* p = bytes)
        {
            fd = SyscallNative(SYS_openat2, dirFd.DangerousGetHandle(), (nint)p, (nint)(&how), sizeof(OpenHow));
        }
        if (fd >= 0) return new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        int errno = Marshal.GetLastPInvokeError();
        if (errno is 2 or 20 or 40 /* ELOOP */ or 18 /* EXDEV: would leave the root */) return null;
        Fail(errno, $"openat2 {relative}");
        return null;
    }

    /// <summary>
    /// Opens the very inode an O_PATH handle refers to for reading (through /proc/self/fd, which names the open file,
    /// not a path that could have changed since).
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle Reopen(Microsoft.Win32.SafeHandles.SafeFileHandle pathHandle)
    {
        var proc = $"/proc/self/fd/{pathHandle.DangerousGetHandle()}";
        int fd = OpenNative(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
        if (fd < 0) Fail(Marshal.GetLastPInvokeError(), $"reopen {proc}");
        return new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Opens a directory as an O_PATH handle, for <see cref="OpenBeneath"/>.</summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenDirectoryPath(string path)
    {
        int fd = OpenNative(path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) Fail(Marshal.GetLastPInvokeError(), $"open {path}");
        return new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>fstat of an open file: what it really is, whatever its path says now.</summary>
    public static StatX FStat(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        StatX st;
        byte empty = 0;
        if (StatxFdNative((int)handle.DangerousGetHandle(), &empty, AT_EMPTY_PATH, STATX_BASIC_STATS, &st) != 0)
            Fail(Marshal.GetLastPInvokeError(), "fstat");
        return st;
    }

    /// <summary>True when two stats name the same inode on the same device.</summary>
    public static bool SameFile(in StatX a, in StatX b) =>
        a.Ino == b.Ino && a.DevMajor == b.DevMajor && a.DevMinor == b.DevMinor;

    private static void Fail(int errno, string what)
    {
        Marshal.SetLastPInvokeError(errno);
        Berth.Core.Interop.Sys.CheckIo(-1, what);
    }

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
