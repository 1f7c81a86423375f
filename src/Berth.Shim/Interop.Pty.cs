using System.Runtime.InteropServices;
using Berth.Core;
using Berth.Core.Interop;

namespace Berth.Shim;

internal static unsafe partial class ShimSys
{
    private const int SOL_SOCKET = 1, SCM_RIGHTS = 1;
    private const nuint TIOCSWINSZ = 0x5414;

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Rows, Cols, XPixel, YPixel;
    }

    [LibraryImport(Libc, EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport(Libc, EntryPoint = "dup", SetLastError = true)]
    public static partial int Dup(int fd);

    /// <summary>
    /// Receives the pty master runc sends over <c>--console-socket</c>: one SCM_RIGHTS fd alongside the pty's name.
    /// </summary>
    public static int ReceiveFd(int socketFd)
    {
        const int DataSize = 4096, ControlSize = 64;
        byte* data = stackalloc byte[DataSize];
        byte* control = stackalloc byte[ControlSize];
        new Span<byte>(control, ControlSize).Clear();
        var iov = new IoVec { Base = data, Length = DataSize };
        var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlSize };
        nint n;
        for (int i = 0; ; i++)
        {
            n = RecvMsg(socketFd, &msg, 0);
            if (n >= 0 || Sys.Errno != Sys.EINTR || i > 100) break;
        }
        if (n < 0) Sys.CheckIo(-1, "recvmsg(console socket)");
        // struct cmsghdr { size_t len; int level; int type; } followed by the fds.
        nuint len = *(nuint*)control;
        int level = *(int*)(control + sizeof(nuint));
        int type = *(int*)(control + sizeof(nuint) + 4);
        if (msg.ControlLength < (nuint)(sizeof(nuint) + 8 + 4) || level != SOL_SOCKET || type != SCM_RIGHTS || len < (nuint)(sizeof(nuint) + 8 + 4))
            throw new BerthException(ErrorKind.Unknown, "runc did not send a terminal over the console socket");
        return *(int*)(control + sizeof(nuint) + 8);
    }

    public static void Resize(int ptyFd, ushort rows, ushort cols)
    {
        var ws = new WinSize { Rows = rows, Cols = cols };
        Sys.CheckIo(Ioctl(ptyFd, TIOCSWINSZ, &ws), "resize terminal");
    }
}
