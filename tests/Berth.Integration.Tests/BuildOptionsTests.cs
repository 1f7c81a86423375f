using System.Security.Cryptography;
using System.Text;

namespace Berth.Integration.Tests;

/// <summary>
/// The <c>docker build</c> options beyond the Dockerfile, with the real CLI (legacy protocol): <c>--pull</c> and bases
/// pulled when absent (from registries on loopback, with the credentials of <c>docker login</c>), <c>--platform</c>,
/// the limits and host settings of RUN steps, and <c>docker builder prune</c> / <c>system df</c> for cache mounts.
/// </summary>
public sealed class BuildOptionsTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private string Dir(string name) => Path.Combine(d.Root, $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);

    private string Tag(string what) => $"bo-{what}-{d.Tag}";

    private async Task<CommandResult> Ok(params string[] args)
    {
        var r = await d.DockerAsync(args);
        Assert.True(r.ExitCode == 0, $"docker {string.Join(' ', args)}: {r}");
        return r;
    }

    private async Task<CommandResult> BuildOk(string dir, params string[] args)
    {
        var r = await d.DockerBuildAsync(dir, args);
        Assert.True(r.ExitCode == 0, $"docker build {string.Join(' ', args)}: {r}\n{d.DaemonLog[^Math.Min(3000, d.DaemonLog.Length)..]}");
        return r;
    }

    private async Task<string> Seen(string image, string path) => (await Ok("run", "--rm", "--network", "none", image, "cat", path)).Stdout;

    [Fact]
    public async Task Pull_takes_the_registrys_base_over_the_local_one_and_an_absent_base_is_pulled()
    {
        await using var reg = new LoopbackRegistry(LoopbackRegistry.Distribution, Dir("reg"));
        await reg.StartAsync();
        var name = $"{reg.Host}/it/base:1";
        await d.CommitImageAsync(name, "registry");
        await Ok("push", name);
        await d.CommitImageAsync(name, "local"); // the local tag now differs from the registry's
        var dir = d.NewContext(("Dockerfile", $"FROM {name}\nRUN cat /marker > /seen\n"));

        var local = await BuildOk(dir, "-t", Tag("local"));
        Assert.DoesNotContain("Pulling from", local.Stdout);
        Assert.Equal("local\n", await Seen(Tag("local"), "/seen"));

        var pulled = await BuildOk(dir, "--pull", "-t", Tag("pulled"));
        Assert.Contains("1: Pulling from it/base", pulled.Stdout);
        Assert.Contains($"Status: Downloaded newer image for {name}", pulled.Stdout);
        Assert.Equal("registry\n", await Seen(Tag("pulled"), "/seen"));
        Assert.Equal("registry\n", await Seen(name, "/marker"));

        // Without --pull, a base that is not here is pulled all the same (as dockerd's legacy builder).
        await Ok("rmi", name, Tag("pulled"));
        var absent = await BuildOk(dir, "-t", Tag("absent"));
        Assert.Contains("Pulling from it/base", absent.Stdout);
        Assert.Equal("registry\n", await Seen(Tag("absent"), "/seen"));

        // A base the registry does not have fails the build with the registry's answer, and leaves no container.
        var missing = await d.DockerBuildAsync(d.NewContext(("Dockerfile", $"FROM {reg.Host}/it/nothing-here:1\nRUN true\n")));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("not found", missing.Stdout);
        Assert.Equal("", (await Ok("ps", "-aq")).Stdout.Trim());
        await Ok("rmi", Tag("local"), Tag("absent"), name);
    }

    [Fact]
    public async Task Platform_picks_the_base_of_that_platform_from_an_index()
    {
        await using var reg = new LoopbackRegistry(LoopbackRegistry.Distribution, Dir("reg"));
        await reg.StartAsync();
        var layout = Dir("layout");
        var target = $"{reg.Host}/it/multi:1";
        await d.PushTwoPlatformIndexAsync(layout, target);
        async Task<string> Inspect(string image, string format) => (await Ok("image", "inspect", "-f", format, image)).Stdout.Trim();

        // --platform: the index's arm64 image (no RUN: this machine cannot run arm64 code).
        var dir = d.NewContext(("Dockerfile", $"FROM {target}\nLABEL built=yes\n"));
        await BuildOk(dir, "--platform", "linux/arm64", "-t", Tag("arm"));
        Assert.Equal("arm64", await Inspect(Tag("arm"), "{{.Architecture}}"));
        Assert.Equal("arm64-image yes", await Inspect(Tag("arm"), "{{index .Config.Labels \"which\"}} {{index .Config.Labels \"built\"}}"));

        // FROM --platform: the local (arm64) image does not fit, so the amd64 one is pulled.
        var amd = d.NewContext(("Dockerfile", $"FROM --platform=linux/amd64 {target}\nRUN echo ran > /ran\n"));
        var b = await BuildOk(amd, "-t", Tag("amd"));
        Assert.Contains("Pulling from it/multi", b.Stdout);
        Assert.Equal("amd64", await Inspect(Tag("amd"), "{{.Architecture}}"));
        Assert.Equal("ran\n", await Seen(Tag("amd"), "/ran"));

        // $BUILDPLATFORM is this machine's, whatever --platform says; the local image fits now, nothing is pulled.
        var build = d.NewContext(("Dockerfile", $"FROM --platform=$BUILDPLATFORM {target}\nLABEL stage=build\n"));
        var c = await BuildOk(build, "--platform", "linux/arm64", "-t", Tag("buildplatform"));
        Assert.DoesNotContain("Pulling from", c.Stdout);
        Assert.Equal("amd64-image", await Inspect(Tag("buildplatform"), "{{index .Config.Labels \"which\"}}"));

        var windows = await d.DockerBuildAsync(dir, "--platform", "windows/amd64");
        Assert.NotEqual(0, windows.ExitCode);
        Assert.Contains("operating system is not supported", windows.Stdout);
        await Ok("rmi", Tag("arm"), Tag("amd"), Tag("buildplatform"), target);
    }

    [Fact]
    public async Task A_private_base_is_pulled_with_the_login_the_cli_sends_and_refused_without_it()
    {
        await using var reg = await LoopbackRegistry.StartTokenAuthAsync(Dir("tok"), "bob", "bob-pw");
        var name = $"{reg.Host}/it/private:1";
        await d.CommitImageAsync(name, "private");
        var login = await d.DockerStdinAsync("bob-pw\n", "login", reg.Host, "-u", "bob", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.ToString());
        await Ok("push", name);
        await Ok("rmi", name);

        // The CLI sends every login it has (X-Registry-Config); the daemon pulls with the one for that registry.
        var ctx = d.NewContext(("Dockerfile", $"FROM {name}\nRUN cat /marker > /seen\n"));
        await BuildOk(ctx, "-t", Tag("private"));
        Assert.Equal("private\n", await Seen(Tag("private"), "/seen"));

        await Ok("logout", reg.Host);
        await Ok("rmi", name, Tag("private"));
        var denied = await d.DockerBuildAsync(ctx);
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Matches("(?i)unauthorized|denied|authentication required", denied.Stdout);
    }

    [Fact]
    public async Task Limits_and_host_settings_apply_to_run_steps_as_to_docker_run()
    {
        const string Script = BuildSupport.LimitsScript;
        var dir = d.NewContext(("Dockerfile", $"FROM busybox\nRUN ({Script}) > /limits\n"));
        await BuildOk(dir, "--no-cache", "--memory", "64m", "--cpu-quota", "50000", "--cpu-period", "100000",
            "--add-host", "myhost:10.1.2.3", "--ulimit", "nofile=1024:2048", "--shm-size", "16m", "-t", Tag("limits"));
        Assert.Equal("67108864\n50000\n10.1.2.3\tmyhost\n1024\n2048\n16384\n", await Seen(Tag("limits"), "/limits"));

        // The same flags on docker run.
        var run = await Ok("run", "--rm", "--memory", "64m", "--cpu-quota", "50000", "--add-host", "myhost:10.1.2.3",
            "--ulimit", "nofile=1024:2048", "--shm-size", "16m", "busybox", "sh", "-c", Script);
        Assert.Equal("67108864\n50000\n10.1.2.3\tmyhost\n1024\n2048\n16384\n", run.Stdout);
        await Ok("rmi", Tag("limits"));
        // Inspect shows the /dev/shm size, dockerd's default when none was asked for.
        var created = (await Ok("create", "busybox", "true")).Stdout.Trim();
        Assert.Equal("67108864", (await Ok("inspect", "-f", "{{.HostConfig.ShmSize}}", created)).Stdout.Trim());
        await Ok("rm", created);

        // --cgroup-parent places each RUN step's container under it, as the flag does on docker run.
        var cgParent = $"/berth-test-bcg-{d.Tag}";
        try
        {
            var cgDir = d.NewContext(("Dockerfile", "FROM busybox\nRUN cat /proc/self/cgroup > /cg\n"));
            await BuildOk(cgDir, "--no-cache", "--cgroup-parent", cgParent, "-t", Tag("cg"));
            Assert.Contains($":memory:{cgParent}/", await Seen(Tag("cg"), "/cg"));
            await Ok("rmi", Tag("cg"));
        }
        finally
        {
            await d.ShellAsync($"find /sys/fs/cgroup -depth -type d -path '*{cgParent}*' -exec rmdir {{}} + 2>/dev/null");
        }

        // As dockerd on Linux: security options are refused on build rather than quietly ignored.
        var secopt = await d.DockerBuildAsync(dir, "--security-opt", "seccomp=unconfined");
        Assert.NotEqual(0, secopt.ExitCode);
        Assert.Contains("does not support setting security options on build", secopt.Stdout);

        // Bad limits are the client's mistake (the docker CLI checks names itself, so these go to the API directly).
        foreach (var (hostConfig, message) in new[]
        {
            ("""{"Ulimits":[{"Name":"bogus","Soft":1,"Hard":2}]}""", "invalid ulimit type: bogus"),
            ("""{"Ulimits":[{"Name":"nofile","Soft":3,"Hard":2}]}""", "soft limit must be less than or equal to hard limit"),
            ("""{"ShmSize":-1}""", "SHM size can not be less than 0"),
        })
        {
            var body = $$"""{"Image":"busybox","Cmd":["true"],"HostConfig":{{hostConfig}}}""";
            var r = await d.ShellAsync($"curl -s -w '\\n%{{http_code}}' --unix-socket {d.Socket} -H 'Content-Type: application/json' -d '{body}' http://x/containers/create");
            Assert.EndsWith("\n400", r.Stdout.Trim());
            Assert.Contains(message, r.Stdout);
        }
        foreach (var query in new[] { "memory=lots", "ulimits=%7Bnot-json", "ulimits=%5B%7B%22Soft%22%3A1%7D%5D" })
        {
            var build = await d.ShellAsync($"curl -s -w '\\n%{{http_code}}' --unix-socket {d.Socket} -X POST -H 'Content-Type: application/x-tar' --data-binary @/dev/null 'http://x/build?{query}'");
            Assert.True(build.Stdout.Trim().EndsWith("\n400", StringComparison.Ordinal), query + ": " + build.Stdout);
        }
    }

    [Fact]
    public async Task Builder_prune_removes_cache_mounts_that_system_df_lists()
    {
        var id = "bo-prune-" + d.Tag;
        var hex = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)));
        var dir = d.NewContext(("Dockerfile", $"FROM busybox\nRUN --mount=type=cache,target=/c,id={id} echo x >> /c/f && wc -l < /c/f > /count\n"));
        await BuildOk(dir, "--no-cache", "-t", Tag("prune"));
        await BuildOk(dir, "--no-cache", "-t", Tag("prune"));
        Assert.Equal("2\n", await Seen(Tag("prune"), "/count"));

        // docker system df -v: "CACHE ID  CACHE TYPE  SIZE  CREATED  LAST USED  USAGE  SHARED", the ID cut to 12.
        var df = await Ok("system", "df", "-v");
        Assert.Matches($@"(?m)^{hex[..12]}\s+exec\.cachemount\s+4B\s+.*\s2\s+false\s*$", df.Stdout);
        Assert.Matches(@"(?m)^Build Cache\s+[1-9]", (await Ok("system", "df")).Stdout);

        // Filters that select no cache mount leave it; a plain prune removes it and says what it reclaimed.
        Assert.DoesNotContain(hex, (await Ok("builder", "prune", "-f", "--filter", "type=regular")).Stdout);
        Assert.DoesNotContain(hex, (await Ok("builder", "prune", "-f", "--filter", "until=240h")).Stdout);
        Assert.DoesNotContain(hex, (await Ok("builder", "prune", "-f", "--filter", "description=cached")).Stdout);
        var conflicting = await d.ShellAsync($"curl -s -w '\\n%{{http_code}}' --unix-socket {d.Socket} -X POST "
            + "'http://x/build/prune?filters=%7B%22until%22%3A%5B%221h%22%5D%2C%22unused-for%22%3A%5B%221h%22%5D%7D'");
        Assert.EndsWith("\n400", conflicting.Stdout.Trim());
        var prune = await Ok("builder", "prune", "-f", "--filter", "type=exec.cachemount");
        Assert.Contains(hex, prune.Stdout);
        Assert.Contains("Total reclaimed space: 4B", prune.Stdout);
        Assert.False(Directory.Exists(Path.Combine(d.DataRoot, "builder", "cache-mounts", hex)));
        var after = (await Ok("system", "df", "-v")).Stdout;
        Assert.DoesNotContain(hex[..12], after);

        // The unpacked context kept for rebuilds is build cache too (BuildKit's source.local): a plain prune removes it.
        Assert.Contains("source.local", after);
        Assert.NotEmpty(Directory.EnumerateDirectories(Path.Combine(d.DataRoot, "builder", "contexts")));
        Assert.Contains("Total reclaimed space:", (await Ok("builder", "prune", "-f")).Stdout);
        Assert.DoesNotContain("source.local", (await Ok("system", "df", "-v")).Stdout);
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(d.DataRoot, "builder", "contexts")));

        // The next build starts from an empty cache.
        await BuildOk(dir, "--no-cache", "-t", Tag("prune"));
        Assert.Equal("1\n", await Seen(Tag("prune"), "/count"));
        await Ok("rmi", Tag("prune"));
    }
}
