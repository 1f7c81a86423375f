using System.Buffers.Binary;
using Berth.Core;
using Berth.Network.Dns;
using Berth.Network.Firewall;
using Berth.Network.Ipam;

namespace Berth.Network.Tests;

public sealed class SubnetPoolsTests
{
    private static Ipv4Cidr C(string s) => Ipv4Cidr.Parse(s, out _);

    [Fact]
    public void AllocatesTheFirstSubnetThatOverlapsNothing()
    {
        var pools = new SubnetPools([new AddressPoolSpec("10.40.0.0/24", 28)]);
        Assert.Equal("10.40.0.0/28", pools.Allocate([]).ToString());
        Assert.Equal("10.40.0.16/28", pools.Allocate([C("10.40.0.0/28")]).ToString());
        // A wider route covering the start of the pool pushes allocation past it.
        Assert.Equal("10.40.0.64/28", pools.Allocate([C("10.40.0.0/26")]).ToString());
    }

    [Fact]
    public void ExhaustedPoolsAreAnError()
    {
        var pools = new SubnetPools([new AddressPoolSpec("10.41.0.0/28", 28)]);
        var e = Assert.Throws<BerthException>(() => pools.Allocate([C("10.41.0.0/16")]));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
    }

    [Fact]
    public void FallsThroughToTheNextPool()
    {
        var pools = new SubnetPools([new AddressPoolSpec("10.42.0.0/28", 28), new AddressPoolSpec("10.43.0.0/24", 26)]);
        Assert.Equal("10.43.0.0/26", pools.Allocate([C("10.42.0.0/28")]).ToString());
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.200.0.0/16", true)]
    [InlineData("10.200.0.0/16", "10.0.0.0/8", true)]
    [InlineData("10.1.0.0/24", "10.1.1.0/24", false)]
    [InlineData("192.168.0.0/20", "192.168.15.0/24", true)]
    [InlineData("192.168.0.0/20", "192.168.16.0/24", false)]
    public void Overlap(string a, string b, bool expected) => Assert.Equal(expected, SubnetPools.Overlaps(C(a), C(b)));

    [Fact]
    public void ParsesDockerdFlag()
    {
        var p = AddressPoolSpec.ParseFlag("base=10.10.0.0/16,size=24");
        Assert.Equal(new AddressPoolSpec("10.10.0.0/16", 24), p);
    }

    [Theory]
    [InlineData("base=10.10.0.0/16")]
    [InlineData("base=10.10.0.0/16,size=8")]
    [InlineData("base=10.10.0.0/33,size=24")]
    [InlineData("base=10.10.0.0/16,size=24,color=red")]
    public void RejectsBadFlags(string text) => Assert.Throws<BerthException>(() => AddressPoolSpec.ParseFlag(text));
}

public sealed class DnsMessageTests
{
    private static byte[] Query(ushort id, string name, ushort type, ushort flags = 0x0100)
    {
        var qname = DnsMessage.EncodeName(name);
        var buf = new byte[12 + qname.Length + 4];
        BinaryPrimitives.WriteUInt16BigEndian(buf, id);
        BinaryPrimitives.WriteUInt16BigEndian(buf.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt16BigEndian(buf.AsSpan(4), 1);
        qname.CopyTo(buf, 12);
        BinaryPrimitives.WriteUInt16BigEndian(buf.AsSpan(12 + qname.Length), type);
        BinaryPrimitives.WriteUInt16BigEndian(buf.AsSpan(14 + qname.Length), 1);
        return buf;
    }

    [Fact]
    public void ParsesAQuery()
    {
        Assert.True(DnsMessage.TryParseQuery(Query(0x1234, "web.example", DnsMessage.TypeA), out var q));
        Assert.Equal(0x1234, q!.Id);
        Assert.Equal("web.example", q.Question.Name);
        Assert.Equal(DnsMessage.TypeA, q.Question.Type);
        Assert.True(q.RecursionDesired);
        Assert.False(q.IsResponse);
    }

    [Fact]
    public void AnswersWithARecords()
    {
        DnsMessage.TryParseQuery(Query(7, "web", DnsMessage.TypeA), out var q);
        var answer = DnsMessage.WriteAnswer(q!, DnsMessage.RcodeNoError, [Ipv4.Parse("10.1.2.3"), Ipv4.Parse("10.1.2.4")]);
        Assert.True(DnsMessage.TryReadAnswer(answer, out var id, out var rcode, out var addresses));
        Assert.Equal(7, id);
        Assert.Equal(DnsMessage.RcodeNoError, rcode);
        Assert.Equal(["10.1.2.3", "10.1.2.4"], addresses.Select(Ipv4.Format));
        Assert.Equal(0x80, answer[2] & 0x80); // QR: a response
    }

    [Fact]
    public void NxDomainHasNoAnswers()
    {
        DnsMessage.TryParseQuery(Query(9, "nothere", DnsMessage.TypeA), out var q);
        var answer = DnsMessage.WriteAnswer(q!, DnsMessage.RcodeNxDomain, []);
        Assert.True(DnsMessage.TryReadAnswer(answer, out _, out var rcode, out var addresses));
        Assert.Equal(DnsMessage.RcodeNxDomain, rcode);
        Assert.Empty(addresses);
    }

    [Fact]
    public void PtrAnswerCarriesTheName()
    {
        DnsMessage.TryParseQuery(Query(3, "3.2.1.10.in-addr.arpa", DnsMessage.TypePtr), out var q);
        var answer = DnsMessage.WriteAnswer(q!, DnsMessage.RcodeNoError, [], ptrName: "web.n1");
        Assert.True(DnsMessage.TryReadAnswer(answer, out _, out _, out _));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(6)));
        var name = DnsMessage.EncodeName("web.n1");
        Assert.True(answer.AsSpan(answer.Length - name.Length).SequenceEqual(name));
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3 })]
    [InlineData(new byte[] { 0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1 })] // two questions
    [InlineData(new byte[] { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1 })] // compression loop in a question
    [InlineData(new byte[] { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9, 0x61 })] // label past the end
    public void RejectsMalformedQueries(byte[] message) => Assert.False(DnsMessage.TryParseQuery(message, out _));
}

