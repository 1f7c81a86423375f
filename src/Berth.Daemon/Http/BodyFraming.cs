using System.Buffers;
using System.Globalization;
using System.Text;

namespace Berth.Daemon.Http;

/// <summary>
/// Finds where one request body ends in the bytes that follow its head (<c>Content-Length</c> or chunked framing),
/// scanning whatever has arrived so far. <see cref="HijackMiddleware"/> forwards each arrival in one write, rather
/// than one write per chunk: the docker CLI sends a build context in about a thousand small chunks.
/// </summary>
internal sealed class BodyFraming
{
    private const int MaxLine = 64 * 1024;

    private enum State { SizeLine, Data, Trailer, Done, Invalid }

    private readonly bool _chunked;
    private State _state;
    private long _remaining;

    private BodyFraming(bool chunked, State state, long remaining) => (_chunked, _state, _remaining) = (chunked, state, remaining);

    public static BodyFraming Length(long length) => new(false, length > 0 ? State.Data : State.Done, length);

    public static BodyFraming Chunked() => new(true, State.SizeLine, 0);

    /// <summary>The whole body has been scanned.</summary>
    public bool Done => _state == State.Done;

    /// <summary>A chunk header that is not one: the bytes from there on are the HTTP layer's to reject.</summary>
    public bool Invalid => _state == State.Invalid;

    /// <summary>
    /// How many of <paramref name="buffer"/>'s leading bytes belong to the body. A chunk-size or trailer line that has
    /// not fully arrived is left for the next call, which gets it again with what follows.
    /// </summary>
    public long Scan(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (!reader.End && _state is State.Data or State.SizeLine or State.Trailer)
        {
            if (_state == State.Data)
            {
                long take = Math.Min(_remaining, reader.Remaining);
                reader.Advance(take);
                _remaining -= take;
                if (_remaining == 0) _state = _chunked ? State.SizeLine : State.Done;
                continue;
            }
            var start = reader.Consumed;
            if (!reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: true))
            {
                if (reader.Remaining > MaxLine) _state = State.Invalid;
                return reader.Consumed;
            }
            if (_state == State.Trailer)
            {
                if (line.IsEmpty) _state = State.Done;
            }
            else if (ChunkSize(line) is not { } size)
            {
                _state = State.Invalid;
                return start;
            }
            else if (size == 0)
            {
                _state = State.Trailer;
            }
            else
            {
                (_state, _remaining) = (State.Data, size + 2); // the data, then its CRLF
            }
        }
        return reader.Consumed;
    }

    /// <summary>The hex size before any <c>;extension</c>; null when it is not one.</summary>
    private static long? ChunkSize(ReadOnlySequence<byte> line)
    {
        if (line.Length > MaxLine) return null;
        var text = Encoding.ASCII.GetString(line.IsSingleSegment ? line.FirstSpan : line.ToArray());
        var hex = text.Split(';')[0].Trim(' ', '\t');
        return hex.Length is > 0 and <= 15 && long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var n)
            ? n
            : null;
    }
}
