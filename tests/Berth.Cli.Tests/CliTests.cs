using System.Text;
using System.Text.Json.Nodes;
using Berth.Client;

namespace Berth.Cli.Tests;

public sealed class CliTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    internal static async Task<(int Code, string Out, string Err)> RunCliAsync(FakeDaemon daemon, string stdin, params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        using var ctx = new CliContext(new MemoryStream(Encoding.UTF8.GetBytes(stdin)), stdout, stderr, _ => null)
        {
            Time = new FixedTime(new DateTimeOffset(2024, 1, 1, 12, 0, 0, TimeSpan.Zero)),
        };
        ctx.HostFlag = daemon.Host;
        var code = await App.RunAsync(ctx, args);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()));
    }

    // Answers a run: create, attach (output after start), wait (headers at once, status after output), start.
    private sealed class RunScript
    {
        public JsonNode? CreateBody;
        public string? WaitQuery;
        public string? StartError;
        public string? CreateError;
        public string PullError = "pull access denied for busybox, repository does not exist or may require 'docker login'";
        public int ExitCode = 3;
        public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource OutputDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<bool> HandleAsync(FakeDaemon.Request req, FakeDaemon.Connection c)
        {
            if (req.Path == "/_ping")
            {
                await c.RespondAsync(200);
                return true;
            }
            if (req.Path.EndsWith("/images/create", StringComparison.Ordinal))
            {
                // run pulls a missing image, as docker does; this daemon has no registry to pull from.
                await c.RespondAsync(404, new JsonObject { ["message"] = PullError }.ToJsonString());
                return true;
            }
            if (req.Path.EndsWith("/containers/create", StringComparison.Ordinal))
            {
                CreateBody = JsonNode.Parse(req.Body);
                if (CreateError is not null)
                {
                    await c.RespondAsync(404, new JsonObject { ["message"] = CreateError }.ToJsonString());
                    return true;
                }
                await c.RespondAsync(201, "{\"Id\":\"c0ffee0123456789\",\"Warnings\":[]}");
                return true;
            }
            if (req.Path.EndsWith("/attach", StringComparison.Ordinal))
            {
                await TransportTests.UpgradeAsync(c);
                await Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
                await c.Stream.WriteAsync(StdCopy.Frame(StdStream.Stdout, "hello\n"u8));
                await c.Stream.WriteAsync(StdCopy.Frame(StdStream.Stderr, "oops\n"u8));
                if (req.Query.Contains("stdin=1", StringComparison.Ordinal))
                {
                    var input = new MemoryStream();
                    var buf = new byte[256];
                    for (var i = 0; i < 10_000; i++)
                    {
                        var n = await c.Stream.ReadAsync(buf);
                        if (n == 0)
                        {
                            break;
                        }
                        input.Write(buf, 0, n);
                    }
                    await c.Stream.WriteAsync(StdCopy.Frame(StdStream.Stdout, input.ToArray()));
                }
                c.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
                OutputDone.TrySetResult();
                return false;
            }
            if (req.Path.EndsWith("/wait", StringComparison.Ordinal))
            {
                WaitQuery = req.Query;
                await c.Stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"u8.ToArray());
                await c.Stream.FlushAsync();
                await Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
                await Task.WhenAny(OutputDone.Task, Task.Delay(TimeSpan.FromSeconds(30)));
                await c.Stream.WriteAsync(Encoding.UTF8.GetBytes($"{{\"StatusCode\":{ExitCode}}}"));
                return false;
            }
            if (req.Path.EndsWith("/start", StringComparison.Ordinal))
            {
                if (StartError is not null)
                {
                    await c.RespondAsync(400, new JsonObject { ["message"] = StartError }.ToJsonString());
                    Started.TrySetResult();
                    return true;
                }
                await c.RespondAsync(204);
                Started.TrySetResult();
                return true;
            }
            await c.RespondAsync(404, "{\"message\":\"unexpected " + req.Path + "\"}");
            return true;
        }
    }

    [Fact]
    public async Task RunAttachesWaitsStartsAndExitsWithContainerStatus()
    {
        var script = new RunScript();
        await using var daemon = new FakeDaemon(script.HandleAsync);
        var (code, stdout, stderr) = await RunCliAsync(daemon, "", "run", "--rm", "-e", "A=1", "busybox", "sh", "-c", "echo hello");
        Assert.Equal(3, code);
        Assert.Equal("hello\n", stdout);
        Assert.Equal("oops\n", stderr);
        var log = daemon.Log.Select(l => l.Split('?')[0]).Where(l => !l.Contains("_ping", StringComparison.Ordinal)).ToList();
        Assert.Equal(["POST /v1.51/containers/create", "POST /v1.51/containers/c0ffee0123456789/attach",
            "POST /v1.51/containers/c0ffee0123456789/wait", "POST /v1.51/containers/c0ffee0123456789/start"], log);
        Assert.Equal("condition=removed", script.WaitQuery);
        Assert.Equal("busybox", script.CreateBody!["Image"]!.ToString());
        Assert.Equal("[\"sh\",\"-c\",\"echo hello\"]", script.CreateBody["Cmd"]!.ToJsonString());
        Assert.True(script.CreateBody["HostConfig"]!["AutoRemove"]!.GetValue<bool>());
        Assert.Equal("[\"A=1\"]", script.CreateBody["Env"]!.ToJsonString());
    }

    [Fact]
    public async Task RunInteractiveSendsStdinAndHalfCloses()
    {
        var script = new RunScript { ExitCode = 0 };
        await using var daemon = new FakeDaemon(script.HandleAsync);
        var (code, stdout, _) = await RunCliAsync(daemon, "from stdin", "run", "-i", "busybox", "cat");
        Assert.Equal(0, code);
        Assert.Equal("hello\nfrom stdin", stdout);
        Assert.Equal("condition=next-exit", script.WaitQuery);
        Assert.True(script.CreateBody!["OpenStdin"]!.GetValue<bool>());
        Assert.True(script.CreateBody["AttachStdin"]!.GetValue<bool>());
        Assert.True(script.CreateBody["StdinOnce"]!.GetValue<bool>());
    }

    [Fact]
    public async Task RunDetachedPrintsId()
    {
        var script = new RunScript();
        await using var daemon = new FakeDaemon(script.HandleAsync);
        var (code, stdout, _) = await RunCliAsync(daemon, "", "run", "-d", "--name", "web", "busybox", "sleep", "9");
        Assert.Equal(0, code);
        Assert.Equal("c0ffee0123456789\n", stdout);
        Assert.DoesNotContain(daemon.Log, l => l.Contains("/attach", StringComparison.Ordinal));
        Assert.Contains(daemon.Log, l => l == "POST /v1.51/containers/create?name=web");
        Assert.False(script.CreateBody!["AttachStdout"]!.GetValue<bool>());
    }

    [Fact]
    public async Task RunMissingImage()
    {
        var script = new RunScript { CreateError = "No such image: busybox:latest" };
        await using var daemon = new FakeDaemon(script.HandleAsync);
        var (code, _, stderr) = await RunCliAsync(daemon, "", "run", "busybox");
        Assert.Equal(125, code);
        Assert.StartsWith("Unable to find image 'busybox:latest' locally\n", stderr, StringComparison.Ordinal);
        Assert.Contains("berth: Error response from daemon: pull access denied for busybox", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("exec: \"nope\": executable file not found in $PATH", 127)]
    [InlineData("exec: \"/etc\": permission denied", 126)]
    [InlineData("something else broke", 125)]
    public async Task RunStartErrorsMapToExitCodes(string message, int expected)
    {
        var script = new RunScript { StartError = message };
        await using var daemon = new FakeDaemon(script.HandleAsync);
        var (code, _, stderr) = await RunCliAsync(daemon, "", "run", "busybox", "nope");
        Assert.Equal(expected, code);
        Assert.Contains($"berth: Error response from daemon: {message}", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunFlagsMapToCreateRequest()
    {
        var script = new RunScript();
        await using var daemon = new FakeDaemon(script.HandleAsync);
        var (code, _, err) = await RunCliAsync(daemon, "", "run", "-d", "-m", "64m", "--cpus", "1.5", "--cpu-shares", "512", "--pids-limit", "10",
            "-v", "/src:/dst:ro", "-v", "/anon", "--mount", "type=tmpfs,target=/t,tmpfs-size=1m", "--tmpfs", "/run:size=1m",
            "--restart", "on-failure:3", "--entrypoint", "/bin/sh", "-w", "/work", "-u", "1000:1000", "--read-only", "--init", "--privileged",
            "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "-l", "a=b", "-h", "box", "--network", "none", "--log-opt", "max-size=1m",
            "--stop-signal", "SIGUSR1", "--stop-timeout", "5", "-p", "127.0.0.1:8080:80", "busybox");
        Assert.True(code == 0, err);
        var b = script.CreateBody!;
        var h = b["HostConfig"]!;
        Assert.Equal(64L * 1024 * 1024, h["Memory"]!.GetValue<long>());
        Assert.Equal(1_500_000_000L, h["NanoCpus"]!.GetValue<long>());
        Assert.Equal(512, h["CpuShares"]!.GetValue<long>());
        Assert.Equal(10, h["PidsLimit"]!.GetValue<long>());
        Assert.Equal("[\"/src:/dst:ro\"]", h["Binds"]!.ToJsonString());
        Assert.NotNull(b["Volumes"]!["/anon"]);
        Assert.Equal("tmpfs", h["Mounts"]![0]!["Type"]!.ToString());
        Assert.Equal(1048576, h["Mounts"]![0]!["TmpfsOptions"]!["SizeBytes"]!.GetValue<long>());
        Assert.Equal("size=1m", h["Tmpfs"]!["/run"]!.ToString());
        Assert.Equal("on-failure", h["RestartPolicy"]!["Name"]!.ToString());
        Assert.Equal(3, h["RestartPolicy"]!["MaximumRetryCount"]!.GetValue<int>());
        Assert.Equal("[\"/bin/sh\"]", b["Entrypoint"]!.ToJsonString());
        Assert.Equal("/work", b["WorkingDir"]!.ToString());
        Assert.Equal("1000:1000", b["User"]!.ToString());
        Assert.True(h["ReadonlyRootfs"]!.GetValue<bool>());
        Assert.True(h["Init"]!.GetValue<bool>());
        Assert.True(h["Privileged"]!.GetValue<bool>());
        Assert.Equal("[\"NET_ADMIN\"]", h["CapAdd"]!.ToJsonString());
        Assert.Equal("[\"ALL\"]", h["CapDrop"]!.ToJsonString());
        Assert.Equal("b", b["Labels"]!["a"]!.ToString());
        Assert.Equal("box", b["Hostname"]!.ToString());
        Assert.Equal("none", h["NetworkMode"]!.ToString());
        Assert.Equal("1m", h["LogConfig"]!["Config"]!["max-size"]!.ToString());
        Assert.Equal("SIGUSR1", b["StopSignal"]!.ToString());
        Assert.Equal(5, b["StopTimeout"]!.GetValue<int>());
        Assert.Equal("8080", h["PortBindings"]!["80/tcp"]![0]!["HostPort"]!.ToString());
        Assert.Equal("127.0.0.1", h["PortBindings"]!["80/tcp"]![0]!["HostIp"]!.ToString());
    }

    [Fact]
    public async Task UsageErrorsExit125()
    {
        await using var daemon = new FakeDaemon(new RunScript().HandleAsync);
        var (code, _, err) = await RunCliAsync(daemon, "", "run", "--x", "busybox");
        Assert.Equal(125, code);
        Assert.Equal("unknown flag: --x\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n", err);
        (code, _, err) = await RunCliAsync(daemon, "", "run", "-m", "lots", "busybox");
        Assert.Equal(125, code);
        Assert.StartsWith("invalid argument \"lots\" for \"-m, --memory\" flag: invalid size: 'lots'", err, StringComparison.Ordinal);
        Assert.Empty(daemon.Log);
    }

    private static async Task<bool> ListDaemon(FakeDaemon.Request req, FakeDaemon.Connection c)
    {
        switch (req.Path)
        {
            case "/_ping":
                await c.RespondAsync(200);
                break;
            case "/v1.51/containers/json":
                await c.RespondAsync(200, """
                [{"Id":"0123456789abcdef0123","Names":["/web"],"Image":"busybox","ImageID":"sha256:aa","Command":"sh -c 'sleep 1000'",
                  "Created":1704110390,"Ports":[],"Labels":{"x":"y"},"State":"running","Status":"Up 10 seconds","Mounts":[]}]
                """);
                break;
            case "/v1.51/images/json":
                await c.RespondAsync(200, """
                [{"Id":"sha256:fedcba9876543210fedc","RepoTags":["busybox:latest","busybox:1.36"],"RepoDigests":[],"Created":1704106800,"Size":4260000,"Containers":-1,"SharedSize":-1},
                 {"Id":"sha256:0000000000001111","RepoTags":[],"RepoDigests":[],"Created":1704106800,"Size":999,"Containers":-1,"SharedSize":-1}]
                """);
                break;
            case "/v1.51/volumes":
                await c.RespondAsync(200, """{"Volumes":[{"Name":"vb","Driver":"local","Mountpoint":"/x","Scope":"local"},{"Name":"va","Driver":"local","Mountpoint":"/y","Scope":"local"}],"Warnings":[]}""");
                break;
            case "/v1.51/containers/web/json":
                await c.RespondAsync(200, """{"Id":"0123","Name":"/web","State":{"Status":"running","Pid":7},"Config":{"Labels":{},"Env":[]},"Mounts":[]}""");
                break;
            default:
                await c.RespondAsync(404, "{\"message\":\"No such container: " + req.Path.Split('/')[3] + "\"}");
                break;
        }
        return true;
    }

    [Fact]
    public async Task PsTable()
    {
        await using var daemon = new FakeDaemon(ListDaemon);
        var (code, stdout, _) = await RunCliAsync(daemon, "", "ps");
        Assert.Equal(0, code);
        Assert.Equal(
            "CONTAINER ID   IMAGE     COMMAND                CREATED          STATUS          PORTS     NAMES\n" +
            "0123456789ab   busybox   \"sh -c 'sleep 1000'\"   10 seconds ago   Up 10 seconds             web\n", stdout);
        (_, stdout, _) = await RunCliAsync(daemon, "", "ps", "-q");
        Assert.Equal("0123456789ab\n", stdout);
        (_, stdout, _) = await RunCliAsync(daemon, "", "ps", "--format", "{{.Names}} {{.Labels}} {{.State}}");
        Assert.Equal("web x=y running\n", stdout);
        (_, stdout, _) = await RunCliAsync(daemon, "", "container", "ls", "--no-trunc", "--format", "table {{.ID}}\t{{.Command}}");
        Assert.Equal("CONTAINER ID           COMMAND\n0123456789abcdef0123   \"sh -c 'sleep 1000'\"\n", stdout);
    }

    [Fact]
    public async Task ImagesAndVolumesTables()
    {
        await using var daemon = new FakeDaemon(ListDaemon);
        var (code, stdout, _) = await RunCliAsync(daemon, "", "images");
        Assert.Equal(0, code);
        Assert.Equal(
            "REPOSITORY   TAG       IMAGE ID       CREATED             SIZE\n" +
            "busybox      latest    fedcba987654   About an hour ago   4.26MB\n" +
            "busybox      1.36      fedcba987654   About an hour ago   4.26MB\n" +
            "<none>       <none>    000000000000   About an hour ago   999B\n", stdout);
        (_, stdout, _) = await RunCliAsync(daemon, "", "images", "-q");
        Assert.Equal("fedcba987654\n000000000000\n", stdout);
        (_, stdout, _) = await RunCliAsync(daemon, "", "volume", "ls");
        Assert.Equal("DRIVER    VOLUME NAME\nlocal     va\nlocal     vb\n", stdout);
    }

    [Fact]
    public async Task InspectPrintsIndentedArrayAndErrors()
    {
        await using var daemon = new FakeDaemon(ListDaemon);
        var (code, stdout, _) = await RunCliAsync(daemon, "", "container", "inspect", "web");
        Assert.Equal(0, code);
        Assert.Equal("[\n    {\n        \"Id\": \"0123\",\n        \"Name\": \"/web\",\n        \"State\": {\n            \"Status\": \"running\",\n            \"Pid\": 7\n        },\n" +
            "        \"Config\": {\n            \"Labels\": {},\n            \"Env\": []\n        },\n        \"Mounts\": []\n    }\n]\n", stdout);
        (code, stdout, _) = await RunCliAsync(daemon, "", "inspect", "-f", "{{.State.Status}} {{.State.Pid}}", "web");
        Assert.Equal(0, code);
        Assert.Equal("running 7\n", stdout);
        string err;
        (code, stdout, err) = await RunCliAsync(daemon, "", "inspect", "nope");
        Assert.Equal(1, code);
        Assert.Equal("[]\n", stdout);
        Assert.Equal("Error: No such object: nope\n", err);
        (code, _, err) = await RunCliAsync(daemon, "", "stop", "nope");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: No such container: nope\n", err);
    }
}
