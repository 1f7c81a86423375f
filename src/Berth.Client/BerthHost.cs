using System.Net;
using System.Net.Sockets;

namespace Berth.Client;

// Where the daemon listens: unix:///path or tcp://host:port (DOCKER_HOST syntax).
public sealed record BerthHost(string Raw, string? SocketPath, string? TcpHost, int TcpPort)
{
    public const string Default = "unix:///run/berth/berth.sock";

    public bool IsUnix => SocketPath is not null;

    // -H wins, then BERTH_HOST, then DOCKER_HOST, then the default socket.
    public static BerthHost Resolve(string? flag, Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        var raw = flag;
        if (string.IsNullOrEmpty(raw))
        {
            raw = env("BERTH_HOST");
        }
        if (string.IsNullOrEmpty(raw))
        {
            raw = env("DOCKER_HOST");
        }
        return Parse(string.IsNullOrEmpty(raw) ? Default : raw);
    }

    public static BerthHost Parse(string raw)
    {
        if (raw.StartsWith("unix://", StringComparison.Ordinal))
        {
            var path = raw["unix://".Length..];
            if (path.Length == 0)
            {
                throw new ArgumentException($"invalid host: {raw}");
            }
            return new BerthHost(raw, path, null, 0);
        }
        if (raw.StartsWith('/'))
        {
            return new BerthHost("unix://" + raw, raw, null, 0);
        }
        var rest = raw.StartsWith("tcp://", StringComparison.Ordinal) ? raw["tcp://".Length..]
            : raw.StartsWith("http://", StringComparison.Ordinal) ? raw["http://".Length..]
            : throw new ArgumentException($"unable to parse docker host `{raw}`");
        rest = rest.TrimEnd('/');
        var colon = rest.LastIndexOf(':');
        var host = colon > 0 ? rest[..colon] : rest;
        var port = colon > 0 && int.TryParse(rest.AsSpan(colon + 1), out var p) ? p : 2375;
        if (host.Length == 0)
        {
            host = "127.0.0.1";
        }
        return new BerthHost(raw, null, host.Trim('[', ']'), port);
    }

    internal async Task<Socket> ConnectAsync(CancellationToken ct)
    {
        Socket socket;
        EndPoint ep;
        if (SocketPath is not null)
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            ep = new UnixDomainSocketEndPoint(SocketPath);
        }
        else
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            ep = IPAddress.TryParse(TcpHost, out var ip) ? new IPEndPoint(ip, TcpPort) : new DnsEndPoint(TcpHost!, TcpPort);
        }
        try
        {
            await socket.ConnectAsync(ep, ct).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new DaemonUnreachableException(Raw, e);
        }
    }

    internal string HostHeader => SocketPath is not null ? "api.moby.localhost" : $"{TcpHost}:{TcpPort}";
}
