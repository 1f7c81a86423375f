using System.Diagnostics;
using Berth.Core.Interop;

namespace Berth.Runtime.Tests;

internal static class TestEnv
{
    public const string Runc = "/usr/sbin/runc";

    public static string RepoRoot => Berth.Tests.Shared.RepoPaths.Root;

    /// <summary>The shim build's apphost, or BERTH_TEST_SHIM (e.g. a NativeAOT publish) when set.</summary>
    public static string ShimPath
    {
        get
        {
            if (Environment.GetEnvironmentVariable("BERTH_TEST_SHIM") is { Length: > 0 } overridden) return overridden;
            var cfg = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(RepoRoot, "src", "Berth.Shim", "bin", cfg, "net10.0", "berth-shim");
        }
    }

    public static bool CanRunContainers => Sys.GetUid() == 0 && File.Exists(Runc) && File.Exists("/bin/busybox");

    public static string Rand() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));

    public static string NewTempDir(string what)
    {
        var dir = Path.Combine("/tmp", $"berth-test-{what}-{Rand()}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static (int Code, string Out, string Err) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(true);
            throw new TimeoutException($"{file} did not finish");
        }
        return (p.ExitCode, o.Result, e.Result);
    }
}

/// <summary>A minimal image: static busybox with its applet links, and the users Docker images usually have.</summary>
internal static class BusyboxRootfs
{
    public static void Create(string rootfs)
    {
        foreach (var d in new[] { "bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "root", "mnt", "var", "usr/bin" })
            Directory.CreateDirectory(Path.Combine(rootfs, d));
        File.Copy("/bin/busybox", Path.Combine(rootfs, "bin", "busybox"));
        var list = TestEnv.Run("/bin/busybox", "--list").Out;
        foreach (var applet in list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (applet is "busybox" || applet.Contains('/')) continue;
            var link = Path.Combine(rootfs, "bin", applet);
            if (!File.Exists(link)) File.CreateSymbolicLink(link, "busybox");
        }
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(Path.Combine(rootfs, "tmp"), (UnixFileMode)0x3FF); // 01777
    }
}
