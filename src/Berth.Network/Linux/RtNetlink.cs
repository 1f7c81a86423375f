using System.Buffers.Binary;
using Berth.Core;
using Berth.Core.Interop;
using Berth.Network.Interop;

namespace Berth.Network.Linux;

/// <summary>
/// A minimal rtnetlink client for the container-start hot path (veth, address, route): no process spawns.
/// A netlink socket acts in the network namespace it was created in, whichever thread uses it later, so a socket
/// for a sandbox is created on a short-lived thread that enters the namespace and leaves it again at once.
/// One request at a time per socket (the caller owns the instance).
/// </summary>
internal sealed unsafe partial class RtNetlink : IDisposable
{
    private const ushort RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_NEWADDR = 20, RTM_NEWROUTE = 24;
    private const ushort NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    private const ushort NLMSG_ERROR = 2;
    private const ushort IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_MASTER = 10, IFLA_LINKINFO = 18, IFLA_NET_NS_FD = 28;
    private const ushort IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2, VETH_INFO_PEER = 1;
    private const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_BROADCAST = 4;
    private const ushort RTA_OIF = 4, RTA_GATEWAY = 5;
    private const int ENODEV = 19;

    private readonly int _fd;
    private uint _seq;

    private RtNetlink(int fd) => _fd = fd;

    /// <summary>A socket in the caller's (the daemon's) namespace.</summary>
    public static RtNetlink Open()
    {
        int fd = NetSys.Socket(NetSys.AF_NETLINK, NetSys.SOCK_RAW | NetSys.SOCK_CLOEXEC, NetSys.NETLINK_ROUTE);
        Sys.CheckIo(fd, "socket(AF_NETLINK)");
        // The kernel always answers; the timeout only keeps a daemon bug from hanging a request forever.
        var timeout = new NetSys.Timeval { Sec = 10 };
        if (NetSys.SetSockOpt(fd, NetSys.SOL_SOCKET, NetSys.SO_RCVTIMEO, &timeout, (uint)sizeof(NetSys.Timeval)) != 0)
        {
            int errno = Sys.Errno;
            NetSys.Close(fd);
            throw new BerthException(ErrorKind.Unknown, $"setsockopt(SO_RCVTIMEO) on netlink socket: {Sys.ErrorText(errno)}");
        }
        return new RtNetlink(fd);
    }

    /// <summary>A socket in the namespace bind-mounted at <paramref name="netnsPath"/>.</summary>
    public static Task<RtNetlink> OpenInNamespaceAsync(string netnsPath) =>
        NamespaceThread.RunAsync(netnsPath, static () => Open());

    public void Dispose() => NetSys.Close(_fd);

    /// <summary>
    /// Creates a veth pair: <paramref name="hostName"/> here, on bridge <paramref name="masterIndex"/> and up;
    /// its peer <paramref name="peerName"/> directly in the namespace open as <paramref name="peerNetnsFd"/>.
    /// </summary>
    public void CreateVeth(string hostName, int mtu, int masterIndex, string peerName, ReadOnlySpan<byte> peerMac, int peerNetnsFd, string what)
    {
        var m = new Message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        m.IfInfo(index: 0, flags: NetSys.IFF_UP, change: NetSys.IFF_UP);
        m.AttrString(IFLA_IFNAME, hostName);
        m.AttrU32(IFLA_MTU, (uint)mtu);
        m.AttrU32(IFLA_MASTER, (uint)masterIndex);
        int linkInfo = m.BeginNest(IFLA_LINKINFO);
        m.AttrString(IFLA_INFO_KIND, "veth");
        int data = m.BeginNest(IFLA_INFO_DATA);
        int peer = m.BeginNest(VETH_INFO_PEER);
        m.IfInfo(index: 0, flags: 0, change: 0);
        m.AttrString(IFLA_IFNAME, peerName);
        m.AttrU32(IFLA_MTU, (uint)mtu);
        m.Attr(IFLA_ADDRESS, peerMac);
        m.AttrU32(IFLA_NET_NS_FD, (uint)peerNetnsFd);
        m.EndNest(peer);
        m.EndNest(data);
        m.EndNest(linkInfo);
        Check(Transact(m, null), what);
    }

