namespace Berth.Integration.Tests;

/// <summary>
/// docker-compose (Debian's 1.29, on docker-py and the legacy build protocol) against berthd: a project that builds an
/// image with build args, publishes a port, keeps a named volume, waits on a healthcheck and reaches one service from
/// another by name; then exec, and down with its volumes.
/// </summary>
public sealed class ComposeTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private Task<CommandResult> ComposeAsync(string dir, string project, string args) =>
        d.ShellAsync($"cd {dir} && /usr/bin/docker-compose -p {project} {args} 2>&1");

    [Fact]
    public async Task ProjectBuildsStartsTalksAndComesDown()
    {
        var project = "cp" + d.Tag;
        var port = LoopbackRegistry.FreePort();
        var dir = d.NewContext(
            ("web/Dockerfile", """
                FROM busybox
                ARG MSG=none
                RUN mkdir -p /srv/www && echo "$MSG" > /srv/www/msg
                HEALTHCHECK --interval=300ms CMD test -f /srv/www/msg
                CMD ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]
                """),
            ("docker-compose.yml", $$"""
                version: "3.8"
                services:
                  web:
                    build:
                      context: ./web
                      args:
                        MSG: built-by-compose
                    image: {{project}}-web:latest
                    ports: ["127.0.0.1:{{port}}:8080"]
                    volumes: ["data:/data"]
                  client:
                    image: busybox
                    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do printf 'GET /msg HTTP/1.0\\r\\n\\r\\n' | nc -w 3 web 8080 && break; sleep 0.3; done; sleep 300"]
                    depends_on: [web]
                volumes:
                  data: {}
                """));
        try
        {
            var up = await ComposeAsync(dir, project, "up -d --build");
            Assert.True(up.ExitCode == 0, up.ToString() + d.DaemonLog);
            Assert.Contains("Successfully built", up.Stdout);

            var web = $"{project}_web_1";
            var healthy = await DockerCliTests.PollAsync(() => d.DockerAsync("inspect", "-f", "{{.State.Health.Status}}", web),
                r => r.Stdout.Trim() == "healthy", 100);
            Assert.Equal("healthy", healthy.Stdout.Trim());
            // The client reached the web service by its name on the project's network.
            var logs = await DockerCliTests.PollAsync(() => ComposeAsync(dir, project, "logs client"), r => r.Stdout.Contains("built-by-compose"), 100);
            Assert.Contains("built-by-compose", logs.Stdout);
            Assert.Contains("built-by-compose", (await d.ShellAsync($"curl -s http://127.0.0.1:{port}/msg")).Stdout);
            Assert.Equal("built-by-compose", (await ComposeAsync(dir, project, "exec -T web cat /srv/www/msg")).Stdout.Trim());
            var ps = await ComposeAsync(dir, project, "ps");
            Assert.Matches($@"{web}\s.*Up \(healthy\)\s+127\.0\.0\.1:{port}->8080/tcp", ps.Stdout);

            // docker-compose's own builder (docker-py's build call) instead of the docker CLI's: the same image, from the cache.
            var pyBuild = await d.ShellAsync($"cd {dir} && COMPOSE_DOCKER_CLI_BUILD=0 /usr/bin/docker-compose -p {project} build web 2>&1");
            Assert.True(pyBuild.ExitCode == 0, pyBuild.ToString());
            Assert.Contains("Using cache", pyBuild.Stdout);
            Assert.Contains("Successfully built", pyBuild.Stdout);

            var down = await ComposeAsync(dir, project, "down -v -t 1");
            Assert.True(down.ExitCode == 0, down.ToString());
            Assert.Equal("", (await d.DockerAsync("ps", "-aq", "--filter", $"label=com.docker.compose.project={project}")).Stdout.Trim());
            Assert.DoesNotContain($"{project}_default", (await d.DockerAsync("network", "ls", "--format", "{{.Name}}")).Stdout);
            Assert.DoesNotContain($"{project}_data", (await d.DockerAsync("volume", "ls", "--format", "{{.Name}}")).Stdout);
        }
        finally
        {
            await ComposeAsync(dir, project, "down -v -t 1");
            await d.DockerAsync("rmi", $"{project}-web:latest");
        }
    }
}
