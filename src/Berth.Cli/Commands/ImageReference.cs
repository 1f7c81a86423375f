namespace Berth.Cli.Commands;

// An image reference as docker's distribution/reference normalizes it: "busybox" is docker.io/library/busybox:latest.
internal sealed record ImageReference(string Domain, string Path, string? Tag, string? Digest)
{
    private const string DefaultDomain = "docker.io";

    public static ImageReference Parse(string text)
    {
        string? digest = null;
        var at = text.IndexOf('@');
        if (at >= 0)
        {
            digest = text[(at + 1)..];
            text = text[..at];
        }
        string? tag = null;
        var colon = text.LastIndexOf(':');
        if (colon > text.LastIndexOf('/'))
        {
            tag = text[(colon + 1)..];
            text = text[..colon];
        }
        var slash = text.IndexOf('/');
        var first = slash < 0 ? "" : text[..slash];
        // The first component is a registry only when it looks like a host: a dot, a port, or localhost.
        var (domain, path) = slash >= 0 && (first.Contains('.') || first.Contains(':') || first == "localhost" || first != first.ToLowerInvariant())
            ? (first, text[(slash + 1)..])
            : (DefaultDomain, text);
        if (domain == DefaultDomain && !path.Contains('/'))
        {
            path = "library/" + path;
        }
        if (tag is null && digest is null)
        {
            return new ImageReference(domain, path, "latest", null) { ImplicitTag = true };
        }
        return new ImageReference(domain, path, tag, digest);
    }

    // The user named no tag and no digest, so "latest" was filled in.
    public bool ImplicitTag { get; init; }

    public string Name => $"{Domain}/{Path}";

    // What the API's "tag" parameter takes: the digest when there is one.
    public string? ApiTag => Digest ?? Tag;

    public string FullString => Name + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    // docker's FamiliarString: without docker.io/ and library/.
    public string Familiar
    {
        get
        {
            var name = Domain == DefaultDomain ? (Path.StartsWith("library/", StringComparison.Ordinal) && Path.IndexOf('/', 8) < 0 ? Path[8..] : Path) : Name;
            return name + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);
        }
    }
}
