using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Berth.Core;

namespace Berth.Runtime.Shim;

/// <summary>One chunk of container output; <see cref="Stream"/> is 1 (stdout) or 2 (stderr), as in Docker's stream framing.</summary>
public readonly record struct OutputChunk(int Stream, ReadOnlyMemory<byte> Data);

/// <summary>
/// A live attach to a container: output chunks in the order the container wrote them, and stdin. The output
/// sequence ends when the container exits (then <see cref="Exit"/> is set) or the shim goes away.
/// </summary>
public sealed class ShimAttachment : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    // Serialises stdin frames written by concurrent callers.
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    internal ShimAttachment(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>For an exec session, the process's pid on the host; 0 for a container attach.</summary>
    public int Pid { get; internal set; }

    /// <summary>Set once the output has ended because the container (or exec'd process) exited.</summary>
    public ExitStatus? Exit { get; private set; }

    public async IAsyncEnumerable<OutputChunk> ReadOutputAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        while (true)
        {
            (byte Type, byte[] Payload)? frame;
            try
            {
                frame = await ShimProtocol.ReadAsync(_stream, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                yield break;
            }
            if (frame is not { } f) yield break;
            switch (f.Type)
            {
                case ShimProtocol.Stdout: yield return new OutputChunk(1, f.Payload); break;
                case ShimProtocol.Stderr: yield return new OutputChunk(2, f.Payload); break;
                case ShimProtocol.Exit:
                    Exit = ExitStatus.FromJson(f.Payload);
                    yield break;
                case ShimProtocol.Error: throw ShimProtocol.DecodeError(f.Payload);
                default: throw new BerthException(ErrorKind.Unknown, $"unexpected shim frame '{(char)f.Type}'");
            }
        }
    }

    public async Task WriteStdinAsync(ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            while (data.Length > 0)
            {
                var n = Math.Min(data.Length, 64 * 1024);
                await ShimProtocol.WriteAsync(_stream, ShimProtocol.Stdin, data[..n], ct).ConfigureAwait(false);
                data = data[n..];
            }
        }
        finally { _writeLock.Release(); }
    }

    /// <summary>Resizes the terminal of what this session is attached to (the container's, or the exec's own).</summary>
    public async Task ResizeAsync(int rows, int cols, CancellationToken ct = default)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await ShimProtocol.WriteAsync(_stream, ShimProtocol.Resize, ShimProtocol.EncodeSize(rows, cols), ct).ConfigureAwait(false);
        }
        finally { _writeLock.Release(); }
    }

    /// <summary>
    /// Ends this client's stdin. The container's stdin closes when the container was created with StdinOnce, or
    /// always when <paramref name="force"/>.
    /// </summary>
    public async Task CloseStdinAsync(bool force = false, CancellationToken ct = default)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await ShimProtocol.WriteAsync(_stream, ShimProtocol.CloseStdin, new[] { force ? (byte)1 : (byte)0 }, ct).ConfigureAwait(false);
        }
        finally { _writeLock.Release(); }
    }

    public async ValueTask DisposeAsync()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        await _stream.DisposeAsync().ConfigureAwait(false);
        _writeLock.Dispose();
    }
}
