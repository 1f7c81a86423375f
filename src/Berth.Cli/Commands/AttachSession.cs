using Berth.Client;

namespace Berth.Cli.Commands;

// A hijacked attach: output is copied (demultiplexed unless TTY) to our stdout/stderr, our stdin is copied
// in and the write side half-closed at its EOF so the container sees end of input, like docker.
internal sealed class AttachSession : IAsyncDisposable
{
    private readonly HijackedConnection _connection;
    private readonly Task _output;

    private AttachSession(HijackedConnection connection, Task output)
    {
        _connection = connection;
        _output = output;
    }

    public static async Task<AttachSession> OpenAsync(CliContext ctx, string id, bool stdin, bool stdout, bool stderr, bool tty)
    {
        var result = await ctx.Client.ContainerAttachAsync(id, new ContainerAttachOptions { Stdin = stdin, Stdout = stdout, Stderr = stderr }).ConfigureAwait(false);
        return Start(ctx, result.Connection, stdin, tty);
    }

    public static AttachSession Start(CliContext ctx, HijackedConnection connection, bool stdin, bool tty)
    {
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
            _ = Task.Run(async () =>
            {
                try
                {
                    await ctx.Stdin.CopyToAsync(connection.Stream).ConfigureAwait(false);
                    await connection.Stream.FlushAsync().ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // The connection closed first (container exited): nothing more to send.
                }
                catch (ObjectDisposedException)
                {
                }
                connection.CloseWrite();
            });
        }
        return new AttachSession(connection, output);
    }

    public async Task WaitOutputAsync()
    {
        try
        {
            await _output.ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The daemon dropped the connection; the exit status still tells the outcome.
        }
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