    /// <summary>Deletes a link by name; false when there is none.</summary>
    public bool DeleteLink(string name)
    {
        var m = new Message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
        m.IfInfo(0, 0, 0);
        m.AttrString(IFLA_IFNAME, name);
        int err = Transact(m, null);
        if (err == -ENODEV) return false;
        Check(err, $"delete link {name}");
        return true;
    }

    public int GetIndex(string name)
    {
        var m = new Message(RTM_GETLINK, NLM_F_REQUEST);
        m.IfInfo(0, 0, 0);
        m.AttrString(IFLA_IFNAME, name);
        int index = 0;
        Check(Transact(m, reply => index = BinaryPrimitives.ReadInt32LittleEndian(reply.Slice(4, 4))), $"find link {name}");
        if (index == 0) throw BerthException.NotFound($"link {name} not found");
        return index;
    }

    public void SetUp(int index, string what)
    {
        var m = new Message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
        m.IfInfo(index, NetSys.IFF_UP, NetSys.IFF_UP);
        Check(Transact(m, null), what);
    }

    public void AddAddress(int index, uint address, int prefixLen, uint broadcast, string what)
    {
        var m = new Message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        Span<byte> ifa = stackalloc byte[8];
        ifa[0] = NetSys.AF_INET;
        ifa[1] = (byte)prefixLen;
        BinaryPrimitives.WriteInt32LittleEndian(ifa[4..], index);
        m.Raw(ifa);
        m.AttrIpv4(IFA_LOCAL, address);
        m.AttrIpv4(IFA_ADDRESS, address);
        m.AttrIpv4(IFA_BROADCAST, broadcast);
        Check(Transact(m, null), what);
    }

