using Berth.Core;

namespace Berth.Network.Ipam;

/// <summary>One entry of dockerd's default-address-pools: subnets of prefix <see cref="Size"/> carved out of <see cref="Base"/>.</summary>
public sealed record AddressPoolSpec(string Base, int Size)
{
    /// <summary>Parses dockerd's flag form "base=10.10.0.0/16,size=24".</summary>
    public static AddressPoolSpec ParseFlag(string text)
    {
        string? b = null;
        int size = 0;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            var key = eq < 0 ? part : part[..eq];
            var value = eq < 0 ? "" : part[(eq + 1)..];
            switch (key)
            {
                case "base": b = value; break;
                case "size":
                    if (!int.TryParse(value, System.Globalization.NumberStyles.None, null, out size))
                        throw BerthException.Invalid($"invalid default-address-pool size \"{value}\"");
                    break;
                default: throw BerthException.Invalid($"unexpected key \"{key}\" in default-address-pool \"{text}\"");
            }
        }
        if (b is null || size == 0) throw BerthException.Invalid($"invalid default-address-pool \"{text}\": expected base=CIDR,size=N");
        var spec = new AddressPoolSpec(b, size);
        spec.Validate();
        return spec;
    }

    internal Ipv4Cidr Validate()
    {
        var cidr = Ipv4Cidr.Parse(Base, out _);
        if (Size < cidr.PrefixLen || Size > 30)
            throw BerthException.Invalid($"invalid default-address-pool {Base}: size {Size} must be between {cidr.PrefixLen} and 30");
        return cidr;
    }
}

/// <summary>
/// Picks subnets for networks created without one, from the daemon's default pools in order, skipping every subnet
/// that overlaps one in use (this daemon's networks, and the host's routes so another daemon's bridge is not taken).
/// </summary>
internal sealed class SubnetPools
{
    /// <summary>Docker's defaults: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s.</summary>
    public static readonly IReadOnlyList<AddressPoolSpec> DockerDefaults =
        [new("172.17.0.0/16", 16), new("172.18.0.0/16", 16), new("172.19.0.0/16", 16), new("172.20.0.0/14", 16),
         new("172.24.0.0/14", 16), new("172.28.0.0/14", 16), new("192.168.0.0/16", 20)];

    private readonly List<(Ipv4Cidr Base, int Size)> _pools;

    public SubnetPools(IReadOnlyList<AddressPoolSpec>? pools)
    {
        _pools = (pools is { Count: > 0 } ? pools : DockerDefaults).Select(p => (p.Validate(), p.Size)).ToList();
    }

    public static bool Overlaps(Ipv4Cidr a, Ipv4Cidr b)
    {
        int len = Math.Min(a.PrefixLen, b.PrefixLen);
        uint mask = len == 0 ? 0 : uint.MaxValue << (32 - len);
        return (a.Address & mask) == (b.Address & mask);
    }

    /// <summary>The first pool subnet overlapping nothing in <paramref name="used"/>.</summary>
    public Ipv4Cidr Allocate(IReadOnlyCollection<Ipv4Cidr> used)
    {
        foreach (var (b, size) in _pools)
        {
            ulong count = 1UL << (size - b.PrefixLen);
            uint step = (uint)(1UL << (32 - size));
            for (ulong i = 0; i < count && i < 1 << 20; i++)
            {
                var candidate = new Ipv4Cidr(b.Address + (uint)i * step, size);
                if (!used.Any(u => Overlaps(u, candidate))) return candidate;
            }
        }
        throw BerthException.Invalid("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
    }

    /// <summary>The IPv4 destinations of the host's routes (main table), except the default route.</summary>
    public static List<Ipv4Cidr> HostRoutes()
    {
        var list = new List<Ipv4Cidr>();
        try
        {
            foreach (var line in File.ReadLines("/proc/net/route").Skip(1))
            {
                var f = line.Split('\t', StringSplitOptions.TrimEntries);
                if (f.Length < 8) continue;
                uint dest = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(Convert.ToUInt32(f[1], 16));
                uint mask = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(Convert.ToUInt32(f[7], 16));
                int len = System.Numerics.BitOperations.PopCount(mask);
                if (len == 0) continue;
                list.Add(new Ipv4Cidr(dest & mask, len));
            }
        }
        catch (IOException) { }
        catch (FormatException) { }
        return list;
    }
}
