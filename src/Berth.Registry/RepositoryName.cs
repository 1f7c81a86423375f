using System.Text.RegularExpressions;

namespace Berth.Registry;

/// <summary>Repository names and tags as the OCI Distribution Spec defines them.</summary>
internal static partial class RepositoryName
{
    /// <summary>Path components of lowercase alphanumerics joined by '.', '_', '__' or runs of '-'; components joined by '/'.</summary>
    [GeneratedRegex(@"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();

    [GeneratedRegex(@"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagRegex();

    // Docker's limit on the whole reference; the spec says clients may assume 255 including the host name.
    public const int MaxLength = 255;

    public static bool IsValid(string? name) => !string.IsNullOrEmpty(name) && name.Length <= MaxLength && NameRegex().IsMatch(name);

    public static bool IsValidTag(string? tag) => !string.IsNullOrEmpty(tag) && TagRegex().IsMatch(tag);

    public static void Validate(string name)
    {
        if (!IsValid(name))
            throw new RegistryException(400, ErrorCodes.NameInvalid, "invalid repository name", name);
    }
}
