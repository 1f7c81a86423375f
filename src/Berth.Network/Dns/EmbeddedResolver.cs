using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Berth.Network.Linux;

namespace Berth.Network.Dns;

/// <summary>What the resolver asks the controller: the addresses a name has for the asking container, null when unknown.</summary>
internal delegate IReadOnlyList<uint>? NameLookup(string containerId, string name);

/// <summary>Reverse lookup: the name of an address on the asking container's networks, null when not ours.</summary>
internal delegate string? AddressLookup(string containerId, uint address);

/// <summary>
/// Docker's embedded DNS for one sandbox: UDP and TCP sockets bound to 127.0.0.11:53 inside the container's network
/// namespace (created there by a thread that enters it and leaves again), served by the daemon. Names of containers
/// on the asking container's user-defined networks are answered here; other names with a dot are forwarded to the
/// upstream servers from the daemon's own namespace; other single-label names are NXDOMAIN, never sent upstream.
/// </summary>
internal sealed class EmbeddedResolver : IDisposable
{
    public static readonly IPAddress Address = IPAddress.Parse("127.0.0.11");
    private static readonly TimeSpan UpstreamTimeout = TimeSpan.FromSeconds(3);

    private readonly string _containerId;
    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly NameLookup _lookup;
    private readonly AddressLookup _reverse;
    private readonly Func<IReadOnlyList<IPEndPoint>> _upstreams;
    private readonly CancellationTokenSource _stop = new();

    private EmbeddedResolver(string containerId, Socket udp, Socket tcp, NameLookup lookup, AddressLookup reverse, Func<IReadOnlyList<IPEndPoint>> upstreams)
    {
        _containerId = containerId;
        _udp = udp;
        _tcp = tcp;
        _lookup = lookup;
        _reverse = reverse;
        _upstreams = upstreams;
    }