public sealed class IsolationRulesetTests
{
    private static BridgeFirewallConfig Net(string br, string cidr, bool @internal = false, bool icc = true) =>
        new() { BridgeName = br, Subnet = Ipv4Cidr.Parse(cidr, out var gw), Gateway = gw, Internal = @internal, Masquerade = !@internal, Icc = icc };

    [Fact]
    public void BridgesCannotForwardToEachOther()
    {
        var text = NftRuleset.Render("t", [Net("br-a", "10.1.0.1/24"), Net("br-b", "10.2.0.1/24")]);
        Assert.Contains("iifname \"br-a\" oifname { \"br-b\" } drop", text);
        Assert.Contains("iifname \"br-b\" oifname { \"br-a\" } drop", text);
        // Isolation comes before the accepts of the bridges.
        Assert.True(text.IndexOf("oifname { \"br-b\" } drop", StringComparison.Ordinal) < text.IndexOf("iifname \"br-a\" accept", StringComparison.Ordinal));
        Assert.DoesNotContain("chain input", text);
    }

    [Fact]
    public void InternalNetworkIsClosedAndNotMasqueraded()
    {
        var text = NftRuleset.Render("t", [Net("br-i", "10.3.0.1/24", @internal: true), Net("br-o", "10.4.0.1/24")]);
        Assert.Contains("iifname \"br-i\" oifname != \"br-i\" drop", text);
        Assert.Contains("oifname \"br-i\" iifname != \"br-i\" drop", text);
        Assert.Contains("iifname \"br-i\" ip daddr != 10.3.0.1 drop", text);
        Assert.DoesNotContain("ip saddr 10.3.0.0/24", text);
        Assert.Contains("ip saddr 10.4.0.0/24", text);
    }

    [Fact]
    public void IccFalseDropsTrafficWithinTheBridge()
    {
        var text = NftRuleset.Render("t", [Net("br-x", "10.5.0.1/24", icc: false)]);
        Assert.Contains("iifname \"br-x\" oifname \"br-x\" drop", text);
        Assert.DoesNotContain("iifname \"br-x\" oifname \"br-x\" drop", NftRuleset.Render("t", [Net("br-x", "10.5.0.1/24")]));
    }
}
