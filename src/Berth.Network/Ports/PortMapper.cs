using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Berth.Core;
using Berth.Network.Firewall;

namespace Berth.Network.Ports;

/// <summary>
/// Publishes ports the Docker way without a userland proxy: each host port is reserved by a socket the daemon holds
/// bound (TCP also listening, so no later listener can share it) for as long as the container runs, which makes a
/// port in use a clear error before anything else is set up; the traffic itself is DNATed by the kernel
/// (<see cref="NftPortRules"/>). Publish and unpublish come in pairs per endpoint.
/// </summary>
internal sealed class PortMapper
{
    private readonly IFirewall _firewall;
    private readonly Lock _lock = new(); // guards _held and _cursor
    private readonly Dictionary<string, Held> _held = new(StringComparer.Ordinal);
    private int _cursor;
    private readonly Action<string, string> _prepare;

    private sealed record Held(IReadOnlyList<PublishedPort> Ports, List<Socket> Sockets);

    /// <param name="prepare">
    /// Readies (bridge, host veth) for DNAT from loopback and for hairpin; tests that have no bridge pass a no-op.
    /// </param>
    public PortMapper(IFirewall firewall, Action<string, string>? prepare = null)
    {
        _firewall = firewall;
        _prepare = prepare ?? PrepareKernel;
    }

