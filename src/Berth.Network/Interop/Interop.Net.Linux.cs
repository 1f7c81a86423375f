using System.Runtime.InteropServices;

namespace Berth.Network.Interop;

/// <summary>libc calls only networking needs (namespaces, interface ioctls); the shared ones live in Berth.Core's Sys.</summary>
internal static unsafe partial class NetSys
{
    private const string Libc = "libc";

    public const int CLONE_NEWNET = 0x40000000;
    public const int AF_INET = 2, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    public const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    public const short IFF_UP = 0x1;
    public const int O_RDONLY = 0, O_CLOEXEC = 0x80000;

    [LibraryImport(Libc, EntryPoint = "unshare", SetLastError = true)]
    public static partial int Unshare(int flags);

    [LibraryImport(Libc, EntryPoint = "setns", SetLastError = true)]
    public static partial int Setns(int fd, int nstype);

    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    public const int AF_NETLINK = 16, SOCK_RAW = 3, NETLINK_ROUTE = 0;

    public const int SOL_SOCKET = 1, SO_RCVTIMEO = 20;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timeval
    {
        public long Sec;
        public long Usec;
    }

    [LibraryImport(Libc, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, uint len);

    [LibraryImport(Libc, EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(int fd, byte* buf, nuint len, int flags, void* addr, uint addrLen);

    [LibraryImport(Libc, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buf, nuint len, int flags);

    /// <summary>struct sockaddr_nl; a zero pid addresses the kernel.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockaddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, ulong request, void* arg);

    /// <summary>struct ifreq as the SIOC[GS]IFFLAGS ioctls use it: a 16-byte name, then the flags.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    public struct IfReqFlags
    {
        public fixed byte Name[16];
        public short Flags;
    }
}
