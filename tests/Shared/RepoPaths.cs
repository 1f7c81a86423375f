namespace Berth.Tests.Shared;

/// <summary>The repository checkout the tests run from (found by Berth.slnx) and its build outputs; linked into each test project that needs it.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = Find();

    /// <summary>scripts/build.sh's output: berthd, berth, berth-shim, berth-registry, berth-fshelper.</summary>
    public static string Out => Path.Combine(Root, "out");

    private static string Find()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("cannot find the repository root (Berth.slnx)");
    }
}
