using System.Text.Json.Nodes;
using Berth.Cli.Commands;
using Berth.Cli.Formatting;

namespace Berth.Cli.Tests;

public sealed class PortSpecsTests
{
    private static List<string> Flat(string spec) =>
        PortSpecs.Parse(spec).Select(x => $"{x.Key}={x.Binding.HostIp}|{x.Binding.HostPort}").ToList();

    [Theory]
    [InlineData("80", "80/tcp=|")]
    [InlineData("8080:80", "80/tcp=|8080")]
    [InlineData("127.0.0.1:8080:80/udp", "80/udp=127.0.0.1|8080")]
    [InlineData("127.0.0.1::80", "80/tcp=127.0.0.1|")]
    [InlineData("[::1]:8080:80", "80/tcp=::1|8080")]
    [InlineData("8000-8010:80", "80/tcp=|8000-8010")]
    [InlineData("80/TCP", "80/tcp=|")]
    public void SingleMappings_AsDockerSendsThem(string spec, string expected) => Assert.Equal([expected], Flat(spec));

    [Fact]
    public void Ranges_ExpandOneToOne() =>
        Assert.Equal(["80/tcp=|8000", "81/tcp=|8001", "82/tcp=|8002"], Flat("8000-8002:80-82"));

    [Fact]
    public void ContainerRange_WithoutHostPorts_IsRandomEach() =>
        Assert.Equal(["80/tcp=10.0.0.1|", "81/tcp=10.0.0.1|"], Flat("10.0.0.1::80-81"));

    [Theory]
    [InlineData("70000:80", "invalid hostPort: 70000")]
    [InlineData("80:70000", "invalid containerPort: 70000")]
    [InlineData("80/sctpx", "invalid proto: sctpx")]
    [InlineData("1.2.3:80:80", "invalid IP address: 1.2.3")]
    [InlineData("127.0.0.1:8080", "invalid hostPort: 127.0.0.1")]
    [InlineData("8000-8002:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000-8002")]
    [InlineData("8080:", "no port specified: 8080:<empty>")]
    public void BadSpecs_GetDockersMessages(string spec, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => PortSpecs.Parse(spec)).Message);

    [Fact]
    public void Expose_TakesRangesAndProtocols()
    {
        Assert.Equal(["9000/tcp"], PortSpecs.ParseExpose("9000"));
        Assert.Equal(["53/udp", "54/udp"], PortSpecs.ParseExpose("53-54/udp"));
        Assert.Throws<FormatException>(() => PortSpecs.ParseExpose("x"));
    }

    [Theory]
    // docker's DisplayablePorts: unpublished runs and same-number publishes fold; other mappings come last.
    [InlineData("""[{"PrivatePort":8002,"Type":"tcp"},{"PrivatePort":8000,"Type":"tcp"},{"PrivatePort":8001,"Type":"tcp"},{"PrivatePort":53,"Type":"udp"}]""", "53/udp, 8000-8002/tcp")]
    [InlineData("""[{"IP":"0.0.0.0","PrivatePort":81,"PublicPort":81,"Type":"tcp"},{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":80,"Type":"tcp"}]""", "0.0.0.0:80-81->80-81/tcp")]
    [InlineData("""[{"IP":"127.0.0.1","PrivatePort":80,"PublicPort":32768,"Type":"tcp"},{"PrivatePort":9000,"Type":"tcp"},{"IP":"0.0.0.0","PrivatePort":53,"PublicPort":32769,"Type":"udp"}]""", "9000/tcp, 0.0.0.0:32769->53/udp, 127.0.0.1:32768->80/tcp")]
    [InlineData("""[{"PrivatePort":80,"Type":"tcp"},{"PrivatePort":82,"Type":"tcp"}]""", "80/tcp, 82/tcp")]
    public void PsPortsColumn_FoldsLikeDocker(string json, string expected) =>
        Assert.Equal(expected, Rows.Ports(JsonNode.Parse(json) as JsonArray));
}
