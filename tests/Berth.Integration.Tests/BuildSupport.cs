namespace Berth.Integration.Tests;

/// <summary>What the build test classes share: a context directory made from files, the real legacy `docker build`,
/// reading its output, and the multi-stage Dockerfile both CLIs build.</summary>
internal static class BuildSupport
{
    /// <summary>
    /// Prints what a RUN step's limits are from inside it: memory, CPU quota (cgroup v1 files, or v2's where the host
    /// has only that), the extra host, nofile soft and hard, the /dev/shm size in KiB.
    /// </summary>
    public const string LimitsScript = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; "
        + "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max; "
        + "grep myhost /etc/hosts; ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1 | awk '{print $2}'";

    public const string MultiStage = """
        ARG WHO=stage
        FROM busybox AS builder
        ARG WHO
        ENV OUT=/out
        RUN mkdir $OUT && echo "built by $WHO" > $OUT/result
        FROM busybox AS unused
        RUN exit 3
        FROM busybox AS final
        ARG PORT=8080
        ENV APP_HOME=/srv/app
        WORKDIR ${APP_HOME}
        COPY --from=builder /out/result ./result
        RUN chown -R 1000:1000 ${APP_HOME}
        USER 1000:1000
        EXPOSE ${PORT:-80}/tcp
        LABEL kind=final home=${APP_HOME}
        ENTRYPOINT ["sh", "-c", "echo \"$(id -u) $(pwd) $(cat result) $APP_HOME $0\""]
        CMD ["from-cmd"]
        FROM final AS extra
        RUN exit 4
        """;

    /// <summary>What a container of <see cref="MultiStage"/>'s final stage (built with WHO=test) prints: each instruction's effect.</summary>
    public const string MultiStageOutput = "1000 /srv/app built by test /srv/app from-cmd\n";

    /// <summary>The config <see cref="MultiStage"/>'s final stage has, as <see cref="MultiStageConfigFormat"/> shows it.</summary>
    public const string MultiStageConfig = """1000:1000 /srv/app {"8080/tcp":{}} ["sh","-c","echo \"$(id -u) $(pwd) $(cat result) $APP_HOME $0\""] ["from-cmd"] final /srv/app APP_HOME=/srv/app""";

    public const string MultiStageConfigFormat =
        """{{.Config.User}} {{.Config.WorkingDir}} {{json .Config.ExposedPorts}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.Labels.kind}} {{.Config.Labels.home}} {{range .Config.Env}}{{if eq (index (split . "=") 0) "APP_HOME"}}{{.}}{{end}}{{end}}""";

    /// <summary>
    /// A container of <paramref name="tag"/> (MultiStage's final stage, WHO=test) shows each instruction's effect (USER,
    /// WORKDIR, ENV, COPY --from, ENTRYPOINT + CMD) and its config has the rest (EXPOSE, LABEL).
    /// </summary>
    public static async Task AssertMultiStageResultAsync(this DaemonFixture d, string tag, string buildOutput)
    {
        var r = await d.DockerAsync("run", "--rm", "--network", "none", tag);
        Assert.True(r.ExitCode == 0, r.ToString() + "\nbuild: " + buildOutput);
        Assert.Equal(MultiStageOutput, r.Stdout);
        Assert.Equal(MultiStageConfig, (await d.DockerAsync("inspect", "-f", MultiStageConfigFormat, tag)).Stdout.Trim());
    }

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
