using System.Security.Cryptography;

namespace Berth.Core;

/// <summary>A content address such as <c>sha256:9f86d0…</c>; the only algorithm Berth writes is sha256.</summary>
public readonly record struct Digest(string Algorithm, string Hex)
{
    public const string Sha256 = "sha256";

    public static Digest Parse(string value)
    {
        if (!TryParse(value, out var d))
            throw new BerthException(ErrorKind.InvalidArgument, $"invalid digest \"{value}\"");
        return d;
    }

    public static bool TryParse(string? value, out Digest digest)
    {
        digest = default;
        if (string.IsNullOrEmpty(value)) return false;
        int colon = value.IndexOf(':');
        if (colon <= 0) return false;
        var alg = value[..colon];
        var hex = value[(colon + 1)..];
        if (alg != Sha256 || hex.Length != 64) return false;
        foreach (var c in hex)
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) return false;
        digest = new Digest(alg, hex);
        return true;
    }

    public static Digest FromBytes(ReadOnlySpan<byte> data) =>
        new(Sha256, Convert.ToHexStringLower(SHA256.HashData(data)));

    public static Digest FromHash(byte[] sha256) => new(Sha256, Convert.ToHexStringLower(sha256));

    /// <summary>The first 12 hex characters, as `docker` shows IDs.</summary>
    public string Short => Hex[..12];

    public override string ToString() => $"{Algorithm}:{Hex}";
}
