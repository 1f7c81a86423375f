namespace Berth.Api;

/// <summary>
/// Docker's detach sequence (default Ctrl-P Ctrl-Q): typed on an attached stdin it ends the attach and leaves the
/// container running. The daemon watches for it as dockerd does (for clients that do not watch themselves), and
/// the CLI watches too, as docker's does, so that it stops sending at once.
/// </summary>
public sealed class DetachKeys
{
    public const string Default = "ctrl-p,ctrl-q";
    private readonly byte[] _keys;

    private DetachKeys(byte[] keys) => _keys = keys;

    public IReadOnlyList<byte> Keys => _keys;

    /// <summary>Parses Docker's format: comma-separated single characters or <c>ctrl-X</c> (X one of a-z @ [ \ ] ^ _).</summary>
    /// <exception cref="FormatException">Docker's "Invalid detach keys" message.</exception>
    public static DetachKeys Parse(string? spec)
    {
        if (string.IsNullOrEmpty(spec)) spec = Default;
        var keys = new List<byte>();
        foreach (var part in spec.Split(','))
        {
            var k = part.Trim();
            if (k.Length == 1 && k[0] < 128)
            {
                keys.Add((byte)k[0]);
                continue;
            }
            if (k.Length == 6 && k.StartsWith("ctrl-", StringComparison.OrdinalIgnoreCase))
            {
                char c = char.ToLowerInvariant(k[5]);
                int? code = c switch
                {
                    >= 'a' and <= 'z' => c - 'a' + 1,
                    '@' => 0,
                    '[' => 27,
                    '\\' => 28,
                    ']' => 29,
                    '^' => 30,
                    '_' => 31,
                    _ => null,
                };
                if (code is { } v)
                {
                    keys.Add((byte)v);
                    continue;
                }
            }
            throw new FormatException($"Invalid detach keys ({spec}) provided");
        }
        return new DetachKeys([.. keys]);
    }

    /// <summary>A fresh matcher for one stdin stream.</summary>
    public Scanner NewScanner() => new(_keys);

    /// <summary>
    /// Passes stdin through, holding back bytes that may be the start of the sequence; a held prefix that turns
    /// out not to be the sequence is passed on with what follows, so no typed byte is lost.
    /// </summary>
    public sealed class Scanner(byte[] keys)
    {
        private int _matched;

        /// <summary>Appends to <paramref name="output"/> what may go to the container; true when the sequence is complete.</summary>
        public bool Feed(ReadOnlySpan<byte> input, List<byte> output)
        {
            foreach (var b in input)
            {
                if (keys.Length == 0)
                {
                    output.Add(b);
                    continue;
                }
                if (b == keys[_matched])
                {
                    if (++_matched == keys.Length) return true;
                    continue;
                }
                // Not the sequence after all: release what was held, then look at this byte afresh.
                for (int i = 0; i < _matched; i++) output.Add(keys[i]);
                _matched = 0;
                if (b == keys[0])
                {
                    if (keys.Length == 1) return true;
                    _matched = 1;
                }
                else
                {
                    output.Add(b);
                }
            }
            return false;
        }
    }
}
