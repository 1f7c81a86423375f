using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;
using Berth.Runtime.Shim;

namespace Berth.Daemon.Routers;

/// <summary>
/// Joins a client's connection to a shim session (a container attach or an exec): output to the client, raw with a
/// terminal and in Docker's stream framing without; stdin to the process, watched for the detach keys.
/// </summary>
internal static class AttachStreams
{
    /// <summary>Why <see cref="PumpAsync"/> returned.</summary>
    public enum Outcome
    {
        /// <summary>The session's output ended: the process exited (or the shim went away).</summary>
        Ended,

        /// <summary>The client typed the detach keys; the process runs on.</summary>
        Detached,

        /// <summary>The client's connection failed; the process runs on.</summary>
        ClientGone,
    }

    /// <param name="closeStdinOnEof">
    /// The client's end of input closes the process's stdin (dockerd: stdin-once containers and every exec), except with
    /// a terminal, which has no end of input: a client that goes away then leaves the shell running.
    /// </param>
    /// <returns>
    /// Why it returned, and the session's output still being read (and dropped) when it was not <see cref="Outcome.Ended"/>:
    /// it completes when the process exits or the caller disposes the session.
    /// </returns>
    public static async Task<(Outcome Outcome, Task Remaining)> PumpAsync(Stream conn, ShimAttachment session, bool tty, bool stdin, bool closeStdinOnEof, DetachKeys keys)
    {
        var ct = CancellationToken.None;
        var detached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A terminal's client sends no end of input of its own: its connection ending means the client is gone.
        if (stdin) _ = RelayStdinAsync(conn, session, closeStdinOnEof && !tty, keys.NewScanner(), detached, tty ? gone : null);
        var output = Task.Run(async () =>
        {
            // One reader for the whole session, so no shim frame is ever cut; after a detach its output is dropped.
            await foreach (var chunk in session.ReadOutputAsync(ct))
            {
                if (detached.Task.IsCompleted || gone.Task.IsCompleted) continue;
                try
                {
                    if (tty) await conn.WriteAsync(chunk.Data, ct);
                    else await StreamFraming.WriteFrameAsync(conn, (byte)chunk.Stream, chunk.Data, ct);
                    await conn.FlushAsync(ct);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    gone.TrySetResult();
                }
            }
        });
        var first = await Task.WhenAny(output, detached.Task, gone.Task);
        if (first == output)
        {
            await output;
            return (Outcome.Ended, Task.CompletedTask);
        }
        return (first == detached.Task ? Outcome.Detached : Outcome.ClientGone, output);
    }

    private static async Task RelayStdinAsync(Stream conn, ShimAttachment session, bool closeOnEof, DetachKeys.Scanner scanner, TaskCompletionSource detached, TaskCompletionSource? goneAtEof)
    {
        var ct = CancellationToken.None;
        var buf = new byte[32 * 1024];
        var pass = new List<byte>(buf.Length);
        try
        {
            int n;
            while ((n = await conn.ReadAsync(buf, ct)) > 0)
            {
                pass.Clear();
                bool done = scanner.Feed(buf.AsSpan(0, n), pass);
                if (pass.Count > 0) await session.WriteStdinAsync(pass.ToArray(), ct);
                if (done)
                {
                    detached.TrySetResult();
                    return;
                }
            }
            if (closeOnEof) await session.CloseStdinAsync(force: false, ct);
            goneAtEof?.TrySetResult();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or BerthException)
        {
            goneAtEof?.TrySetResult();
        }
    }
}
