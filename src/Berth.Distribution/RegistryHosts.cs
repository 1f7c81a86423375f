using System.Net;
using Berth.Core;

namespace Berth.Distribution;

/// <summary>One base URL a registry is reached at.</summary>
/// <param name="BaseUri">Scheme, host and port, e.g. <c>https://registry-1.docker.io</c>.</param>
/// <param name="SkipTlsVerify">True for an insecure registry reached over HTTPS: its certificate is not checked.</param>
/// <param name="IsMirror">True for a <c>--registry-mirror</c>: a failure there falls through to the next endpoint.</param>
public sealed record RegistryEndpoint(Uri BaseUri, bool SkipTlsVerify, bool IsMirror = false);

/// <summary>What the daemon is told about registries: <c>--insecure-registry</c> and <c>--registry-mirror</c>.</summary>
public sealed record RegistryOptions
{
    /// <summary><c>host[:port]</c> names or CIDRs (matched against IP-literal hosts) that may be reached without verified TLS.</summary>
    public IReadOnlyList<string> InsecureRegistries { get; init; } = [];

    /// <summary>Mirrors of Docker Hub (<c>https://mirror.example</c>), tried before it.</summary>
    public IReadOnlyList<Uri> Mirrors { get; init; } = [];
}

/// <summary>
/// Where a registry name (the domain part of an image reference) is reached, Docker's way: <c>docker.io</c> is
/// <c>registry-1.docker.io</c> after any mirrors; an insecure registry (configured, or on loopback, which Docker
/// treats as insecure by default through its 127.0.0.0/8 entry) is tried over HTTPS without verification and then
/// over plain HTTP; every other registry is HTTPS only.
/// </summary>
public sealed class RegistryHosts(RegistryOptions options)
{
    public const string DockerHub = "docker.io";
    private const string DockerHubHost = "registry-1.docker.io";

    public RegistryOptions Options { get; } = options;

    public IReadOnlyList<RegistryEndpoint> EndpointsFor(string domain)
    {
        var list = new List<RegistryEndpoint>();
        if (domain == DockerHub)
        {
            foreach (var m in Options.Mirrors)
                list.Add(new RegistryEndpoint(new Uri(m.GetLeftPart(UriPartial.Authority)), SkipTlsVerify: false, IsMirror: true));
            domain = DockerHubHost;
        }
        bool insecure = IsInsecure(domain);
        list.Add(new RegistryEndpoint(new Uri($"https://{domain}"), SkipTlsVerify: insecure));
        if (insecure) list.Add(new RegistryEndpoint(new Uri($"http://{domain}"), SkipTlsVerify: true));
        return list;
    }

    /// <summary>True when <paramref name="domain"/> (<c>host[:port]</c>) may be used without verified TLS.</summary>
    public bool IsInsecure(string domain)
    {
        var host = HostOf(domain);
        if (host == "localhost") return true;
        IPAddress.TryParse(host.Trim('[', ']'), out var ip);
        if (ip is not null && IPAddress.IsLoopback(ip)) return true;
        foreach (var entry in Options.InsecureRegistries)
        {
            if (string.Equals(entry, domain, StringComparison.OrdinalIgnoreCase) || string.Equals(entry, host, StringComparison.OrdinalIgnoreCase))
                return true;
            if (ip is not null && entry.Contains('/') && IPNetwork.TryParse(entry, out var net) && net.Contains(ip)) return true;
        }
        return false;
    }

    /// <summary>Checks a <c>--insecure-registry</c> or <c>--registry-mirror</c> value at daemon start.</summary>
    public static void Validate(RegistryOptions options)
    {
        foreach (var entry in options.InsecureRegistries)
        {
            if (entry.Contains("://", StringComparison.Ordinal))
                throw BerthException.Invalid($"insecure registry {entry} should not contain '://'");
            if (entry.Contains('/') && !IPNetwork.TryParse(entry, out _))
                throw BerthException.Invalid($"insecure registry {entry} is not a valid CIDR or host[:port]");
        }
        foreach (var m in options.Mirrors)
            if (m.Scheme is not ("http" or "https") || m.AbsolutePath.Trim('/').Length > 0)
                throw BerthException.Invalid($"invalid mirror: {m}: it must be a scheme and host, like https://mirror.example");
    }

    private static string HostOf(string domain)
    {
        if (domain.StartsWith('['))
        {
            int end = domain.IndexOf(']');
            return end < 0 ? domain : domain[..(end + 1)];
        }
        int colon = domain.LastIndexOf(':');
        return (colon < 0 ? domain : domain[..colon]).ToLowerInvariant();
    }
}
