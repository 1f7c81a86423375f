using System.Buffers;
using System.Text;
using Berth.Daemon.Http;

namespace Berth.Daemon.Tests;

public sealed class BodyFramingTests
{
    private const string NextRequest = "GET /_ping HTTP/1.1\r\n\r\n";

    /// <summary>Feeds the bytes as the middleware gets them, in pieces of the given sizes: what was not taken is offered again with what follows.</summary>
    private static (long Taken, BodyFraming Framing) Feed(BodyFraming framing, byte[] bytes, IEnumerable<int> pieces)
    {
        long taken = 0;
        int arrived = 0;
        foreach (var size in pieces.Append(bytes.Length))
        {
            arrived = Math.Min(bytes.Length, arrived + size);
            taken += framing.Scan(new ReadOnlySequence<byte>(bytes, (int)taken, arrived - (int)taken));
            if (framing.Done || framing.Invalid) break;
        }
        return (taken, framing);
    }

    [Fact]
    public void Length_TakesExactlyTheBody()
    {
        var bytes = Encoding.ASCII.GetBytes("0123456789" + NextRequest);
        foreach (var piece in new[] { 1, 3, 10, 100 })
        {
            var (taken, framing) = Feed(BodyFraming.Length(10), bytes, Enumerable.Repeat(piece, bytes.Length));
            Assert.True(framing.Done);
            Assert.Equal(10, taken);
        }
    }

    [Fact]
    public void Length_Zero_IsDoneAtOnce()
    {
        var framing = BodyFraming.Length(0);
        Assert.True(framing.Done);
        Assert.Equal(0, framing.Scan(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(NextRequest))));
    }

    [Fact]
    public void Chunked_EndsAfterTheTrailers_WhereverTheBytesSplit()
    {
        const string body = "5\r\nhello\r\n3;name=value\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n";
        var bytes = Encoding.ASCII.GetBytes(body + NextRequest);
        // Every split in two, and byte by byte: the body ends in the same place and the next request is not taken.
        for (int split = 1; split < bytes.Length; split++)
        {
            var (taken, framing) = Feed(BodyFraming.Chunked(), bytes, [split]);
            Assert.True(framing.Done, $"split at {split}");
            Assert.Equal(body.Length, taken);
        }
        var (oneByOne, f) = Feed(BodyFraming.Chunked(), bytes, Enumerable.Repeat(1, bytes.Length));
        Assert.True(f.Done);
        Assert.Equal(body.Length, oneByOne);
    }

    [Fact]
    public void Chunked_PartialSizeLine_IsLeftForTheNextScan()
    {
        var framing = BodyFraming.Chunked();
        Assert.Equal(0, framing.Scan(new ReadOnlySequence<byte>("1f"u8.ToArray())));
        Assert.False(framing.Done || framing.Invalid);
        Assert.Equal(4, framing.Scan(new ReadOnlySequence<byte>("1f\r\n"u8.ToArray())));
    }

    [Fact]
    public void Chunked_UnfinishedBody_IsNotDone()
    {
        var (taken, framing) = Feed(BodyFraming.Chunked(), Encoding.ASCII.GetBytes("a\r\n01234"), []);
        Assert.False(framing.Done);
        Assert.False(framing.Invalid);
        Assert.Equal(8, taken);
    }

    [Theory]
    [InlineData("zz\r\n", 0)]
    [InlineData("-1\r\n", 0)]
    [InlineData("\r\n", 0)]
    [InlineData("1000000000000000\r\n", 0)] // 16 hex digits: more than any body
    [InlineData("5\r\nhello\r\n0x3\r\n", 10)]
    public void Chunked_BrokenSizeLine_IsInvalid_AndNothingOfItIsTaken(string text, long expected)
    {
        var bytes = Encoding.ASCII.GetBytes(text + "abc\r\n0\r\n\r\n");
        var (taken, framing) = Feed(BodyFraming.Chunked(), bytes, []);
        Assert.True(framing.Invalid);
        Assert.False(framing.Done);
        Assert.Equal(expected, taken);
    }

    [Fact]
    public void Chunked_EndlessSizeLine_IsInvalid()
    {
        var framing = BodyFraming.Chunked();
        framing.Scan(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(new string('1', 70_000))));
        Assert.True(framing.Invalid);
    }
}
