using System.Net.Sockets;

namespace Berth.Shim;

/// <summary>The UNIX socket runc's <c>--console-socket</c> connects to, to hand over a pty master.</summary>
internal sealed class ConsoleSocket : IDisposable
{
    private readonly Socket _listener;
    public string Path { get; }

    private ConsoleSocket(Socket listener, string path)
    {
        _listener = listener;
        Path = path;
    }

    public static ConsoleSocket Listen(string path)
    {
        try { File.Delete(path); } catch (IOException) { }
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Bind(new UnixDomainSocketEndPoint(path));
            s.Listen(1);
        }
        catch
        {
            s.Dispose();
            throw;
        }
        return new ConsoleSocket(s, path);
    }

    /// <summary>Accepts runc's one connection and returns the fd it sends; fails when the socket is disposed first.</summary>
    public Task<int> BeginReceive() => Task.Factory.StartNew(() =>
    {
        using var conn = _listener.Accept();
        return ShimSys.ReceiveFd((int)conn.SafeHandle.DangerousGetHandle());
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public void Dispose()
    {
        _listener.Dispose();
        try { File.Delete(Path); } catch (IOException) { }
    }
}
