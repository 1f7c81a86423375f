using Berth.Core;

namespace Berth.Network.Linux;

/// <summary>macvlan links over rtnetlink (the macvlan driver's endpoints).</summary>
internal sealed partial class RtNetlink
{
    private const ushort IFLA_LINK = 5, IFLA_MACVLAN_MODE = 1;

    /// <summary>The kernel's MACVLAN_MODE_* value for one of Docker's macvlan_mode names; null for anything else.</summary>
    public static uint? MacvlanMode(string name) => name switch
    {
        "private" => 1,
        "vepa" => 2,
        "bridge" => 4,
        "passthru" => 8,
        _ => null,
    };

    /// <summary>
    /// Creates a macvlan link over <paramref name="parentIndex"/> (a link of this socket's namespace) directly inside
    /// the namespace open as <paramref name="netnsFd"/>, under its final name <paramref name="name"/>: the link never
    /// exists in the daemon's namespace, so a failure half-way leaves nothing on the host to clean up.
    /// </summary>
    public void CreateMacvlan(string name, int parentIndex, uint mode, ReadOnlySpan<byte> mac, int netnsFd, string what)
    {
        var m = new Message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        m.IfInfo(index: 0, flags: 0, change: 0);
        m.AttrString(IFLA_IFNAME, name);
        m.AttrU32(IFLA_LINK, (uint)parentIndex);
        m.Attr(IFLA_ADDRESS, mac);
        m.AttrU32(IFLA_NET_NS_FD, (uint)netnsFd);
        int linkInfo = m.BeginNest(IFLA_LINKINFO);
        m.AttrString(IFLA_INFO_KIND, "macvlan");
        int data = m.BeginNest(IFLA_INFO_DATA);
        m.AttrU32(IFLA_MACVLAN_MODE, mode);
        m.EndNest(data);
        m.EndNest(linkInfo);
        int err = Transact(m, null);
        if (err == -95 /* EOPNOTSUPP */)
            throw new BerthException(ErrorKind.Unavailable, $"{what}: the kernel has no macvlan support");
        Check(err, what);
    }
}