    public static async Task<EmbeddedResolver> StartAsync(string containerId, string netnsPath, NameLookup lookup, AddressLookup reverse,
        Func<IReadOnlyList<IPEndPoint>> upstreams)
    {
        var (udp, tcp) = await NamespaceThread.RunAsync(netnsPath, () =>
        {
            var u = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            var t = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                u.Bind(new IPEndPoint(Address, 53));
                t.Bind(new IPEndPoint(Address, 53));
                t.Listen(16);
            }
            catch
            {
                u.Dispose();
                t.Dispose();
                throw;
            }
            return (u, t);
        }).ConfigureAwait(false);
        var r = new EmbeddedResolver(containerId, udp, tcp, lookup, reverse, upstreams);
        _ = r.ServeUdpAsync();
        _ = r.ServeTcpAsync();
        return r;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _udp.Dispose();
        _tcp.Dispose();
    }

    private async Task ServeUdpAsync()
    {
        var buf = new byte[4096];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult got;
            try
            {
                got = await _udp.ReceiveFromAsync(buf, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException) { continue; }
            var query = buf.AsSpan(0, got.ReceivedBytes).ToArray();
            var client = got.RemoteEndPoint;
            // Each query on its own: a slow upstream must not hold up names we answer at once.
            _ = Task.Run(async () =>
            {
                var answer = await AnswerAsync(query).ConfigureAwait(false);
                if (answer is null) return;
                try { await _udp.SendToAsync(answer, SocketFlags.None, client, _stop.Token).ConfigureAwait(false); }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
            });
        }
    }

    private async Task ServeTcpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket conn;
            try { conn = await _tcp.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException) { continue; }
            _ = Task.Run(() => ServeTcpConnectionAsync(conn));
        }
    }

    private async Task ServeTcpConnectionAsync(Socket conn)
    {
        using (conn)
        using (var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
        {
            try
            {
                var len = new byte[2];
                // A few queries per connection at most, each with a bounded wait.
                for (int i = 0; i < 16; i++)
                {
                    idle.CancelAfter(TimeSpan.FromSeconds(10));
                    if (!await ReadExactlyAsync(conn, len, idle.Token).ConfigureAwait(false)) return;
                    var msg = new byte[BinaryPrimitives.ReadUInt16BigEndian(len)];
                    if (!await ReadExactlyAsync(conn, msg, idle.Token).ConfigureAwait(false)) return;
                    var answer = await AnswerAsync(msg).ConfigureAwait(false);
                    if (answer is null) return;
                    var framed = new byte[answer.Length + 2];
                    BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)answer.Length);
                    answer.CopyTo(framed, 2);
                    await conn.SendAsync(framed, SocketFlags.None, idle.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket s, byte[] buf, CancellationToken ct)
    {
        int got = 0;
        while (got < buf.Length)
        {
            int n = await s.ReceiveAsync(buf.AsMemory(got), SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0) return false;
            got += n;
        }
        return true;
    }

    /// <summary>The answer to one query message; null to drop it (not a query at all).</summary>
    internal async Task<byte[]?> AnswerAsync(byte[] message)
    {
        if (!DnsMessage.TryParseQuery(message, out var q) || q is null)
            return DnsMessage.PeekId(message) is { } id && message.Length >= 4 && (message[2] & 0x80) == 0
                ? DnsMessage.WriteError(id, (ushort)((message[2] << 8) | message[3]), DnsMessage.RcodeFormErr) : null;
        if (q.IsResponse) return null;
        if (q.Opcode != 0) return DnsMessage.WriteError(q.Id, q.Flags, DnsMessage.RcodeNotImp);
        var local = AnswerLocally(q);
        if (local is not null) return local;
        return await ForwardAsync(q, message).ConfigureAwait(false);
    }

    /// <summary>Answers names of our containers (and their reverse names); null when the query is for someone else.</summary>
    internal byte[]? AnswerLocally(DnsQuery q)
    {
        var name = q.Question.Name.TrimEnd('.').ToLowerInvariant();
        if (q.Question.Class != DnsMessage.ClassIn) return null;
        if (q.Question.Type == DnsMessage.TypePtr && TryParseReverse(name, out var address))
        {
            var ptr = _reverse(_containerId, address);
            return ptr is null ? null : DnsMessage.WriteAnswer(q, DnsMessage.RcodeNoError, [], ptrName: ptr);
        }
        var addresses = _lookup(_containerId, name);
        if (addresses is not null)
            return DnsMessage.WriteAnswer(q, DnsMessage.RcodeNoError, q.Question.Type == DnsMessage.TypeA ? addresses : []);
        // Single-label names are container names or nothing: never sent upstream (as with systemd-resolved's default).
        if (!name.Contains('.')) return DnsMessage.WriteAnswer(q, DnsMessage.RcodeNxDomain, []);
        return null;
    }

    private async Task<byte[]> ForwardAsync(DnsQuery q, byte[] message)
    {
        foreach (var server in _upstreams())
        {
            try
            {
                using var s = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(UpstreamTimeout);
                await s.ConnectAsync(server, timeout.Token).ConfigureAwait(false);
                await s.SendAsync(message, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                var buf = new byte[4096];
                // Skip anything that is not the answer to this query (bounded by the timeout).
                while (true)
                {
                    int n = await s.ReceiveAsync(buf, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (n >= 12 && BinaryPrimitives.ReadUInt16BigEndian(buf) == q.Id) return buf.AsSpan(0, n).ToArray();
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException) { /* next server */ }
        }
        return DnsMessage.WriteError(q.Id, q.Flags, DnsMessage.RcodeServFail);
    }

    private static bool TryParseReverse(string name, out uint address)
    {
        address = 0;
        const string suffix = ".in-addr.arpa";
        if (!name.EndsWith(suffix, StringComparison.Ordinal)) return false;
        var parts = name[..^suffix.Length].Split('.');
        if (parts.Length != 4) return false;
        Array.Reverse(parts);
        return Ipam.Ipv4.TryParse(string.Join('.', parts), out address);
    }

    /// <summary>The nameservers of a resolv.conf (the host's), port 53.</summary>
    public static List<IPEndPoint> ReadResolvConf(string path)
    {
        var list = new List<IPEndPoint>();
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (f is ["nameserver", var ip, ..] && IPAddress.TryParse(ip, out var a)) list.Add(new IPEndPoint(a, 53));
            }
        }
        catch (IOException) { }
        return list;
    }
}
