using Berth.Core;

namespace Berth.Core.Tests;

public sealed class IdsTests
{
    [Fact]
    public void NewId_Is64LowercaseHex()
    {
        for (int i = 0; i < 100; i++)
        {
            var id = Ids.NewId();
            Assert.Equal(64, id.Length);
            Assert.All(id, c => Assert.True(char.IsAsciiDigit(c) || c is >= 'a' and <= 'f', $"unexpected character '{c}' in {id}"));
        }
    }

    [Fact]
    public void NewId_IsUnique()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => Ids.NewId()).ToHashSet();
        Assert.Equal(1000, ids.Count);
    }

    [Fact]
    public void NewId_IsAValidDigestHex()
    {
        // Container and exec IDs share the digest's shape, so `docker` can shorten either to 12 characters.
        Assert.True(Digest.TryParse("sha256:" + Ids.NewId(), out _));
    }
}
