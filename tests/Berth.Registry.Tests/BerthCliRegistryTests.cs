using System.Net;

namespace Berth.Registry.Tests;

/// <summary><c>berth registry serve|gc</c>: the CLI runs berth-registry in the foreground and passes SIGTERM on.</summary>
public sealed class BerthCliRegistryTests
{
    [Fact]
    public async Task ServeRunsTheRegistryUntilSigterm()
    {
        var registry = new RegistryProcess { ViaBerthCli = true };
        try
        {
            Directory.CreateDirectory(registry.Root);
            await registry.StartAsync();
            await TestImages.PushImageAsync(registry.Http, "cli/app", "v1");
            var berth = Path.Combine(registry.RepoRoot, "out", "berth");

            var gc = await registry.RunAsync(berth, ["registry", "gc", "--root", registry.Storage, "--grace", "0s", "--dry-run"]);
            Assert.True(gc.ExitCode == 0, gc.ToString());
            Assert.Contains("would remove 0 manifests, 0 blob links, 0 blobs", gc.Stdout);

            var help = await registry.RunAsync(berth, ["registry", "--help"]);
            Assert.Contains("serve", help.Stdout);
            Assert.Contains("gc", help.Stdout);

            await registry.StopAsync(); // SIGTERM to berth, which passes it on
            Assert.True(registry.HasExited);
            Assert.Equal(0, registry.ExitCode);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => registry.Http.GetAsync("/v2/"));
        }
        finally
        {
            await registry.DisposeAsync();
        }
    }

    [Fact]
    public async Task BadFlagsAreRefusedByTheCli()
    {
        var registry = new RegistryProcess();
        var r = await registry.RunAsync(Path.Combine(registry.RepoRoot, "out", "berth"), ["registry", "serve", "--colour", "red"]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("unknown flag: --colour", r.Stderr);
        await registry.DisposeAsync();
    }
}
