using Berth.Core;
using Berth.Network.Ipam;

namespace Berth.Network.Tests;

public sealed class IpamTests
{
    [Fact]
    public void Cidr_ParsesBipForm()
    {
        var c = Ipv4Cidr.Parse("172.18.0.1/16", out var host);
        Assert.Equal("172.18.0.0/16", c.ToString());
        Assert.Equal("172.18.0.1", Ipv4.Format(host));
        Assert.Equal("172.18.255.255", Ipv4.Format(c.Broadcast));
        Assert.True(c.Contains(Ipv4.Parse("172.18.200.3")));
        Assert.False(c.Contains(Ipv4.Parse("172.19.0.3")));
    }

    [Theory]
    [InlineData("172.18.0.1")]
    [InlineData("172.18.0.1/33")]
    [InlineData("nope/16")]
    [InlineData("1/8")]
    public void Cidr_RejectsGarbage(string text) =>
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<BerthException>(() => Ipv4Cidr.Parse(text, out _)).Kind);

    [Theory]
    [InlineData("1.2.3.4", true)]
    [InlineData("255.255.255.255", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("1.2.3", false)]
    [InlineData("1.2.3.4.5", false)]
    [InlineData("01.2.3.4", false)]
    [InlineData("1.2.3.256", false)]
    [InlineData("1.2.3.4 ", false)]
    [InlineData("1..3.4", false)]
    [InlineData("::1", false)]
    [InlineData("", false)]
    public void Ipv4_ParsesDottedQuadsOnly(string text, bool ok)
    {
        Assert.Equal(ok, Ipv4.TryParse(text, out var a));
        if (ok) Assert.Equal(text, Ipv4.Format(a));
    }

    [Fact]
    public void MacIsDockers() => Assert.Equal("02:42:ac:11:00:02", Ipv4.MacFor(Ipv4.Parse("172.17.0.2")));

    [Fact]
    public void Pool_HandsOutLowestFree_SkippingNetworkGatewayBroadcast()
    {
        var pool = new AddressPool(Ipv4Cidr.Parse("10.1.2.0/29", out _));
        pool.Reserve(Ipv4.Parse("10.1.2.1"));
        var got = Enumerable.Range(0, 5).Select(_ => Ipv4.Format(pool.Allocate())).ToList();
        Assert.Equal(["10.1.2.2", "10.1.2.3", "10.1.2.4", "10.1.2.5", "10.1.2.6"], got);
        Assert.Equal(ErrorKind.Unavailable, Assert.Throws<BerthException>(() => pool.Allocate()).Kind);

        pool.Release(Ipv4.Parse("10.1.2.4"));
        pool.Release(Ipv4.Parse("10.1.2.3"));
        Assert.Equal("10.1.2.3", Ipv4.Format(pool.Allocate()));
        Assert.Equal("10.1.2.4", Ipv4.Format(pool.Allocate()));
    }

    [Fact]
    public void Pool_Reserve_ConflictWhenTaken_InvalidOutside()
    {
        var pool = new AddressPool(Ipv4Cidr.Parse("10.1.0.0/16", out _));
        pool.Reserve(Ipv4.Parse("10.1.7.9"));
        Assert.Equal(ErrorKind.Conflict, Assert.Throws<BerthException>(() => pool.Reserve(Ipv4.Parse("10.1.7.9"))).Kind);
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<BerthException>(() => pool.Reserve(Ipv4.Parse("10.2.0.5"))).Kind);
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<BerthException>(() => pool.Reserve(Ipv4.Parse("10.1.255.255"))).Kind);
        Assert.Equal("10.1.0.1", Ipv4.Format(pool.Allocate()));
    }

    [Fact]
    public void Pool_ParallelAllocationsAreDistinct()
    {
        var pool = new AddressPool(Ipv4Cidr.Parse("10.9.0.0/20", out _));
        var all = new System.Collections.Concurrent.ConcurrentBag<uint>();
        Parallel.For(0, 2000, _ => all.Add(pool.Allocate()));
        Assert.Equal(2000, all.Distinct().Count());
    }
}
