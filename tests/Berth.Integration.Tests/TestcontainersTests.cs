using System.Text;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;

namespace Berth.Integration.Tests;

/// <summary>
/// Testcontainers for .NET (on Docker.DotNet) against berthd: an image built from a Dockerfile with a build argument
/// and a target (the legacy build protocol), a container of it started with a random published port and a healthcheck
/// wait, then HTTP through that port, exec, a file read and copy, logs, and the clean-up. Its resource reaper (Ryuk) is
/// an image from Docker Hub, which is not reachable here: it is off, and the test disposes what it made (a container
/// with clean-up on is removed when disposed).
/// </summary>
public sealed class TestcontainersTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    [Fact]
    public async Task BuildsAnImageAndRunsAContainerOfIt()
    {
        TestcontainersSettings.ResourceReaperEnabled = false;
        var endpoint = new Uri($"unix://{d.Socket}");
        var name = $"tc-img-{d.Tag}:latest";
        var dir = d.NewContext(("Dockerfile", """
            FROM busybox AS base
            ARG MSG=none
            RUN mkdir -p /srv/www && echo "$MSG" > /srv/www/msg
            FROM base AS web
            HEALTHCHECK --interval=300ms CMD test -f /srv/www/msg
            CMD ["sh", "-c", "echo serving; exec httpd -f -p 8080 -h /srv/www"]
            FROM web AS never
            RUN exit 3
            """));
        var image = new ImageFromDockerfileBuilder()
            .WithDockerEndpoint(endpoint)
            .WithDockerfileDirectory(dir)
            .WithDockerfile("Dockerfile")
            .WithName(name)
            .WithBuildArgument("MSG", "from-testcontainers")
            .WithTarget("web")
            .WithDeleteIfExists(true)
            .Build();
        await image.CreateAsync();
        try
        {
            Assert.Equal(0, (await d.DockerAsync("image", "inspect", name)).ExitCode);
            var container = new ContainerBuilder(image)
                .WithDockerEndpoint(endpoint)
                .WithPortBinding(8080, assignRandomHostPort: true)
                .WithWaitStrategy(Wait.ForUnixContainer().UntilContainerIsHealthy().UntilMessageIsLogged("serving"))
                .Build();
            await using (container)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
                await container.StartAsync(cts.Token);
                var port = container.GetMappedPublicPort(8080);
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
                Assert.Equal("from-testcontainers\n", await http.GetStringAsync($"http://127.0.0.1:{port}/msg"));

                var exec = await container.ExecAsync(["sh", "-c", "cat /srv/www/msg; exit 4"]);
                Assert.Equal((4L, "from-testcontainers\n"), (exec.ExitCode, exec.Stdout));
                await container.CopyAsync(Encoding.UTF8.GetBytes("copied in"), "/srv/www/copied");
                Assert.Equal("copied in", Encoding.UTF8.GetString(await container.ReadFileAsync("/srv/www/copied")));
                var (stdout, _) = await container.GetLogsAsync();
                Assert.Contains("serving", stdout);
            }
            // Disposed: stopped and removed.
            Assert.Equal("", (await d.DockerAsync("ps", "-aq", "--filter", $"ancestor={name}")).Stdout.Trim());
        }
        finally
        {
            await image.DeleteAsync();
        }
        Assert.NotEqual(0, (await d.DockerAsync("image", "inspect", name)).ExitCode);
    }
}
