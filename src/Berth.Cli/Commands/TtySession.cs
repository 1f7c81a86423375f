namespace Berth.Cli.Commands;

// What -t needs around an attach, as docker's CLI does it: a terminal to read keys from, raw mode on it while
// attached, and the window size sent now and on every change. Only the real process touches its terminal.
internal sealed class TtySession : IDisposable
{
    private readonly IDisposable? _raw;
    private IDisposable? _size;
    private readonly bool _active;

    private TtySession(bool active, IDisposable? raw)
    {
        _active = active;
        _raw = raw;
    }

    /// <summary>docker's refusal of -it without a terminal on stdin (exit 1), before anything is created.</summary>
    public static void Require(CliContext ctx, bool tty, bool stdin)
    {
        if (tty && stdin && ctx.ForwardSignals && !Terminal.IsTerminal(0))
        {
            throw new ExitException(1, "the input device is not a TTY");
        }
    }

    /// <summary>The terminal's size for the create request's ConsoleSize; null when there is none.</summary>
    public static IReadOnlyList<int>? InitialSize(CliContext ctx, bool tty) =>
        tty && ctx.ForwardSignals && Terminal.Size() is { } s ? [s.Rows, s.Cols] : null;

    public static TtySession Begin(CliContext ctx, bool tty, bool stdin)
    {
        var active = tty && ctx.ForwardSignals;
        return new TtySession(active, active && stdin ? Terminal.RawStdin() : null);
    }

    /// <summary>Starts sending the window size (after the process has started, so it has a terminal to resize).</summary>
    public void FollowSize(Func<int, int, Task> resize)
    {
        if (_active && _size is null && Terminal.IsTerminal(1))
        {
            _size = Terminal.MonitorSize(resize);
        }
    }

    public void Dispose()
    {
        _size?.Dispose();
        _raw?.Dispose();
    }
}
