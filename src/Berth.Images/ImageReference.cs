using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Berth.Core;

namespace Berth.Images;

/// <summary>
/// An image name as Docker normalizes it: <c>busybox</c> is <c>docker.io/library/busybox:latest</c>,
/// <c>localhost:5000/a/b:1</c> keeps its registry, <c>name@sha256:…</c> pins a manifest digest.
/// </summary>
public sealed partial record ImageReference
{
    public const string DefaultDomain = "docker.io";
    public const string DefaultTag = "latest";
    private const string LegacyDomain = "index.docker.io";
    private const string OfficialRepoPrefix = "library/";
    private const int NameMaxLength = 255;

    private ImageReference(string domain, string path, string? tag, Digest? digest)
    {
        Domain = domain;
        Path = path;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>The registry host (with port), e.g. <c>docker.io</c> or <c>localhost:5000</c>.</summary>
    public string Domain { get; }

    /// <summary>The repository path within the registry, e.g. <c>library/busybox</c>.</summary>
    public string Path { get; }

    public string? Tag { get; }

    public Digest? Digest { get; }

    /// <summary>The fully qualified repository: <c>docker.io/library/busybox</c>.</summary>
    public string Name => $"{Domain}/{Path}";

    /// <summary>The repository as the docker CLI shows it: <c>busybox</c>, <c>user/app</c>, <c>localhost:5000/a/b</c>.</summary>
    public string FamiliarName
    {
        get
        {
            if (Domain != DefaultDomain) return Name;
            var p = Path;
            if (p.StartsWith(OfficialRepoPrefix, StringComparison.Ordinal) && p.IndexOf('/', OfficialRepoPrefix.Length) < 0)
                p = p[OfficialRepoPrefix.Length..];
            return p;
        }
    }

    /// <summary><c>busybox:latest</c>, <c>busybox@sha256:…</c>.</summary>
    public string FamiliarString => FamiliarName + Suffix;

    private string Suffix => (Tag is null ? "" : ":" + Tag) + (Digest is { } d ? "@" + d : "");

    /// <summary>The fully qualified reference: <c>docker.io/library/busybox:latest</c>.</summary>
    public override string ToString() => Name + Suffix;

    public ImageReference WithTag(string tag) => new(Domain, Path, tag, null);

    public ImageReference WithoutTagOrDigest() => new(Domain, Path, null, null);

    /// <summary>The repository pinned to a manifest digest: <c>docker.io/library/busybox@sha256:…</c>.</summary>
    public ImageReference WithDigest(Digest digest) => new(Domain, Path, null, digest);

    /// <summary>Parses and normalizes, adding <c>:latest</c> when neither tag nor digest is given (Docker's TagNameOnly).</summary>
    public static ImageReference Parse(string s)
    {
        var r = ParseNormalized(s);
        return r.Tag is null && r.Digest is null ? r.WithTag(DefaultTag) : r;
    }

    public static bool TryParse(string s, [NotNullWhen(true)] out ImageReference? reference)
    {
        try
        {
            reference = Parse(s);
            return true;
        }
        catch (BerthException)
        {
            reference = null;
            return false;
        }
    }

    /// <summary>Parses and normalizes without adding a default tag (Docker's ParseNormalizedNamed).</summary>
    public static ImageReference ParseNormalized(string s)
    {
        if (string.IsNullOrEmpty(s)) throw Invalid();
        if (AnchoredHexId().IsMatch(s))
            throw BerthException.Invalid($"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings");

        string domain, remainder;
        int slash = s.IndexOf('/');
        var first = slash < 0 ? "" : s[..slash];
        if (slash < 0 || (first.IndexOfAny(['.', ':']) < 0 && first != "localhost" && first.ToLowerInvariant() == first))
        {
            domain = DefaultDomain;
            remainder = s;
        }
        else
        {
            domain = first;
            remainder = s[(slash + 1)..];
        }
        if (domain == LegacyDomain) domain = DefaultDomain;
        if (domain == DefaultDomain && !remainder.Contains('/')) remainder = OfficialRepoPrefix + remainder;

        if (!DomainRegex().IsMatch(domain)) throw Invalid();
        var m = RemainderRegex().Match(remainder);
        if (!m.Success)
        {
            // Docker reports uppercase in the repository specially, since it is the commonest mistake.
            var repoPart = remainder.Split('@')[0];
            int colon = repoPart.LastIndexOf(':');
            if (colon > 0) repoPart = repoPart[..colon];
            if (repoPart.Any(char.IsAsciiLetterUpper) && RemainderRegex().IsMatch(remainder.Replace(repoPart, repoPart.ToLowerInvariant(), StringComparison.Ordinal)))
                throw BerthException.Invalid($"invalid reference format: repository name ({repoPart}) must be lowercase");
            throw Invalid();
        }
        var path = m.Groups["path"].Value;
        if (domain.Length + 1 + path.Length > NameMaxLength)
            throw BerthException.Invalid("invalid reference format: repository name must not be more than 255 characters");
        var tag = m.Groups["tag"].Success ? m.Groups["tag"].Value : null;
        Digest? digest = null;
        if (m.Groups["digest"].Success)
        {
            if (!Core.Digest.TryParse(m.Groups["digest"].Value, out var d))
                throw BerthException.Invalid($"invalid reference format: unsupported digest \"{m.Groups["digest"].Value}\"");
            digest = d;
        }
        return new ImageReference(domain, path, tag, digest);
    }

    private static BerthException Invalid() => BerthException.Invalid("invalid reference format");

    [GeneratedRegex("^[a-f0-9]{64}$")]
    private static partial Regex AnchoredHexId();

    // Docker's distribution/reference grammar: a domain (host[:port]), path components of lowercase
    // alphanumerics joined by '.', '_', '__' or runs of '-', a tag of up to 128 word characters, a digest.
    [GeneratedRegex(@"^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$")]
    private static partial Regex DomainRegex();

    [GeneratedRegex(@"^(?<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$")]
    private static partial Regex RemainderRegex();
}
