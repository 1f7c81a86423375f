using Berth.Core;

namespace Berth.Network.Ipam;

/// <summary>IPv4 arithmetic on host-order integers; the formats are the ones `ip` and Docker print.</summary>
internal static class Ipv4
{
    /// <summary>Strict dotted quad, as Go's net.ParseIP (Docker) takes it: no shorthand, no octal-looking leading zeros.</summary>
    public static bool TryParse(string? text, out uint address)
    {
        address = 0;
        if (string.IsNullOrEmpty(text)) return false;
        var s = text.AsSpan();
        for (int part = 0; part < 4; part++)
        {
            int len = 0, value = 0;
            while (len < s.Length && char.IsAsciiDigit(s[len]))
            {
                value = value * 10 + (s[len] - '0');
                if (++len > 3) return false;
            }
            if (len == 0 || value > 255 || (len > 1 && s[0] == '0')) return false;
            address = (address << 8) | (uint)value;
            s = s[len..];
            if (part < 3)
            {
                if (s.IsEmpty || s[0] != '.') return false;
                s = s[1..];
            }
        }
        return s.IsEmpty;
    }

    public static uint Parse(string text) =>
        TryParse(text, out var a) ? a : throw BerthException.Invalid($"invalid IPv4 address \"{text}\"");

    public static string Format(uint address) =>
        $"{address >> 24}.{(address >> 16) & 0xff}.{(address >> 8) & 0xff}.{address & 0xff}";

    /// <summary>Docker's MAC for a bridge endpoint: 02:42 followed by the four address bytes.</summary>
    public static string MacFor(uint address) =>
        $"02:42:{address >> 24:x2}:{(address >> 16) & 0xff:x2}:{(address >> 8) & 0xff:x2}:{address & 0xff:x2}";
}

/// <summary>An IPv4 prefix such as 172.18.0.0/16 (Address is the network address, host bits clear).</summary>
internal readonly record struct Ipv4Cidr(uint Address, int PrefixLen)
{
    public uint Mask => PrefixLen == 0 ? 0 : uint.MaxValue << (32 - PrefixLen);
    public uint Broadcast => Address | ~Mask;
    public ulong Size => 1UL << (32 - PrefixLen);

    public bool Contains(uint address) => (address & Mask) == Address;

    /// <summary>Parses "a.b.c.d/n"; <paramref name="host"/> is the address as written (dockerd's --bip gives the gateway that way).</summary>
    public static Ipv4Cidr Parse(string text, out uint host)
    {
        int slash = text.IndexOf('/');
        if (slash <= 0 || !int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out int len) || len > 32
            || !Ipv4.TryParse(text[..slash], out host))
            throw BerthException.Invalid($"invalid IPv4 CIDR \"{text}\"");
        var mask = len == 0 ? 0 : uint.MaxValue << (32 - len);
        return new Ipv4Cidr(host & mask, len);
    }

    public override string ToString() => $"{Ipv4.Format(Address)}/{PrefixLen}";
}