    public void AddDefaultRoute(uint gateway, int oifIndex, string what)
    {
        var m = new Message(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        Span<byte> rtm = stackalloc byte[12];
        rtm[0] = NetSys.AF_INET; // dst_len 0: the default route
        rtm[4] = 254; // RT_TABLE_MAIN
        rtm[5] = 3; // RTPROT_BOOT, as `ip route add` sets
        rtm[6] = 0; // RT_SCOPE_UNIVERSE
        rtm[7] = 1; // RTN_UNICAST
        m.Raw(rtm);
        m.AttrIpv4(RTA_GATEWAY, gateway);
        m.AttrU32(RTA_OIF, (uint)oifIndex);
        Check(Transact(m, null), what);
    }

    private static void Check(int negErrno, string what)
    {
        if (negErrno == 0) return;
        int errno = -negErrno;
        var kind = errno switch
        {
            Sys.EEXIST or Sys.EBUSY => ErrorKind.Conflict,
            Sys.ENOENT or ENODEV => ErrorKind.NotFound,
            Sys.EINVAL => ErrorKind.InvalidArgument,
            _ => ErrorKind.Unknown,
        };
        throw new BerthException(kind, $"{what}: {Sys.ErrorText(errno)}");
    }

    private delegate void ReplyHandler(ReadOnlySpan<byte> payload);

    /// <summary>Sends one request and returns the kernel's answer as 0 or -errno; data replies go to <paramref name="onReply"/>.</summary>
    private int Transact(Message m, ReplyHandler? onReply)
    {
        uint seq = ++_seq;
        var bytes = m.Finish(seq);
        var addr = new NetSys.SockaddrNl { Family = NetSys.AF_NETLINK };
        fixed (byte* p = bytes)
        {
            nint sent;
            do sent = NetSys.SendTo(_fd, p, (nuint)bytes.Length, 0, &addr, (uint)sizeof(NetSys.SockaddrNl));
            while (sent < 0 && Sys.Errno == Sys.EINTR);
            Sys.CheckIo(sent < 0 ? -1 : 0, "netlink send");
        }

        var buf = new byte[32 * 1024];
        // A request gets either an ack/error, or (GETLINK) a data message; anything else with another
        // sequence number is stale and skipped. Bounded: the kernel answers each request once.
        for (int round = 0; round < 64; round++)
        {
            nint n;
            fixed (byte* p = buf)
            {
                do n = NetSys.Recv(_fd, p, (nuint)buf.Length, 0);
                while (n < 0 && Sys.Errno == Sys.EINTR);
            }
            Sys.CheckIo(n < 0 ? -1 : 0, "netlink receive");
            var span = buf.AsSpan(0, (int)n);
            while (span.Length >= 16)
            {
                int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(span);
                if (len < 16 || len > span.Length) break;
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(span[4..]);
                uint mseq = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
                var payload = span[16..len];
                if (mseq == seq)
                {
                    if (type == NLMSG_ERROR) return BinaryPrimitives.ReadInt32LittleEndian(payload);
                    if (onReply is not null)
                    {
                        onReply(payload);
                        return 0;
                    }
                }
                span = span[Align(len)..];
            }
        }
        throw new BerthException(ErrorKind.Unknown, "netlink: no answer from the kernel");
    }

    private static int Align(int n) => (n + 3) & ~3;

    /// <summary>Builds one netlink message: header, family struct, attributes (host byte order but for addresses).</summary>
    private sealed class Message
    {
        private readonly List<byte> _b = new(256);

        public Message(ushort type, ushort flags)
        {
            Span<byte> h = stackalloc byte[16];
            BinaryPrimitives.WriteUInt16LittleEndian(h[4..], type);
            BinaryPrimitives.WriteUInt16LittleEndian(h[6..], flags);
            Raw(h);
        }

        public void Raw(ReadOnlySpan<byte> data)
        {
            foreach (var x in data) _b.Add(x);
            while (_b.Count % 4 != 0) _b.Add(0);
        }

        public void IfInfo(int index, short flags, short change)
        {
            Span<byte> ifi = stackalloc byte[16];
            ifi[0] = 0; // AF_UNSPEC
            BinaryPrimitives.WriteInt32LittleEndian(ifi[4..], index);
            BinaryPrimitives.WriteUInt32LittleEndian(ifi[8..], (uint)(ushort)flags);
            BinaryPrimitives.WriteUInt32LittleEndian(ifi[12..], (uint)(ushort)change);
            Raw(ifi);
        }

        public void Attr(ushort type, ReadOnlySpan<byte> value)
        {
            Span<byte> h = stackalloc byte[4];
            BinaryPrimitives.WriteUInt16LittleEndian(h, (ushort)(4 + value.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(h[2..], type);
            foreach (var x in h) _b.Add(x);
            Raw(value);
        }

        public void AttrString(ushort type, string value)
        {
            var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(value) + 1]; // NUL-terminated
            System.Text.Encoding.UTF8.GetBytes(value, bytes);
            Attr(type, bytes);
        }

        public void AttrU32(ushort type, uint value)
        {
            Span<byte> v = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(v, value);
            Attr(type, v);
        }

        public void AttrIpv4(ushort type, uint address)
        {
            Span<byte> v = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v, address);
            Attr(type, v);
        }

        public int BeginNest(ushort type)
        {
            int at = _b.Count;
            Attr(type, []);
            return at;
        }

        public void EndNest(int at)
        {
            ushort len = (ushort)(_b.Count - at);
            _b[at] = (byte)len;
            _b[at + 1] = (byte)(len >> 8);
        }

        public byte[] Finish(uint seq)
        {
            var bytes = _b.ToArray();
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)bytes.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), seq);
            return bytes;
        }
    }
}
