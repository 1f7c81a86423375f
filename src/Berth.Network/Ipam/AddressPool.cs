using Berth.Core;

namespace Berth.Network.Ipam;

/// <summary>
/// The addresses in use in one subnet. Hands out the lowest free one; the network and broadcast addresses and
/// anything reserved (the gateway) are never handed out. Not persisted: the controller rebuilds it from the live
/// endpoints at start, so a daemon killed mid-connect cannot leak or double-book an address.
/// </summary>
internal sealed class AddressPool
{
    private readonly Lock _lock = new(); // guards _used and _hint
    private readonly ulong[] _used; // one bit per address offset in the subnet
    private int _hint; // no free bit below this word index

    public AddressPool(Ipv4Cidr subnet)
    {
        if (subnet.PrefixLen > 30 || subnet.PrefixLen < 8)
            throw BerthException.Invalid($"subnet {subnet} must have a prefix length between /8 and /30");
        Subnet = subnet;
        _used = new ulong[(subnet.Size + 63) / 64];
        Mark(subnet.Address);
        Mark(subnet.Broadcast);
        // A subnet smaller than a word: the bits past its end are not addresses.
        if (subnet.Size < 64) _used[0] |= ulong.MaxValue << (int)subnet.Size;
    }

    public Ipv4Cidr Subnet { get; }

    public uint Allocate()
    {
        lock (_lock)
        {
            for (int w = _hint; w < _used.Length; w++)
            {
                if (_used[w] == ulong.MaxValue) continue;
                _hint = w;
                int bit = System.Numerics.BitOperations.TrailingZeroCount(~_used[w]);
                _used[w] |= 1UL << bit;
                return Subnet.Address + (uint)(w * 64 + bit);
            }
            _hint = _used.Length;
        }
        throw new BerthException(ErrorKind.Unavailable, $"no available IPv4 address in {Subnet}");
    }

    /// <summary>Claims a specific address (a requested IP, a live endpoint's, the gateway).</summary>
    public void Reserve(uint address)
    {
        if (!Subnet.Contains(address) || address == Subnet.Address || address == Subnet.Broadcast)
            throw BerthException.Invalid($"address {Ipv4.Format(address)} is not a usable host address in {Subnet}");
        lock (_lock)
        {
            if (IsSet(address))
                throw BerthException.Conflict($"address {Ipv4.Format(address)} is already in use in {Subnet}");
            Mark(address);
        }
    }

    public void Release(uint address)
    {
        if (!Subnet.Contains(address) || address == Subnet.Address || address == Subnet.Broadcast) return;
        lock (_lock)
        {
            uint off = address - Subnet.Address;
            _used[off / 64] &= ~(1UL << (int)(off % 64));
            _hint = Math.Min(_hint, (int)(off / 64));
        }
    }

    public bool IsAllocated(uint address)
    {
        if (!Subnet.Contains(address)) return false;
        lock (_lock) return IsSet(address);
    }

    private bool IsSet(uint address)
    {
        uint off = address - Subnet.Address;
        return (_used[off / 64] & (1UL << (int)(off % 64))) != 0;
    }

    private void Mark(uint address)
    {
        uint off = address - Subnet.Address;
        _used[off / 64] |= 1UL << (int)(off % 64);
    }
}
