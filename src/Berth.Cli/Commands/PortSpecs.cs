using System.Globalization;
using System.Net;
using Berth.Api;

namespace Berth.Cli.Commands;

/// <summary>
/// `-p/--publish` as the docker CLI reads it: [ip:][hostPort:]containerPort[/proto], port ranges on either side
/// (equal lengths, or one container port with a host range to pick from), IPv6 hosts in brackets; expanded into the
/// PortBindings entries docker sends, with docker's messages.
/// </summary>
internal static class PortSpecs
{
    public static List<(string Key, PortBinding Binding)> Parse(string raw)
    {
        var parts = raw.Split(':');
        int n = parts.Length;
        string ip = "", hostPort = "", containerPort = parts[n - 1];
        switch (n)
        {
            case 1: break;
            case 2: hostPort = parts[0]; break;
            case 3: ip = parts[0]; hostPort = parts[1]; break;
            default: ip = string.Join(':', parts[..(n - 2)]); hostPort = parts[n - 2]; break;
        }
        var proto = "tcp";
        var slash = containerPort.IndexOf('/');
        if (slash >= 0)
        {
            proto = containerPort[(slash + 1)..];
            containerPort = containerPort[..slash];
            if (proto.Length == 0) proto = "tcp";
        }
        if (ip.StartsWith('['))
        {
            if (!ip.EndsWith(']')) throw new FormatException($"invalid IP address {ip}: missing ']' in address {ip}:");
            ip = ip[1..^1];
        }
        if (ip.Length > 0 && !IsIp(ip)) throw new FormatException("invalid IP address: " + ip);
        if (containerPort.Length == 0) throw new FormatException($"no port specified: {raw}<empty>");
        if (!TryRange(containerPort, out var start, out var end)) throw new FormatException("invalid containerPort: " + containerPort);
        int hostStart = 0, hostEnd = 0;
        if (hostPort.Length > 0 && !TryRange(hostPort, out hostStart, out hostEnd)) throw new FormatException("invalid hostPort: " + hostPort);
        if (hostPort.Length > 0 && end - start != hostEnd - hostStart && end != start)
            throw new FormatException($"invalid ranges specified for container and host Ports: {containerPort} and {hostPort}");
        proto = proto.ToLowerInvariant();
        if (proto is not ("tcp" or "udp" or "sctp")) throw new FormatException("invalid proto: " + proto);

        var list = new List<(string, PortBinding)>();
        for (int i = 0; i <= end - start; i++)
        {
            string hp = "";
            if (hostPort.Length > 0) hp = Num(hostStart + i);
            // One container port with a host range: the daemon picks a free port of the range.
            if (start == end && hostStart != hostEnd) hp = $"{hp}-{Num(hostEnd)}";
            list.Add(($"{Num(start + i)}/{proto}", new PortBinding { HostIp = ip, HostPort = hp }));
        }
        return list;
    }

    /// <summary>`--expose 80`, `--expose 8000-8002/udp`: the ExposedPorts keys.</summary>
    public static List<string> ParseExpose(string raw)
    {
        var proto = "tcp";
        var port = raw;
        var slash = raw.IndexOf('/');
        if (slash >= 0) { proto = raw[(slash + 1)..].ToLowerInvariant(); port = raw[..slash]; }
        if (proto is not ("tcp" or "udp" or "sctp")) throw new FormatException("invalid proto: " + proto);
        if (!TryRange(port, out var start, out var end)) throw new FormatException($"invalid range format for --expose: {raw}, error: invalid syntax");
        var keys = new List<string>();
        for (int p = start; p <= end; p++) keys.Add($"{Num(p)}/{proto}");
        return keys;
    }

    // go-connections' ParsePortRange: "80" or "80-90", each a 16-bit unsigned number.
    private static bool TryRange(string s, out int start, out int end)
    {
        start = end = 0;
        var dash = s.IndexOf('-');
        var a = dash < 0 ? s : s[..dash];
        var b = dash < 0 ? s : s[(dash + 1)..];
        if (!ushort.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out var x) || !ushort.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var y))
            return false;
        if (y < x) return false;
        (start, end) = (x, y);
        return true;
    }

    private static bool IsIp(string s) =>
        IPAddress.TryParse(s, out _) && (s.Contains(':') || (s.Count(c => c == '.') == 3 && s.All(c => char.IsAsciiDigit(c) || c == '.')));

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}
