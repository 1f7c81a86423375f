using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Integration.Tests;

/// <summary>
/// docker pull/push/login against berthd with the real docker CLI, and real registries on loopback: Debian's
/// docker-registry (distribution 2.8.2) and berth-registry.
/// </summary>
public sealed class DistributionTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private string Dir(string name) => Path.Combine(d.Root, $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);

    private static string Unique(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..(prefix.Length + 8)];

    private async Task<CommandResult> Ok(params string[] args)
    {
        var r = await d.DockerAsync(args);
        Assert.True(r.ExitCode == 0, $"docker {string.Join(' ', args)}: {r}\n{d.DaemonLog[^Math.Min(4000, d.DaemonLog.Length)..]}");
        return r;
    }

    private Task<string> CommitImageAsync(string name, string marker, string? extraCommand = null) => d.CommitImageAsync(name, marker, extraCommand);

    [Theory]
    [InlineData(LoopbackRegistry.Distribution)]
    [InlineData(LoopbackRegistry.Berth)]
    public async Task Push_rmi_pull_and_run_by_tag_and_by_digest(string kind)
    {
        await using var reg = new LoopbackRegistry(kind, Dir("reg"));
        await reg.StartAsync();
        var marker = Unique("m");
        var name = $"{reg.Host}/it/app:1";
        await CommitImageAsync(name, marker);
        var sizeBefore = (await Ok("image", "inspect", "-f", "{{.Size}}", name)).Stdout.Trim();

        var push = await Ok("push", name);
        Assert.Contains("The push refers to repository [" + $"{reg.Host}/it/app]", push.Stdout);
        Assert.Contains("Pushed", push.Stdout);
        var digest = push.Stdout.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("1: digest: ", StringComparison.Ordinal)).Split(' ')[2];
        Assert.StartsWith("sha256:", digest);
        // Pushing again: every layer is there already.
        Assert.Contains("Layer already exists", (await Ok("push", name)).Stdout);

        await Ok("rmi", name);
        Assert.NotEqual(0, (await d.DockerAsync("image", "inspect", name)).ExitCode);

        var pull = await Ok("pull", name);
        Assert.Contains("Pull complete", pull.Stdout);
        Assert.Contains($"Digest: {digest}", pull.Stdout);
        Assert.Contains($"Status: Downloaded newer image for {name}", pull.Stdout);
        Assert.Equal(marker, (await Ok("run", "--rm", name, "cat", "/marker")).Stdout.Trim());
        // Sizes are of the unpacked layers, as docker shows them, not of the compressed blobs that came over the wire.
        Assert.Equal(sizeBefore, (await Ok("image", "inspect", "-f", "{{.Size}}", name)).Stdout.Trim());
        // The deletion in the committed layer came through the registry too.
        Assert.NotEqual(0, (await d.DockerAsync("run", "--rm", name, "test", "-e", "/etc/group")).ExitCode);
        Assert.Contains($"{reg.Host}/it/app@{digest}", (await Ok("image", "inspect", "-f", "{{json .RepoDigests}}", name)).Stdout);
        Assert.Contains("Image is up to date", (await Ok("pull", name)).Stdout);

        // By digest, from nothing.
        await Ok("rmi", name);
        var byDigest = $"{reg.Host}/it/app@{digest}";
        Assert.Contains($"Digest: {digest}", (await Ok("pull", byDigest)).Stdout);
        Assert.Equal(marker, (await Ok("run", "--rm", byDigest, "cat", "/marker")).Stdout.Trim());
        await Ok("rmi", byDigest);
    }

    [Fact]
    public async Task Zstd_pushes_pull_back_and_a_second_repository_mounts_the_layers()
    {
        await using var reg = new LoopbackRegistry(LoopbackRegistry.Berth, Dir("reg"));
        await reg.StartAsync();
        var marker = Unique("z");
        var name = $"{reg.Host}/it/zst";
        await CommitImageAsync($"{name}:1", marker);

        // The docker CLI has no flag for it; the API's compression parameter asks for zstd layers.
        var push = await d.ShellAsync($"curl -sf --unix-socket {d.Socket} -X POST -H 'X-Registry-Auth: e30=' 'http://x/images/{name}/push?tag=1&compression=zstd'");
        Assert.True(push.ExitCode == 0 && push.Stdout.Contains("\"Digest\":\"sha256:", StringComparison.Ordinal), push.ToString());
        Assert.DoesNotContain("errorDetail", push.Stdout);
        using (var http = new HttpClient())
        {
            http.DefaultRequestHeaders.Accept.ParseAdd("application/vnd.oci.image.manifest.v1+json");
            var manifest = await http.GetStringAsync($"http://{reg.Host}/v2/it/zst/manifests/1");
            Assert.Contains("application/vnd.oci.image.layer.v1.tar+zstd", manifest);
        }

        // Pushed (gzip) to one repository and then to another of the same registry: the second mounts the layers.
        await Ok("tag", $"{name}:1", $"{reg.Host}/it/gz-a:1");
        await Ok("tag", $"{name}:1", $"{reg.Host}/it/gz-b:1");
        await Ok("push", $"{reg.Host}/it/gz-a:1");
        Assert.Contains("Mounted from it/gz-a", (await Ok("push", $"{reg.Host}/it/gz-b:1")).Stdout);

        await Ok("rmi", $"{name}:1", $"{reg.Host}/it/gz-a:1", $"{reg.Host}/it/gz-b:1");
        await Ok("pull", $"{name}:1");
        Assert.Equal(marker, (await Ok("run", "--rm", $"{name}:1", "cat", "/marker")).Stdout.Trim());
        await Ok("rmi", $"{name}:1");
    }

    [Fact]
    public async Task A_registry_mirror_serves_docker_hub_names()
    {
        // Only the mirror is ever contacted: it has the image, so there is no fallback to Docker Hub.
        await using var mirror = new LoopbackRegistry(LoopbackRegistry.Distribution, Dir("mirror"));
        await mirror.StartAsync();
        var marker = Unique("hub");
        await CommitImageAsync($"{mirror.Host}/library/hubimage:7", marker);
        await Ok("push", $"{mirror.Host}/library/hubimage:7");

        var other = new DaemonFixture();
        other.ExtraArgs.AddRange(["--registry-mirror", $"http://{mirror.Host}"]);
        try
        {
            Directory.CreateDirectory(other.Root);
            await other.StartDaemonAsync();
            var pull = await other.DockerAsync("pull", "hubimage:7");
            Assert.True(pull.ExitCode == 0, pull.ToString());
            Assert.Contains("Status: Downloaded newer image for hubimage:7", pull.Stdout);
            Assert.Contains("docker.io/library/hubimage:7", pull.Stdout);
            var run = await other.DockerAsync("run", "--rm", "hubimage:7", "cat", "/marker");
            Assert.Equal(marker, run.Stdout.Trim());
        }
        finally
        {
            await other.DisposeAsync();
        }
        await Ok("rmi", $"{mirror.Host}/library/hubimage:7");
    }

    [Fact]
    public async Task A_multi_platform_index_pulls_the_daemons_platform_or_the_one_asked_for()
    {
        await using var reg = new LoopbackRegistry(LoopbackRegistry.Distribution, Dir("reg"));
        await reg.StartAsync();
        var layout = Dir("layout");
        var target = $"{reg.Host}/it/multi:1";
        await d.PushTwoPlatformIndexAsync(layout, target);
        var indexDigest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(layout, "index-blob.json"))));

        await Ok("pull", target);
        Assert.Equal("amd64", (await Ok("image", "inspect", "-f", "{{.Architecture}}", target)).Stdout.Trim());
        Assert.Equal("amd64-image", (await Ok("image", "inspect", "-f", "{{index .Config.Labels \"which\"}}", target)).Stdout.Trim());
        Assert.Contains(indexDigest, (await Ok("image", "inspect", "-f", "{{json .RepoDigests}}", target)).Stdout);
        Assert.Equal("hi", (await Ok("run", "--rm", target, "echo", "hi")).Stdout.Trim());

        await Ok("rmi", target);
        await Ok("pull", "--platform", "linux/arm64", target);
        Assert.Equal("arm64", (await Ok("image", "inspect", "-f", "{{.Architecture}}", target)).Stdout.Trim());
        Assert.Equal("arm64-image", (await Ok("image", "inspect", "-f", "{{index .Config.Labels \"which\"}}", target)).Stdout.Trim());
        await Ok("rmi", target);

        var none = await d.DockerAsync("pull", "--platform", "linux/s390x", target);
        Assert.NotEqual(0, none.ExitCode);
        Assert.Contains("no matching manifest for linux/s390x", none.Stderr);
    }

    [Fact]
    public async Task A_pull_killed_with_the_daemon_resumes_and_fetches_less_than_the_whole()
    {
        const int Size = 100 << 20;
        await using var reg = new LoopbackRegistry(LoopbackRegistry.Distribution, Dir("reg"));
        await reg.StartAsync();
        var name = $"{reg.Host}/it/big:1";
        await CommitImageAsync(name, "big", $"head -c {Size} /dev/urandom > /big");
        await Ok("push", name);
        await Ok("rmi", name);

        // The same repository through a relay that counts and slows the bytes (25 MB/s: four seconds for the layer).
        await using var proxy = new CountingProxy(reg.Port, 25L << 20);
        var viaProxy = $"{proxy.Host}/it/big:1";
        var psi = new ProcessStartInfo("/usr/local/bin/docker") { ArgumentList = { "pull", viaProxy }, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["DOCKER_HOST"] = d.DockerHost;
        psi.Environment["DOCKER_CONFIG"] = Path.Combine(d.Root, "docker-config");
        string pullOut;
        long atKill;
        using (var pull = Process.Start(psi)!)
        {
            var sw = Stopwatch.StartNew();
            while (proxy.Downstream < (30L << 20) && !pull.HasExited && sw.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(50);
            if (pull.HasExited) Assert.Fail("the pull ended before it could be interrupted: " + await pull.StandardError.ReadToEndAsync());
            atKill = proxy.Downstream;
            int pid = d.DaemonPid;
            await d.KillDaemonAsync();
            Assert.False(Directory.Exists($"/proc/{pid}"), "the daemon survived the kill");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            // (The docker CLI takes the end of the stream as the end of the pull, so its exit code says nothing here.)
            await pull.WaitForExitAsync(cts.Token);
            pullOut = await pull.StandardOutput.ReadToEndAsync();
        }
        long first = proxy.Downstream;
        // What the killed daemon had written of the layer (the relay counts more: socket buffers die with it).
        var partials = Directory.GetFiles(Path.Combine(d.DataRoot, "content", "ingest"), "*.resume");
        long kept = partials.Select(f => new FileInfo(f).Length).DefaultIfEmpty(0).Max();
        Assert.True(kept > 0, $"no partial download survived the kill ({first} bytes relayed)");
        await d.StartDaemonAsync();
        Assert.True((await d.DockerAsync("image", "inspect", viaProxy)).ExitCode != 0, $"the image is complete after the kill (relayed {atKill} bytes at the kill, {first} in all): {pullOut}");
        proxy.Reset();

        var again = await Ok("pull", viaProxy);
        Assert.Contains("Pull complete", again.Stdout);
        long second = proxy.Downstream;
        // Less than the whole, by a good part of what was kept (a started-over pull fetches the whole layer again).
        Assert.True(second < Size - kept / 2,
            $"the second pull fetched {second} bytes though {kept} of the layer were kept: it did not continue from there");
        Assert.Equal($"{Size}", (await Ok("run", "--rm", viaProxy, "sh", "-c", "wc -c < /big")).Stdout.Trim());

        // Every blob in the store is what its name says.
        foreach (var blob in Directory.EnumerateFiles(Path.Combine(d.DataRoot, "content", "blobs", "sha256")))
        {
            await using var f = File.OpenRead(blob);
            Assert.Equal(Path.GetFileName(blob), Convert.ToHexStringLower(await SHA256.HashDataAsync(f)));
        }
        await Ok("rmi", viaProxy);
    }

    [Fact]
    public async Task Token_auth_login_push_pull_and_logout()
    {
        await using var reg = await LoopbackRegistry.StartTokenAuthAsync(Dir("tok"), "alice", "alice-pw");
        var name = $"{reg.Host}/it/private:1";
        await CommitImageAsync(name, "secret");

        var anonymous = await d.DockerAsync("push", name);
        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(anonymous.Stderr, "(?i)unauthorized|denied|authentication required"), anonymous.Stderr);

        var bad = await d.DockerStdinAsync("wrong\n", "login", reg.Host, "-u", "alice", "--password-stdin");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Matches("(?i)unauthorized|incorrect username or password", bad.Stderr);

        var login = await d.DockerStdinAsync("alice-pw\n", "login", reg.Host, "-u", "alice", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.Contains("Login Succeeded", login.Stdout);
        await Ok("push", name);
        await Ok("rmi", name);
        await Ok("pull", name);
        Assert.Equal("secret", (await Ok("run", "--rm", name, "cat", "/marker")).Stdout.Trim());

        await Ok("logout", reg.Host);
        await Ok("rmi", name);
        var denied = await d.DockerAsync("pull", name);
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Matches("(?i)unauthorized|denied|authentication required", denied.Stderr);
    }

    [Fact]
    public async Task Unreachable_registries_unknown_names_and_bad_auth_headers_are_clean_errors()
    {
        var port = LoopbackRegistry.FreePort();
        var refused = await d.DockerAsync("pull", $"127.0.0.1:{port}/it/x:1");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"127.0.0.1:{port}", refused.Stderr);
        Assert.Contains("refused", refused.Stderr, StringComparison.OrdinalIgnoreCase);

        await using var reg = new LoopbackRegistry(LoopbackRegistry.Distribution, Dir("reg"));
        await reg.StartAsync();
        var unknown = await d.DockerAsync("pull", $"{reg.Host}/it/nothing-here:1");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("not found", unknown.Stderr);

        var upper = await d.DockerAsync("pull", $"{reg.Host}/It/Upper:1");
        Assert.Equal(1, upper.ExitCode);
        Assert.Contains("invalid reference format", upper.Stderr);

        var missing = await d.DockerAsync("push", $"{reg.Host}/it/never-made:1");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("does not exist locally", missing.Stderr);

        // A malformed X-Registry-Auth is the client's mistake: 400, and the daemon goes on serving.
        var raw = await d.ShellAsync($"curl -s -o /dev/null -w '%{{http_code}}' --unix-socket {d.Socket} -X POST -H 'X-Registry-Auth: !!!notbase64' 'http://x/images/create?fromImage={reg.Host}/it/a&tag=1'");
        Assert.Equal("400", raw.Stdout.Trim());
        Assert.Equal(0, (await d.DockerAsync("version")).ExitCode);
    }
}
