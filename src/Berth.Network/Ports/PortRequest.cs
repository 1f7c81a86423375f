using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Berth.Core;

namespace Berth.Network;

/// <summary>
/// One published port as the daemon asked for it: container port and protocol, host address ("" = every IPv4
/// address), host port range (0..0 = any port from the kernel's ephemeral range).
/// </summary>
public sealed record PortRequest
{
    public required int ContainerPort { get; init; }
    public required string Proto { get; init; }
    public string HostIp { get; init; } = "";
    public int HostPortStart { get; init; }
    public int HostPortEnd { get; init; }

    /// <summary>"80/tcp", the key Docker uses in ExposedPorts, PortBindings and NetworkSettings.Ports.</summary>
    public string Key => $"{ContainerPort.ToString(CultureInfo.InvariantCulture)}/{Proto}";
}

/// <summary>
/// A port published while its container runs: the daemon persists it with the container, shows it in inspect/ps and
/// hands the live ones back to <see cref="NetworkController.RestorePorts"/> at daemon start.
/// </summary>
public sealed record PublishedPort
{
    public required string EndpointId { get; init; }
    public required string Proto { get; init; }
    /// <summary>The address the port is published on; "0.0.0.0" for every IPv4 address.</summary>
    public required string HostIp { get; init; }
    public required int HostPort { get; init; }
    public required string ContainerIp { get; init; }
    public required int ContainerPort { get; init; }
    /// <summary>The bridge the container's endpoint is on and its subnet (what the NAT rules need).</summary>
    public required string Bridge { get; init; }
    public required string Subnet { get; init; }

    public string Key => $"{ContainerPort.ToString(CultureInfo.InvariantCulture)}/{Proto}";
}

/// <summary>
/// Checks and expands Docker's wire form of published ports (HostConfig.PortBindings, ExposedPorts,
/// PublishAllPorts) into <see cref="PortRequest"/>s, with Docker's messages for bad input.
/// </summary>
public static class PortRequests
{
    /// <summary>Splits "80/tcp" (protocol defaults to tcp) and validates both halves, for a port to publish.</summary>
    public static (int Port, string Proto) ParseKey(string key) => ParseKey(key, exposeOnly: false);

    /// <summary>
    /// As <see cref="ParseKey(string)"/>; a port only exposed may be sctp (an image's <c>EXPOSE 9/sctp</c> runs), one
    /// to publish may not: the port mapper forwards tcp and udp.
    /// </summary>
    public static (int Port, string Proto) ParseKey(string key, bool exposeOnly)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.IndexOf('/');
        var portText = slash < 0 ? key : key[..slash];
        var proto = slash < 0 ? "tcp" : key[(slash + 1)..].ToLowerInvariant();
        if (proto.Length == 0) proto = "tcp";
        if (!TryParsePort(portText, out var port) || port == 0)
            throw BerthException.Invalid($"invalid port specification: \"{portText}\"");
        if (proto is not ("tcp" or "udp") && !(exposeOnly && proto == "sctp"))
        {
            if (proto == "sctp") throw BerthException.Invalid($"invalid port specification: \"{key}\": sctp is not supported");
            throw BerthException.Invalid($"invalid proto: {proto}");
        }
        return (port, proto);
    }

    /// <summary>"" (any), "8080" or "8000-8010" (any free one of the range).</summary>
    public static (int Start, int End) ParseHostPort(string? hostPort)
    {
        if (string.IsNullOrEmpty(hostPort)) return (0, 0);
        var dash = hostPort.IndexOf('-');
        var a = dash < 0 ? hostPort : hostPort[..dash];
        var b = dash < 0 ? hostPort : hostPort[(dash + 1)..];
        if (!TryParsePort(a, out var start) || !TryParsePort(b, out var end) || end < start)
            throw BerthException.Invalid($"invalid port specification: \"{hostPort}\"");
        return (start, end);
    }

    /// <summary>"" or an IPv4 address; "0.0.0.0" means every address, as "" does.</summary>
    public static string ParseHostIp(string? hostIp)
    {
        if (string.IsNullOrEmpty(hostIp)) return "";
        if (!IPAddress.TryParse(hostIp, out var ip) || !IsPlainAddress(hostIp))
            throw BerthException.Invalid($"invalid IP address: {hostIp}");
        if (ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (ip.Equals(IPAddress.IPv6Any)) return "";
            throw BerthException.Invalid($"invalid IP address: {hostIp}: IPv6 host addresses are not supported (the networks are IPv4 only)");
        }
        return ip.Equals(IPAddress.Any) ? "" : ip.ToString();
    }

    /// <summary>
    /// The requests of one container. <paramref name="bindings"/> is HostConfig.PortBindings (key "80/tcp" → list of
    /// (HostIp, HostPort)); with <paramref name="publishAll"/> every exposed port without a binding gets a random one.
    /// </summary>
    public static IReadOnlyList<PortRequest> Parse(
        IEnumerable<KeyValuePair<string, IReadOnlyList<(string? HostIp, string? HostPort)>?>>? bindings,
        IEnumerable<string>? exposed, bool publishAll)
    {
        var list = new List<PortRequest>();
        var bound = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in bindings ?? [])
        {
            var (port, proto) = ParseKey(key);
            var k = $"{port.ToString(CultureInfo.InvariantCulture)}/{proto}";
            bound.Add(k);
            // Docker: a key with no bindings (null or []) publishes one random port.
            IReadOnlyList<(string? HostIp, string? HostPort)> entries = value is { Count: > 0 } ? value : [(null, null)];
            foreach (var (hostIp, hostPort) in entries)
            {
                var (start, end) = ParseHostPort(hostPort);
                var request = new PortRequest { ContainerPort = port, Proto = proto, HostIp = ParseHostIp(hostIp), HostPortStart = start, HostPortEnd = end };
                if (!list.Contains(request)) list.Add(request);
            }
        }
        if (publishAll)
        {
            foreach (var key in exposed ?? [])
            {
                var (port, proto) = ParseKey(key);
                var k = $"{port.ToString(CultureInfo.InvariantCulture)}/{proto}";
                if (bound.Add(k)) list.Add(new PortRequest { ContainerPort = port, Proto = proto });
            }
        }
        else
        {
            foreach (var key in exposed ?? []) ParseKey(key, exposeOnly: true);
        }
        return list;
    }

    private static bool TryParsePort(string s, out int port) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535 && s.Length <= 5;

    // IPAddress.TryParse takes "1", "1.2" and " 1.2.3.4"; Docker (Go's net.ParseIP) does not.
    private static bool IsPlainAddress(string s) =>
        s.Contains(':') || (s.Count(c => c == '.') == 3 && s.All(c => char.IsAsciiDigit(c) || c == '.'));
}
