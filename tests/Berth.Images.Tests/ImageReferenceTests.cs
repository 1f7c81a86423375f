using Berth.Core;

namespace Berth.Images.Tests;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("busybox:1.36", "docker.io", "library/busybox", "1.36", "docker.io/library/busybox:1.36", "busybox:1.36")]
    [InlineData("library/busybox", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("index.docker.io/user/app", "docker.io", "user/app", "latest", "docker.io/user/app:latest", "user/app:latest")]
    [InlineData("user/app:v1", "docker.io", "user/app", "v1", "docker.io/user/app:v1", "user/app:v1")]
    [InlineData("localhost:5000/a/b:1", "localhost:5000", "a/b", "1", "localhost:5000/a/b:1", "localhost:5000/a/b:1")]
    [InlineData("localhost/app", "localhost", "app", "latest", "localhost/app:latest", "localhost/app:latest")]
    [InlineData("quay.io/org/sub/img", "quay.io", "org/sub/img", "latest", "quay.io/org/sub/img:latest", "quay.io/org/sub/img:latest")]
    [InlineData("Registry.Example.com/x", "Registry.Example.com", "x", "latest", "Registry.Example.com/x:latest", "Registry.Example.com/x:latest")]
    [InlineData("a__b/c-d.e:T_1.x-y", "docker.io", "a__b/c-d.e", "T_1.x-y", "docker.io/a__b/c-d.e:T_1.x-y", "a__b/c-d.e:T_1.x-y")]
    [InlineData("foo:5000", "docker.io", "library/foo", "5000", "docker.io/library/foo:5000", "foo:5000")]
    [InlineData("[::1]:5000/img", "[::1]:5000", "img", "latest", "[::1]:5000/img:latest", "[::1]:5000/img:latest")]
    public void Parse_Normalizes(string input, string domain, string path, string tag, string full, string familiar)
    {
        var r = ImageReference.Parse(input);
        Assert.Equal(domain, r.Domain);
        Assert.Equal(path, r.Path);
        Assert.Equal(tag, r.Tag);
        Assert.Equal(full, r.ToString());
        Assert.Equal(familiar, r.FamiliarString);
    }

    [Fact]
    public void Parse_Digest()
    {
        var hex = new string('a', 64);
        var r = ImageReference.Parse($"busybox@sha256:{hex}");
        Assert.Null(r.Tag);
        Assert.Equal($"sha256:{hex}", r.Digest.ToString());
        Assert.Equal($"busybox@sha256:{hex}", r.FamiliarString);
        var both = ImageReference.Parse($"busybox:1@sha256:{hex}");
        Assert.Equal("1", both.Tag);
        Assert.Equal($"docker.io/library/busybox:1@sha256:{hex}", both.ToString());
        Assert.Null(ImageReference.ParseNormalized("busybox").Tag);
    }

    [Theory]
    [InlineData("")]
    [InlineData("UPPER/")]
    [InlineData("a//b")]
    [InlineData("a/b/")]
    [InlineData("-abc")]
    [InlineData("abc:")]
    [InlineData("abc:-tag")]
    [InlineData("a b")]
    [InlineData("busybox@sha256:abc")]
    [InlineData("a:b:c")]
    public void Parse_Invalid(string input)
    {
        var ex = Assert.Throws<BerthException>(() => ImageReference.Parse(input));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.StartsWith("invalid reference format", ex.Message);
    }

    [Fact]
    public void Parse_UppercaseAndHex_UseDockerWording()
    {
        var up = Assert.Throws<BerthException>(() => ImageReference.Parse("Busybox"));
        Assert.Equal("invalid reference format: repository name (library/Busybox) must be lowercase", up.Message);
        var hex = new string('b', 64);
        var h = Assert.Throws<BerthException>(() => ImageReference.Parse(hex));
        Assert.Equal($"invalid repository name ({hex}), cannot specify 64-byte hexadecimal strings", h.Message);
        Assert.Throws<BerthException>(() => ImageReference.Parse(new string('a', 300)));
    }
}
