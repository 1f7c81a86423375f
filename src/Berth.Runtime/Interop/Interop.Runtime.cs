using System.Runtime.InteropServices;

namespace Berth.Runtime.Interop;

internal static unsafe partial class RuntimeSys
{
    private const string Libc = "libc";

    // struct stat differs per arch, but st_dev (8 bytes) then st_ino (8 bytes) lead it on x86_64 and arm64 alike.
    private const int StatBufferSize = 256, InodeOffset = 8;

    [LibraryImport(Libc, EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, byte* buf);

    [LibraryImport(Libc, EntryPoint = "fstat", SetLastError = true)]
    private static partial int FStat(int fd, byte* buf);

    public const int RLIMIT_NOFILE = 7;

    [LibraryImport(Libc, EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, ulong* limits);

    /// <summary>The hard limit of <paramref name="resource"/> for this process, or null when unknown.</summary>
    public static ulong? HardLimit(int resource)
    {
        ulong* l = stackalloc ulong[2];
        return GetRlimit(resource, l) == 0 ? l[1] : null;
    }

    /// <summary>The inode at <paramref name="path"/>, or 0 when it does not exist.</summary>
    public static ulong InodeOf(string path)
    {
        byte* buf = stackalloc byte[StatBufferSize];
        return Stat(path, buf) == 0 ? *(ulong*)(buf + InodeOffset) : 0;
    }

    public static ulong InodeOf(SafeHandle file)
    {
        byte* buf = stackalloc byte[StatBufferSize];
        return FStat((int)file.DangerousGetHandle(), buf) == 0 ? *(ulong*)(buf + InodeOffset) : 0;
    }
}
