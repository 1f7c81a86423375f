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
        var parts = platform.ToLowerInvariant().Split('/').ToList();
        if (parts.Count > 3 || parts.Any(p => p.Length == 0))
            throw BerthException.Invalid($"\"{platform}\": unknown operating system or architecture: invalid argument");
        // An architecture alone is this machine's OS with it, as containerd's platforms.Parse reads it.
        if (parts.Count == 1 && parts[0] != "linux" && IsArch(parts[0])) parts.Insert(0, "linux");
        var os = parts[0];
        if (os != "linux") throw BerthException.Invalid($"\"{platform}\": operating system is not supported");
        var (arch, variant) = parts.Count > 1 ? Normalize(parts[1], parts.Count > 2 ? parts[2] : null) : (hostArch, null);
        return (os, arch, variant);
    }

    private static bool IsArch(string s) => Normalize(s, null).Arch is "amd64" or "arm64" or "arm" or "386" or "s390x" or "ppc64le" or "riscv64" or "mips64le";

    /// <summary>containerd's architecture and variant normalisation (x86_64 is amd64, arm is arm/v7, arm64/v8 is arm64).</summary>
    private static (string Arch, string? Variant) Normalize(string arch, string? variant)
    {
        switch (arch)
        {
            case "i386": return ("386", null);
            case "x86_64" or "x86-64" or "amd64": return ("amd64", variant is null or "v1" ? null : variant);
            case "aarch64" or "arm64": return ("arm64", variant is null or "8" or "v8" ? null : variant);
            case "armhf": return ("arm", "v7");
            case "armel": return ("arm", "v6");
            case "arm":
                return ("arm", variant switch { null or "7" => "v7", "5" or "6" or "8" => "v" + variant, var v => v });
            default: return (arch, variant);
        }
    }

    /// <summary>The normalised <c>os/arch[/variant]</c> text of <paramref name="platform"/> (null: this machine's).</summary>
    public static string Format(string? platform)
    {
        var (os, arch, variant) = Parse(platform);
        return variant is null ? $"{os}/{arch}" : $"{os}/{arch}/{variant}";
    }
}
