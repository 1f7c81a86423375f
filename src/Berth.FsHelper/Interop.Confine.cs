using System.Runtime.InteropServices;
using System.Text;
using Berth.Core;

namespace Berth.FsHelper;

/// <summary>The kernel calls that confine the helper: a private mount namespace, detached bind mounts, chroot.</summary>
internal static unsafe partial class Confine
{
    private const string Libc = "libc";
    private const int CLONE_NEWNS = 0x20000;
    private const int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, AT_RECURSIVE = 0x8000, AT_SYMLINK_NOFOLLOW = 0x100;
    private const int OPEN_TREE_CLONE = 1, OPEN_TREE_CLOEXEC = 0x80000, MOVE_MOUNT_F_EMPTY_PATH = 4;
    private const ulong MOUNT_ATTR_RDONLY = 1, MOUNT_ATTR_NOSUID = 2, MOUNT_ATTR_NODEV = 4;
    private const nint SYS_open_tree = 428, SYS_move_mount = 429, SYS_mount_setattr = 442;
    private const uint STATX_MNT_ID = 0x1000;
    public const int EROFS = 30, EACCES = 13, EPERM = 1;

    [LibraryImport(Libc, EntryPoint = "unshare", SetLastError = true)]
    private static partial int UnshareNative(int flags);

    [LibraryImport(Libc, EntryPoint = "chroot", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChrootNative(string path);

    [LibraryImport(Libc, EntryPoint = "chdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChdirNative(string path);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    private static partial int CloseNative(int fd);

    [LibraryImport(Libc, EntryPoint = "faccessat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FaccessatNative(int dirfd, string path, int mode, int flags);

    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxNative(int dirfd, string path, int flags, uint mask, byte* buf);

    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static partial nint Syscall5(nint number, nint a1, nint a2, nint a3, nint a4, nint a5);

    [StructLayout(LayoutKind.Sequential)]
    private struct MountAttr
    {
        public ulong AttrSet, AttrClr, Propagation, UsernsFd;
    }

    private static int Errno => Marshal.GetLastPInvokeError();

    private static void Check(nint r, string what)
    {
        if (r >= 0) return;
        throw new ConfineException(Errno, what);
    }

    /// <summary>
    /// unshare(CLONE_NEWNS) for the calling thread: the kernel adds CLONE_FS and gives this thread alone a copy of
    /// the fs_struct, so the chroot that follows moves this thread's root only (the runtime's other threads keep
    /// theirs and never do path-based file work here).
    /// </summary>
    public static void UnshareMountNamespace()
    {
        Check(UnshareNative(CLONE_NEWNS), "unshare(CLONE_NEWNS)");
        // Nothing this namespace mounts may propagate back to the host's.
        Check(Berth.Core.Interop.Sys.Mount(null, "/", null, Berth.Core.Interop.Sys.MS_REC | Berth.Core.Interop.Sys.MS_PRIVATE, null), "make / rprivate");
    }

    /// <summary>
    /// A detached recursive copy of the mount tree at <paramref name="source"/> (a host path), read-only if asked.
    /// Always nodev and nosuid: a device node the container made (it may mknod) cannot be opened through it, so a
    /// node swapped in where a regular file was is never opened with its side effects.
    /// </summary>
    public static int CloneTree(string source, bool readOnly)
    {
        var bytes = Encoding.UTF8.GetBytes(source + "\0");
        nint fd;
        fixed (byte* p = bytes)
        {
            fd = Syscall5(SYS_open_tree, AT_FDCWD, (nint)p, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE, 0, 0);
        }
        Check(fd, $"open_tree {source}");
        {
            var attr = new MountAttr { AttrSet = MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | (readOnly ? MOUNT_ATTR_RDONLY : 0) };
            byte empty = 0;
            var r = Syscall5(SYS_mount_setattr, fd, (nint)(&empty), AT_EMPTY_PATH | AT_RECURSIVE, (nint)(&attr), sizeof(MountAttr));
            if (r < 0)
            {
                int e = Errno;
                CloseNative((int)fd);
                throw new ConfineException(e, $"mount_setattr {source}");
            }
        }
        return (int)fd;
    }

    /// <summary>Attaches a detached tree at <paramref name="target"/>, a path resolved by the kernel from this thread's root.</summary>
    public static void AttachTree(int fd, string target)
    {
        var bytes = Encoding.UTF8.GetBytes(target + "\0");
        byte empty = 0;
        fixed (byte* p = bytes)
        {
            Check(Syscall5(SYS_move_mount, fd, (nint)(&empty), AT_FDCWD, (nint)p, MOVE_MOUNT_F_EMPTY_PATH), $"move_mount onto {target}");
        }
    }

    public static void Close(int fd) => CloseNative(fd);

    public static void ChrootHere(string root)
    {
        Check(ChrootNative(root), $"chroot {root}");
        Check(ChdirNative("/"), "chdir /");
    }

    /// <summary>The mount ID of the mount holding <paramref name="path"/> (following it).</summary>
    public static ulong MountId(string path)
    {
        var buf = stackalloc byte[256];
        Check(StatxNative(AT_FDCWD, path, 0, STATX_MNT_ID, buf), $"statx {path}");
        return *(ulong*)(buf + 0x90);
    }

    /// <summary>errno of access(path, W_OK): EROFS for a read-only mount; 0 when writable.</summary>
    public static int WriteAccess(string path) => FaccessatNative(AT_FDCWD, path, 2 /* W_OK */, 0) == 0 ? 0 : Errno;
}

/// <summary>A failed kernel call while confining, with its errno.</summary>
internal sealed class ConfineException(int errno, string what)
    : Exception($"{what}: {Marshal.GetPInvokeErrorMessage(errno)}")
{
    public int Errno => errno;
}
