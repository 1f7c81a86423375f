using Berth.Api;
using Berth.Client;

namespace Berth.Cli.Commands;

// A hijacked attach: output is copied (demultiplexed unless TTY) to our stdout/stderr, our stdin is copied
// in and the write side half-closed at its EOF so the container sees end of input, like docker. Typing the
// detach keys (default Ctrl-P Ctrl-Q) ends the session and leaves the container running.
internal sealed class AttachSession : IAsyncDisposable
{
    private readonly HijackedConnection _connection;
    private readonly Task _output;
    private readonly TaskCompletionSource _detached;

    private AttachSession(HijackedConnection connection, Task output, TaskCompletionSource detached)
    {
        _connection = connection;
        _output = output;
        _detached = detached;
    }

    public static async Task<AttachSession> OpenAsync(CliContext ctx, string id, bool stdin, bool stdout, bool stderr, bool tty, string? detachKeys = null)
    {
        var keys = ParseKeys(detachKeys);
        var result = await ctx.Client.ContainerAttachAsync(id, new ContainerAttachOptions { Stdin = stdin, Stdout = stdout, Stderr = stderr, DetachKeys = detachKeys }).ConfigureAwait(false);
        return Start(ctx, result.Connection, stdin, tty, keys);
    }

    /// <summary>docker's check, before anything is created: a bad --detach-keys is the user's error.</summary>
    public static DetachKeys ParseKeys(string? detachKeys)
    {
        try
        {
            return DetachKeys.Parse(detachKeys);
        }
        catch (FormatException e)
        {
            throw new ExitException(125, $"{App.Name}: {e.Message}");
        }
    }

    public static AttachSession Start(CliContext ctx, HijackedConnection connection, bool stdin, bool tty, DetachKeys? keys = null)
    {
        var detached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = Task.Run(async () =>
        {
            if (tty)
            {
                await connection.Stream.CopyToAsync(ctx.StdoutStream).ConfigureAwait(false);
            }
            else
            {
                await StdCopy.DemultiplexAsync(connection.Stream, ctx.StdoutStream, ctx.StderrStream).ConfigureAwait(false);
            }
            await ctx.StdoutStream.FlushAsync().ConfigureAwait(false);
        });
        if (stdin)
        {
            // Not awaited: a container may exit while our stdin is still open; the process ends anyway.
            _ = Task.Run(() => CopyStdinAsync(ctx, connection, (keys ?? DetachKeys.Parse(null)).NewScanner(), detached));
        }
        return new AttachSession(connection, output, detached);
    }

    private static async Task CopyStdinAsync(CliContext ctx, HijackedConnection connection, DetachKeys.Scanner scanner, TaskCompletionSource detached)
    {
        var buf = new byte[32 * 1024];
        var pass = new List<byte>(buf.Length);
        try
        {
            int n;
            while ((n = await ctx.Stdin.ReadAsync(buf).ConfigureAwait(false)) > 0)
            {
                pass.Clear();
                var done = scanner.Feed(buf.AsSpan(0, n), pass);
                if (pass.Count > 0)
                {
                    await connection.Stream.WriteAsync(pass.ToArray()).ConfigureAwait(false);
                    await connection.Stream.FlushAsync().ConfigureAwait(false);
                }
                if (done)
                {
                    // No half-close: the container's stdin stays open for the next attach.
                    detached.TrySetResult();
                    return;
                }
            }
        }
        catch (IOException)
        {
            // The connection closed first (container exited): nothing more to send.
        }
        catch (ObjectDisposedException)
        {
        }
        connection.CloseWrite();
    }

    /// <summary>Waits for the output to end; true when the user detached instead.</summary>
    public async Task<bool> WaitOutputAsync()
    {
        try
        {
            var first = await Task.WhenAny(_output, _detached.Task).ConfigureAwait(false);
            if (first == _detached.Task)
            {
                return true;
            }
            await _output.ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The daemon dropped the connection; the exit status still tells the outcome.
        }
        return false;
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