    /// <summary>The kernel's ephemeral range (net.ipv4.ip_local_port_range), where random host ports come from.</summary>
    public static (int Low, int High) EphemeralRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var lo) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var hi)
                && lo is > 0 and <= 65535 && hi >= lo && hi <= 65535)
                return (lo, hi);
        }
        catch (IOException) { }
        return (32768, 60999);
    }

    /// <summary>
    /// Reserves a host port for each request and installs the rules; all or nothing. The result is what the daemon
    /// records and shows (random ports resolved, "" host address shown as 0.0.0.0).
    /// </summary>
    public async Task<IReadOnlyList<PublishedPort>> PublishAsync(EndpointRecord ep, string bridge, string subnet, IReadOnlyList<PortRequest> requests, CancellationToken ct)
    {
        if (requests.Count == 0) return [];
        var ports = new List<PublishedPort>();
        var sockets = new List<Socket>();
        try
        {
            lock (_lock)
            {
                if (_held.ContainsKey(ep.EndpointId))
                    throw BerthException.Conflict($"endpoint {ep.EndpointId} already has published ports");
                foreach (var r in requests)
                {
                    var (socket, port) = Reserve(r);
                    sockets.Add(socket);
                    ports.Add(new PublishedPort
                    {
                        EndpointId = ep.EndpointId,
                        Proto = r.Proto,
                        HostIp = r.HostIp.Length == 0 ? "0.0.0.0" : r.HostIp,
                        HostPort = port,
                        ContainerIp = ep.IPv4,
                        ContainerPort = r.ContainerPort,
                        Bridge = bridge,
                        Subnet = subnet,
                    });
                }
                _held[ep.EndpointId] = new Held(ports, sockets);
            }
            _prepare(bridge, ep.HostVeth);
            await _firewall.AddPortsAsync(ep.EndpointId, ports, ct).ConfigureAwait(false);
            return ports;
        }
        catch
        {
            lock (_lock)
            {
                if (_held.TryGetValue(ep.EndpointId, out var h) && ReferenceEquals(h.Sockets, sockets)) _held.Remove(ep.EndpointId);
            }
            foreach (var s in sockets) s.Dispose();
            throw;
        }
    }

    /// <summary>Removes the rules of the endpoint's ports, then frees the ports; an endpoint without any is not an error.</summary>
    public async Task UnpublishAsync(string endpointId, CancellationToken ct)
    {
        Held? held;
        lock (_lock) _held.Remove(endpointId, out held);
        try
        {
            // Even without a reservation here: a restored endpoint whose sockets could not be taken again has rules.
            await _firewall.RemovePortsAsync(endpointId, ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var s in held?.Sockets ?? []) s.Dispose();
        }
    }

    /// <summary>
    /// Daemon start, before the firewall's first apply: takes the ports of live-restored endpoints again and puts their
    /// rules into the model (everything else the table held is dropped by that apply).
    /// </summary>
    public void Restore(IEnumerable<PublishedPort> ports)
    {
        var byEndpoint = ports.GroupBy(p => p.EndpointId, StringComparer.Ordinal).ToList();
        lock (_lock)
        {
            foreach (var g in byEndpoint)
            {
                var sockets = new List<Socket>();
                foreach (var p in g)
                {
                    // Best effort: the rules matter more than the reservation, and the port was ours a moment ago.
                    if (TryBind(p.Proto, IPAddress.Parse(p.HostIp), p.HostPort, out var s, out _)) sockets.Add(s!);
                }
                _held[g.Key] = new Held(g.ToList(), sockets);
            }
        }
        _firewall.SeedPorts(byEndpoint.Select(g => new KeyValuePair<string, IReadOnlyList<PublishedPort>>(g.Key, g.ToList())));
    }

    // Caller holds _lock (the cursor and the choice of a port are one step).
    private (Socket Socket, int Port) Reserve(PortRequest r)
    {
        var ip = r.HostIp.Length == 0 ? IPAddress.Any : IPAddress.Parse(r.HostIp);
        var shownIp = r.HostIp.Length == 0 ? "0.0.0.0" : r.HostIp;
        if (r.HostPortStart != 0 && r.HostPortStart == r.HostPortEnd)
        {
            if (TryBind(r.Proto, ip, r.HostPortStart, out var s, out var error)) return (s!, r.HostPortStart);
            throw BindFailed(shownIp, r.HostPortStart, error!);
        }

        int lo, hi;
        if (r.HostPortStart == 0) (lo, hi) = EphemeralRange();
        else (lo, hi) = (r.HostPortStart, r.HostPortEnd);
        int count = hi - lo + 1;
        // Like Docker's allocator: onward from the last port handed out, so a port just freed is not reused at once.
        int start = _cursor >= lo && _cursor <= hi ? _cursor - lo : 0;
        for (int i = 0; i < count; i++)
        {
            int port = lo + (start + i) % count;
            if (TryBind(r.Proto, ip, port, out var s, out _))
            {
                _cursor = port + 1;
                return (s!, port);
            }
        }
        throw BerthException.Conflict(r.HostPortStart == 0
            ? $"Bind for {shownIp}:0 failed: all ports are allocated (range {lo}-{hi})"
            : $"Bind for {shownIp}:{lo}-{hi} failed: all ports are allocated");
    }

    private static BerthException BindFailed(string ip, int port, SocketException e) => e.SocketErrorCode == SocketError.AddressAlreadyInUse
        ? BerthException.Conflict($"Bind for {ip}:{port} failed: port is already allocated")
        : BerthException.Invalid($"Bind for {ip}:{port} failed: {e.Message.ToLowerInvariant()}");

    internal static bool TryBind(string proto, IPAddress ip, int port, out Socket? socket, out SocketException? error)
    {
        var tcp = proto == "tcp";
        var s = new Socket(AddressFamily.InterNetwork, tcp ? SocketType.Stream : SocketType.Dgram, tcp ? ProtocolType.Tcp : ProtocolType.Udp);
        try
        {
            s.Bind(new IPEndPoint(ip, port));
            // A listening socket conflicts with every later bind of the port, SO_REUSEADDR or not. Nothing reaches
            // it: traffic for the port is DNATed before the socket lookup.
            if (tcp) s.Listen(1);
            socket = s;
            error = null;
            return true;
        }
        catch (SocketException e)
        {
            s.Dispose();
            socket = null;
            error = e;
            return false;
        }
    }

    private static void PrepareKernel(string bridge, string hostVeth)
    {
        // Without route_localnet the kernel drops the host's 127.0.0.1-sourced connections DNATed into the bridge as
        // martians. Hairpin on the container's port: with br_netfilter, a container's connection to its own published
        // port is DNATed in the bridge and must go back out of the port it came in by.
        SetFlag($"/proc/sys/net/ipv4/conf/{bridge}/route_localnet", $"enable route_localnet on {bridge}");
        SetFlag($"/sys/class/net/{hostVeth}/brport/hairpin_mode", $"enable hairpin mode on {hostVeth}");
    }

    private static void SetFlag(string path, string what)
    {
        try
        {
            if (File.ReadAllText(path).Trim() != "1") File.WriteAllText(path, "1");
        }
        catch (IOException e)
        {
            throw new BerthException(ErrorKind.Unknown, $"{what}: {e.Message}", e);
        }
    }
}
