using Berth.Core;

namespace Berth.Core.Tests;

public sealed class DigestTests
{
    // sha256 of the empty string and of "abc", from FIPS 180-2.
    private const string EmptyHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private const string AbcHex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    [Fact]
    public void Parse_ValidSha256_SplitsAlgorithmAndHex()
    {
        var d = Digest.Parse("sha256:" + AbcHex);
        Assert.Equal("sha256", d.Algorithm);
        Assert.Equal(AbcHex, d.Hex);
        Assert.Equal("sha256:" + AbcHex, d.ToString());
        Assert.Equal(d, Digest.Parse(d.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sha256")]
    [InlineData("sha256:")]
    [InlineData(":" + AbcHex)]
    [InlineData(AbcHex)]
    [InlineData("sha512:" + AbcHex)]
    [InlineData("SHA256:" + AbcHex)]
    [InlineData("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")]
    [InlineData("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a")]
    [InlineData("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0")]
    [InlineData("sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("sha256: a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    public void Parse_Invalid_ThrowsInvalidArgument(string value)
    {
        Assert.False(Digest.TryParse(value, out var d));
        Assert.Equal(default, d);
        var ex = Assert.Throws<BerthException>(() => Digest.Parse(value));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("invalid digest", ex.Message);
    }

    [Fact]
    public void TryParse_Null_IsFalse()
    {
        Assert.False(Digest.TryParse(null, out _));
    }

    [Fact]
    public void FromBytes_MatchesKnownVectors()
    {
        Assert.Equal("sha256:" + EmptyHex, Digest.FromBytes([]).ToString());
        Assert.Equal("sha256:" + AbcHex, Digest.FromBytes("abc"u8).ToString());
        Assert.NotEqual(Digest.FromBytes("abc"u8), Digest.FromBytes("abd"u8));
    }

    [Fact]
    public void FromHash_UsesLowercaseHex()
    {
        var hash = System.Security.Cryptography.SHA256.HashData("abc"u8);
        Assert.Equal(Digest.FromBytes("abc"u8), Digest.FromHash(hash));
    }

    [Fact]
    public void Short_IsFirstTwelveHexCharacters()
    {
        var d = Digest.FromBytes("abc"u8);
        Assert.Equal("ba7816bf8f01", d.Short);
        Assert.Equal(12, d.Short.Length);
    }
}
