using System.Text;
using Berth.Core;

namespace Berth.Registry.Tests;

public sealed class RepositoryNameTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("library/busybox")]
    [InlineData("a/b/c/d")]
    [InlineData("my-app_1.0/x__y")]
    [InlineData("a---b")]
    public void ValidNames(string name) => Assert.True(RepositoryName.IsValid(name));

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData("../x")]
    [InlineData("a/../b")]
    [InlineData("a..b")]
    [InlineData("a/")]
    [InlineData("/a")]
    [InlineData("a//b")]
    [InlineData("-a")]
    [InlineData("a___b")]
    [InlineData("a b")]
    public void InvalidNames(string name)
    {
        Assert.False(RepositoryName.IsValid(name));
        Assert.Equal(ErrorCodes.NameInvalid, Assert.Throws<RegistryException>(() => RepositoryName.Validate(name)).Code);
    }

    [Fact]
    public void NamesLongerThan255AreInvalid() => Assert.False(RepositoryName.IsValid(new string('a', 256)));

    [Theory]
    [InlineData("latest", true)]
    [InlineData("v1.2.3-rc_1", true)]
    [InlineData(".hidden", false)]
    [InlineData("-x", false)]
    [InlineData("a:b", false)]
    public void Tags(string tag, bool valid) => Assert.Equal(valid, RepositoryName.IsValidTag(tag));
}

public sealed class ManifestParserTests
{
    private static readonly string Cfg = $"{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{Digest.FromBytes("c"u8)}\",\"size\":1}}";
    private static readonly string Lay = $"{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{Digest.FromBytes("l"u8)}\",\"size\":1}}";

    private static ParsedManifest Parse(string json, string? ct) => ManifestParser.Parse(Encoding.UTF8.GetBytes(json), ct);

    [Fact]
    public void ImageManifestReferencesConfigAndLayersAndCarriesSubject()
    {
        var subject = Digest.FromBytes("s"u8);
        var json = $"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{Cfg},\"layers\":[{Lay}],\"subject\":{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"{subject}\",\"size\":9}}}}";
        var m = Parse(json, null);
        Assert.Equal("application/vnd.oci.image.manifest.v1+json", m.MediaType);
        Assert.Equal(Digest.FromBytes(Encoding.UTF8.GetBytes(json)), m.Digest);
        Assert.Equal([new ManifestReference(Digest.FromBytes("c"u8), false), new ManifestReference(Digest.FromBytes("l"u8), false)], m.References);
        Assert.Equal(subject, m.Subject);
        Assert.Equal("application/vnd.oci.image.config.v1+json", m.ArtifactType);
    }

    [Fact]
    public void MediaTypeComesFromContentTypeWhenTheBodyHasNone()
    {
        var m = Parse($"{{\"schemaVersion\":2,\"manifests\":[{Cfg.Replace("config", "manifest")}]}}", "application/vnd.oci.image.index.v1+json; charset=utf-8");
        Assert.Equal("application/vnd.oci.image.index.v1+json", m.MediaType);
        Assert.True(Assert.Single(m.References).IsManifest);
    }

    [Fact]
    public void DockerManifestListIsAnIndex()
    {
        var m = Parse($"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"manifests\":[]}}", null);
        Assert.Empty(m.References);
    }

    [Fact]
    public void ForeignLayersNeedNotBeInTheRegistry()
    {
        var foreign = Lay.Replace("\"size\":1", "\"size\":1,\"urls\":[\"https://example.invalid/l\"]");
        var m = Parse($"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{Cfg},\"layers\":[{foreign}]}}", null);
        Assert.Single(m.References);
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("{\"schemaVersion\":2}")]
    [InlineData("{\"schemaVersion\":\"2\",\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"digest\":\"sha256:x\",\"size\":1,\"mediaType\":\"a\"}]}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[],\"annotations\":{\"a\":1}}")]
    [InlineData("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[],\"layers\":[]}")]
    public void InvalidManifests(string json) =>
        Assert.Equal(ErrorCodes.ManifestInvalid, Assert.Throws<RegistryException>(() => Parse(json, "application/vnd.oci.image.index.v1+json")).Code);

    [Fact]
    public void ContentTypeThatContradictsTheBodyIsInvalid() =>
        Assert.Equal(ErrorCodes.ManifestInvalid, Assert.Throws<RegistryException>(() =>
            Parse("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}", "application/vnd.oci.image.manifest.v1+json")).Code);

    [Fact]
    public void OversizeIsSizeInvalid()
    {
        var e = Assert.Throws<RegistryException>(() => ManifestParser.Parse(new byte[ManifestParser.MaxManifestBytes + 1], null));
        Assert.Equal((413, ErrorCodes.SizeInvalid), (e.Status, e.Code));
    }
}

public sealed class HeaderParsingTests
{
    [Theory]
    [InlineData("bytes=0-4", 10, true, 0, 5)]
    [InlineData("bytes=5-", 10, true, 5, 5)]
    [InlineData("bytes=-3", 10, true, 7, 3)]
    [InlineData("bytes=8-100", 10, true, 8, 2)]
    [InlineData("bytes=10-", 10, false, 0, 0)]
    [InlineData("bytes=0-1,3-4", 10, null, 0, 10)]
    [InlineData("items=0-1", 10, null, 0, 10)]
    [InlineData("bytes=5-2", 10, null, 0, 10)]
    public void ByteRanges(string header, long size, bool? ok, long offset, long count)
    {
        var r = RegistryEndpoints.TryParseRange(header, size, out var o, out var c);
        Assert.Equal(ok, r);
        if (ok == true) Assert.Equal((offset, count), (o, c));
    }

    [Theory]
    [InlineData("0-999", true, 0, 999)]
    [InlineData("bytes 1000-1999/3000", true, 1000, 1999)]
    [InlineData("5-2", false, 0, 0)]
    [InlineData("-5", false, 0, 0)]
    [InlineData("abc", false, 0, 0)]
    public void ContentRanges(string value, bool ok, long start, long end)
    {
        Assert.Equal(ok, RegistryEndpoints.TryParseContentRange(value, out var s, out var e));
        if (ok) Assert.Equal((start, end), (s, e));
    }

    [Theory]
    [InlineData(new string[0], "application/vnd.oci.image.manifest.v1+json", true)]
    [InlineData(new[] { "*/*" }, "application/vnd.oci.image.manifest.v1+json", true)]
    [InlineData(new[] { "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json" }, "application/vnd.oci.image.index.v1+json", true)]
    [InlineData(new[] { "application/vnd.docker.distribution.manifest.v2+json" }, "application/vnd.oci.image.manifest.v1+json", false)]
    [InlineData(new[] { "text/plain" }, "application/vnd.oci.image.manifest.v1+json", true)]
    public void AcceptNegotiation(string[] accept, string stored, bool ok) => Assert.Equal(ok, RegistryEndpoints.Acceptable(accept, stored));
}
