namespace Berth.Integration.Tests;

/// <summary>
/// A real pseudo-terminal for interactive tests: a tmux server on its own socket under the test daemon's root (so it
/// never touches anyone else's tmux, and leaves nothing in /tmp/tmux-UID), one window per command; keys are typed into
/// it and the screen is read back. Disposing kills the server and removes its socket.
/// </summary>
internal sealed class TmuxTerminal : IAsyncDisposable
{
    private readonly DaemonFixture _d;
    private readonly string _socket;
    private int _windows;

    public TmuxTerminal(DaemonFixture d, string name)
    {
        _d = d;
        _socket = Path.Combine(d.Root, $"tmux-{name}");
    }

    /// <summary>Runs <paramref name="command"/> (bash) in a new window of the given size; it prints EXITED=code when done.</summary>
    public async Task<string> OpenAsync(string command, int cols = 100, int rows = 30)
    {
        var window = $"w{_windows++}";
        var script = $"export DOCKER_HOST={_d.DockerHost}; {command}; echo EXITED=$?; sleep 120";
        var args = _windows == 1
            ? new[] { "-S", _socket, "new-session", "-d", "-s", "t", "-n", window, "-x", $"{cols}", "-y", $"{rows}", script }
            : new[] { "-S", _socket, "new-window", "-t", "t", "-n", window, script };
        var r = await _d.RunAsync("tmux", args, null, 30);
        Assert.True(r.ExitCode == 0, r.ToString());
        return window;
    }

    public async Task TypeAsync(string window, params string[] keys)
    {
        var r = await _d.RunAsync("tmux", ["-S", _socket, "send-keys", "-t", $"t:{window}", .. keys], null, 30);
        Assert.True(r.ExitCode == 0, r.ToString());
    }

    public async Task ResizeAsync(string window, int cols, int rows)
    {
        var r = await _d.RunAsync("tmux", ["-S", _socket, "resize-window", "-t", $"t:{window}", "-x", $"{cols}", "-y", $"{rows}"], null, 30);
        Assert.True(r.ExitCode == 0, r.ToString());
    }

    public async Task<string> ScreenAsync(string window) =>
        (await _d.RunAsync("tmux", ["-S", _socket, "capture-pane", "-p", "-t", $"t:{window}"], null, 30)).Stdout;

    /// <summary>Reads the screen until <paramref name="text"/> shows (bounded: about 15 s), and returns it.</summary>
    public async Task<string> WaitForAsync(string window, string text)
    {
        var screen = "";
        for (int i = 0; i < 150; i++)
        {
            screen = await ScreenAsync(window);
            if (screen.Contains(text, StringComparison.Ordinal)) return screen;
            await Task.Delay(100);
        }
        Assert.Fail($"\"{text}\" never appeared on the terminal:\n{screen}\n--- daemon log tail:\n{Tail(_d.DaemonLog)}");
        return screen;
    }

    private static string Tail(string s) => s.Length > 3000 ? s[^3000..] : s;

    public async ValueTask DisposeAsync()
    {
        if (_windows > 0) await _d.RunAsync("tmux", ["-S", _socket, "kill-server"], null, 30);
        File.Delete(_socket);
    }
}
