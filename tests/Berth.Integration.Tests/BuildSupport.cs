namespace Berth.Integration.Tests;

/// <summary>What the build test classes share: a context directory made from files, the real legacy `docker build`,
/// reading its output, and the multi-stage Dockerfile both CLIs build.</summary>
internal static class BuildSupport
{
    public const string MultiStage = """
        ARG WHO=stage
        FROM busybox AS builder
        ARG WHO
        RUN mkdir /out && echo "built by $WHO" > /out/result
        FROM busybox AS unused
        RUN exit 3
        FROM busybox AS final
        COPY --from=builder /out/result /result
        LABEL kind=final
        CMD ["cat", "/result"]
        FROM final AS extra
        RUN exit 4
        """;

    /// <summary>A fresh directory under the daemon's root holding <paramref name="files"/> (paths may have directories).</summary>
    public static string NewContext(this DaemonFixture d, params (string Name, string Content)[] files)
    {
        var dir = Path.Combine(d.Root, "ctx-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        foreach (var (name, content) in files)
        {
            var p = Path.Combine(dir, name);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllText(p, content);
        }
        return dir;
    }

    /// <summary>`DOCKER_BUILDKIT=0 docker build ARGS .` in <paramref name="dir"/>, stdout and stderr together.</summary>
    public static Task<CommandResult> DockerBuildAsync(this DaemonFixture d, string dir, params string[] args) =>
        d.ShellAsync($"cd {dir} && DOCKER_BUILDKIT=0 DOCKER_HOST={d.DockerHost} DOCKER_CONFIG={d.Root}/docker-config /usr/local/bin/docker build {string.Join(' ', args)} . 2>&1");

    /// <summary>The short ID of a build's "Successfully built" line.</summary>
    public static string ShortId(string output) =>
        output.Split('\n').Single(l => l.StartsWith("Successfully built ", StringComparison.Ordinal))["Successfully built ".Length..].Trim();
}
