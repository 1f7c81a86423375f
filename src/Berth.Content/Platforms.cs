using System.Runtime.InteropServices;
using Berth.Core;

namespace Berth.Content;

/// <summary>Platforms as Docker writes them (<c>linux/amd64</c>, <c>linux/arm/v7</c>).</summary>
public static class Platforms
{
    /// <summary>This machine's architecture in OCI's words.</summary>
    public static string HostArch => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.RiscV64 => "riscv64",
        var a => a.ToString().ToLowerInvariant(),
    };

    /// <summary><c>os/arch[/variant]</c> with Docker's normalisations; default the daemon's own platform.</summary>
    public static (string Os, string Arch, string? Variant) Parse(string? platform)
    {
        var hostArch = HostArch;
        if (string.IsNullOrEmpty(platform)) return ("linux", hostArch, null);
        var parts = platform.ToLowerInvariant().Split('/');
        if (parts.Length > 3 || parts.Any(p => p.Length == 0))
            throw BerthException.Invalid($"\"{platform}\": unknown operating system or architecture: invalid argument");
        var os = parts[0];
        if (os != "linux") throw BerthException.Invalid($"\"{platform}\": operating system is not supported");
        var arch = parts.Length > 1 ? parts[1] switch { "x86_64" or "x86-64" => "amd64", "aarch64" => "arm64", var a => a } : hostArch;
        return (os, arch, parts.Length > 2 ? parts[2] : null);
    }

    /// <summary>The normalised <c>os/arch[/variant]</c> text of <paramref name="platform"/> (null: this machine's).</summary>
    public static string Format(string? platform)
    {
        var (os, arch, variant) = Parse(platform);
        return variant is null ? $"{os}/{arch}" : $"{os}/{arch}/{variant}";
    }
}
