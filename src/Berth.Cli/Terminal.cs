using System.Runtime.InteropServices;

namespace Berth.Cli;

// The controlling terminal, as docker's CLI uses it for -t: raw mode on stdin while attached, and the window size.
internal static partial class Terminal
{
    private const string Libc = "libc";
    private const int TCSANOW = 0;
    private const nuint TIOCGWINSZ = 0x5413;

    // struct termios on Linux: 4 flag words, c_line, 32 control chars, 2 speeds; oversized, never inspected.
    private const int TermiosSize = 128;

    [LibraryImport(Libc, EntryPoint = "isatty")]
    private static partial int IsATty(int fd);

    [LibraryImport(Libc, EntryPoint = "tcgetattr", SetLastError = true)]
    private static partial int TcGetAttr(int fd, Span<byte> termios);

    [LibraryImport(Libc, EntryPoint = "tcsetattr", SetLastError = true)]
    private static partial int TcSetAttr(int fd, int action, ReadOnlySpan<byte> termios);

    [LibraryImport(Libc, EntryPoint = "cfmakeraw")]
    private static partial void CfMakeRaw(Span<byte> termios);

    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlWinSize(int fd, nuint request, Span<ushort> winsize);

    public static bool IsTerminal(int fd) => IsATty(fd) == 1;

    /// <summary>Rows and columns of the terminal on <paramref name="fd"/>; null when it is not a terminal.</summary>
    public static (int Rows, int Cols)? Size(int fd = 1)
    {
        Span<ushort> ws = stackalloc ushort[4];
        if (IoctlWinSize(fd, TIOCGWINSZ, ws) != 0 || ws[0] == 0 || ws[1] == 0) return null;
        return (ws[0], ws[1]);
    }

    /// <summary>Puts stdin's terminal in raw mode (keys go to the container as typed) until disposed.</summary>
    public static IDisposable? RawStdin()
    {
        var saved = new byte[TermiosSize];
        if (!IsTerminal(0) || TcGetAttr(0, saved) != 0) return null;
        var raw = (byte[])saved.Clone();
        CfMakeRaw(raw);
        if (TcSetAttr(0, TCSANOW, raw) != 0) return null;
        return new Restore(saved);
    }

    private sealed class Nothing : IDisposable
    {
        public void Dispose()
        {
        }
    }

    private sealed class Restore(byte[] saved) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) TcSetAttr(0, TCSANOW, saved);
        }
    }

    /// <summary>
    /// Sends the terminal's size now and whenever the window changes (SIGWINCH), like docker's resize monitor; the
    /// first send is retried a few times because the process may not have its terminal yet.
    /// </summary>
    public static IDisposable MonitorSize(Func<int, int, Task> resize)
    {
        async Task SendAsync(int attempts)
        {
            for (var i = 0; i < attempts; i++)
            {
                if (Size() is not { } s) return;
                try
                {
                    await resize(s.Rows, s.Cols).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (e is Client.DockerApiException or IOException or HttpRequestException)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * (i + 1))).ConfigureAwait(false);
                }
            }
        }
        _ = SendAsync(5);
        if (OperatingSystem.IsWindows())
        {
            return new Nothing();
        }
        return PosixSignalRegistration.Create(PosixSignal.SIGWINCH, ctx =>
        {
            ctx.Cancel = true;
            _ = SendAsync(1);
        });
    }
}
