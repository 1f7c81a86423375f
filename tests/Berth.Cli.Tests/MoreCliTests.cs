using System.Text;
using System.Text.Json.Nodes;
using Berth.Client;

namespace Berth.Cli.Tests;

public sealed class MoreCliTests
{
    private static async Task<bool> Daemon(FakeDaemon.Request req, FakeDaemon.Connection c, List<FakeDaemon.Request> seen)
    {
        lock (seen)
        {
            seen.Add(req);
        }
        var p = req.Path;
        if (p == "/_ping")
        {
            await c.RespondAsync(200);
        }
        else if (p == "/v1.51/images/create")
        {
            await c.RespondAsync(200, "{\"status\":\"sha256:0123abcd\"}\n");
        }
        else if (p == "/v1.51/volumes/create")
        {
            var body = JsonNode.Parse(req.Body)!;
            await c.RespondAsync(201, new JsonObject { ["Name"] = body["Name"]?.ToString() ?? "generated", ["Driver"] = "local" }.ToJsonString());
        }
        else if (p.StartsWith("/v1.51/volumes/", StringComparison.Ordinal) && req.Method == "DELETE")
        {
            await c.RespondAsync(204);
        }
        else if (p == "/v1.51/containers/c1/json")
        {
            await c.RespondAsync(200, "{\"Id\":\"c1\",\"Config\":{\"Tty\":false}}");
        }
        else if (p == "/v1.51/containers/c1/logs")
        {
            var frames = StdCopy.Frame(StdStream.Stdout, "line1\n"u8).Concat(StdCopy.Frame(StdStream.Stderr, "warn\n"u8)).ToArray();
            await c.Stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nContent-Length: {frames.Length}\r\n\r\n"));
            await c.Stream.WriteAsync(frames);
        }
        else if (p == "/v1.51/containers/c1/wait")
        {
            await c.RespondAsync(200, "{\"StatusCode\":42}");
        }
        else if (p == "/v1.51/images/busybox/tag")
        {
            await c.RespondAsync(201);
        }
        else if (p == "/v1.51/images/busybox" && req.Method == "DELETE")
        {
            await c.RespondAsync(200, "[{\"Untagged\":\"busybox:latest\"},{\"Deleted\":\"sha256:beef\"}]");
        }
        else if (p == "/v1.51/volumes/prune")
        {
            await c.RespondAsync(200, "{\"VolumesDeleted\":[\"v1\"],\"SpaceReclaimed\":2048}");
        }
        else
        {
            await c.RespondAsync(404, "{\"message\":\"no route " + p + "\"}");
        }
        return true;
    }

    [Fact]
    public async Task ImportSendsTarballAndPrintsId()
    {
        var seen = new List<FakeDaemon.Request>();
        await using var daemon = new FakeDaemon((r, c) => Daemon(r, c, seen));
        var tar = Path.Combine(daemon.Dir, "rootfs.tar");
        await File.WriteAllBytesAsync(tar, Encoding.ASCII.GetBytes("not really a tar"));
        var (code, stdout, stderr) = await CliTests.RunCliAsync(daemon, "", "import", "-c", "CMD [\"sh\"]", "-m", "msg", tar, "myimg:v1");
        Assert.True(code == 0, stderr);
        Assert.Equal("sha256:0123abcd\n", stdout);
        var req = seen.Single(r => r.Path.EndsWith("/images/create", StringComparison.Ordinal));
        Assert.Equal("not really a tar", Encoding.ASCII.GetString(req.Body));
        Assert.Contains("fromSrc=-", req.Query, StringComparison.Ordinal);
        Assert.Contains("repo=myimg", req.Query, StringComparison.Ordinal);
        Assert.Contains("tag=v1", req.Query, StringComparison.Ordinal);
        Assert.Contains("message=msg", req.Query, StringComparison.Ordinal);
        Assert.Contains("changes=CMD%20%5B%22sh%22%5D", req.Query, StringComparison.Ordinal);

        (code, stdout, _) = await CliTests.RunCliAsync(daemon, "from stdin", "import", "-");
        Assert.Equal(0, code);
        Assert.Equal("from stdin", Encoding.ASCII.GetString(seen.Last(r => r.Path.EndsWith("/images/create", StringComparison.Ordinal)).Body));
    }

    [Fact]
    public async Task VolumeCreateRemovePrune()
    {
        var seen = new List<FakeDaemon.Request>();
        await using var daemon = new FakeDaemon((r, c) => Daemon(r, c, seen));
        var (code, stdout, _) = await CliTests.RunCliAsync(daemon, "", "volume", "create", "--label", "a=b", "-o", "type=tmpfs", "data");
        Assert.Equal(0, code);
        Assert.Equal("data\n", stdout);
        var body = JsonNode.Parse(seen.Single(r => r.Path.EndsWith("/volumes/create", StringComparison.Ordinal)).Body)!;
        Assert.Equal("b", body["Labels"]!["a"]!.ToString());
        Assert.Equal("tmpfs", body["DriverOpts"]!["type"]!.ToString());
        (code, stdout, _) = await CliTests.RunCliAsync(daemon, "", "volume", "rm", "data", "other");
        Assert.Equal(0, code);
        Assert.Equal("data\nother\n", stdout);
        (code, stdout, _) = await CliTests.RunCliAsync(daemon, "", "volume", "prune", "-f");
        Assert.Equal(0, code);
        Assert.Equal("Deleted Volumes:\nv1\n\nTotal reclaimed space: 2.05kB\n", stdout);
        (code, stdout, _) = await CliTests.RunCliAsync(daemon, "n\n", "volume", "prune");
        Assert.Equal(0, code);
        Assert.StartsWith("WARNING! This will remove anonymous local volumes", stdout, StringComparison.Ordinal);
        Assert.Single(seen, r => r.Path.EndsWith("/volumes/prune", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LogsWaitTagRmi()
    {
        var seen = new List<FakeDaemon.Request>();
        await using var daemon = new FakeDaemon((r, c) => Daemon(r, c, seen));
        var (code, stdout, stderr) = await CliTests.RunCliAsync(daemon, "", "logs", "--tail", "5", "-t", "c1");
        Assert.Equal(0, code);
        Assert.Equal("line1\n", stdout);
        Assert.Equal("warn\n", stderr);
        var logs = seen.Single(r => r.Path.EndsWith("/logs", StringComparison.Ordinal));
        Assert.Contains("tail=5", logs.Query, StringComparison.Ordinal);
        Assert.Contains("timestamps=1", logs.Query, StringComparison.Ordinal);
        (code, stdout, _) = await CliTests.RunCliAsync(daemon, "", "wait", "c1");
        Assert.Equal(0, code);
        Assert.Equal("42\n", stdout);
        (code, _, _) = await CliTests.RunCliAsync(daemon, "", "tag", "busybox", "reg:5000/me/bb");
        Assert.Equal(0, code);
        Assert.Contains(seen, r => r.Target == "/v1.51/images/busybox/tag?repo=reg%3A5000%2Fme%2Fbb&tag=latest");
        (code, stdout, _) = await CliTests.RunCliAsync(daemon, "", "rmi", "busybox");
        Assert.Equal(0, code);
        Assert.Equal("Untagged: busybox:latest\nDeleted: sha256:beef\n", stdout);
    }

    [Fact]
    public async Task HelpMatchesDockerLayout()
    {
        await using var daemon = new FakeDaemon((r, c) => Daemon(r, c, []));
        var (code, stdout, _) = await CliTests.RunCliAsync(daemon, "", "kill", "--help");
        Assert.Equal(0, code);
        Assert.Equal("Usage:  berth kill [OPTIONS] CONTAINER [CONTAINER...]\n\nKill one or more running containers\n\nAliases:\n  berth container kill, berth kill\n\n" +
            "Options:\n  -s, --signal string   Signal to send to the container\n", stdout);
        (code, _, var err) = await CliTests.RunCliAsync(daemon, "", "rename", "a");
        Assert.Equal(1, code);
        Assert.StartsWith("berth: 'berth rename' requires 2 arguments", err, StringComparison.Ordinal);
        (code, _, err) = await CliTests.RunCliAsync(daemon, "", "frob");
        Assert.Equal(1, code);
        Assert.Equal("berth: unknown command: berth frob\n\nRun 'berth --help' for more information\n", err);
    }
}

public sealed class ExecTests
{
    [Fact]
    public async Task ExecHijacksStartWithBodyAndReturnsExitCode()
    {
        string? startBody = null;
        string? createBody = null;
        await using var daemon = new FakeDaemon(async (req, c) =>
        {
            switch (req.Path)
            {
                case "/_ping":
                    await c.RespondAsync(200);
                    return true;
                case "/v1.51/containers/c1/exec":
                    createBody = Encoding.UTF8.GetString(req.Body);
                    await c.RespondAsync(201, "{\"Id\":\"e1\"}");
                    return true;
                case "/v1.51/exec/e1/start":
                    startBody = Encoding.UTF8.GetString(req.Body);
                    Assert.Equal("tcp", req.Headers["Upgrade"]);
                    await TransportTests.UpgradeAsync(c);
                    await c.Stream.WriteAsync(StdCopy.Frame(StdStream.Stdout, "in exec\n"u8));
                    return false;
                case "/v1.51/exec/e1/json":
                    await c.RespondAsync(200, "{\"ID\":\"e1\",\"Running\":false,\"ExitCode\":5}");
                    return true;
                default:
                    await c.RespondAsync(404, "{\"message\":\"no\"}");
                    return true;
            }
        });
        var (code, stdout, _) = await CliTests.RunCliAsync(daemon, "", "exec", "-e", "A=1", "-w", "/tmp", "c1", "sh", "-c", "echo in exec");
        Assert.Equal(5, code);
        Assert.Equal("in exec\n", stdout);
        Assert.Equal("{\"Detach\":false,\"Tty\":false}", startBody);
        var create = JsonNode.Parse(createBody!)!;
        Assert.Equal("[\"sh\",\"-c\",\"echo in exec\"]", create["Cmd"]!.ToJsonString());
        Assert.Equal("[\"A=1\"]", create["Env"]!.ToJsonString());
        Assert.Equal("/tmp", create["WorkingDir"]!.ToString());
        Assert.False(create["AttachStdin"]!.GetValue<bool>());
    }
}

public sealed class NetworkCliTests
{
    [Fact]
    public async Task CreateListConnect()
    {
        var bodies = new Dictionary<string, string>();
        await using var daemon = new FakeDaemon(async (req, c) =>
        {
            lock (bodies)
            {
                bodies[req.Path] = Encoding.UTF8.GetString(req.Body);
            }
            switch (req.Path)
            {
                case "/_ping":
                    await c.RespondAsync(200);
                    break;
                case "/v1.51/networks/create":
                    await c.RespondAsync(201, "{\"Id\":\"9f0e1d2c3b4a59687766\",\"Warning\":\"\"}");
                    break;
                case "/v1.51/networks":
                    await c.RespondAsync(200, """
                    [{"Name":"zeta","Id":"1111111111111111aaaa","Driver":"bridge","Scope":"local"},
                     {"Name":"bridge","Id":"2222222222222222bbbb","Driver":"bridge","Scope":"local"}]
                    """);
                    break;
                default:
                    await c.RespondAsync(200);
                    break;
            }
            return true;
        });
        var (code, stdout, _) = await CliTests.RunCliAsync(daemon, "", "network", "create", "--subnet", "10.99.0.0/24", "--gateway", "10.99.0.1", "--label", "k=v", "-o", "com.docker.network.bridge.name=berth-x", "net1");
        Assert.Equal(0, code);
        Assert.Equal("9f0e1d2c3b4a59687766\n", stdout);
        var body = JsonNode.Parse(bodies["/v1.51/networks/create"])!;
        Assert.Equal("net1", body["Name"]!.ToString());
        Assert.Equal("bridge", body["Driver"]!.ToString());
        Assert.Equal("10.99.0.0/24", body["IPAM"]!["Config"]![0]!["Subnet"]!.ToString());
        Assert.Equal("10.99.0.1", body["IPAM"]!["Config"]![0]!["Gateway"]!.ToString());
        Assert.Equal("v", body["Labels"]!["k"]!.ToString());
        Assert.Equal("berth-x", body["Options"]!["com.docker.network.bridge.name"]!.ToString());

        (code, stdout, _) = await CliTests.RunCliAsync(daemon, "", "network", "ls");
        Assert.Equal(0, code);
        Assert.Equal("NETWORK ID     NAME      DRIVER    SCOPE\n2222222222222222   bridge    bridge    local\n".Replace("2222222222222222", "222222222222", StringComparison.Ordinal)
            + "111111111111   zeta      bridge    local\n", stdout);

        (code, _, _) = await CliTests.RunCliAsync(daemon, "", "network", "connect", "--alias", "db", "--ip", "10.99.0.9", "net1", "c1");
        Assert.Equal(0, code);
        var connect = JsonNode.Parse(bodies["/v1.51/networks/net1/connect"])!;
        Assert.Equal("c1", connect["Container"]!.ToString());
        Assert.Equal("db", connect["EndpointConfig"]!["Aliases"]![0]!.ToString());
        Assert.Equal("10.99.0.9", connect["EndpointConfig"]!["IPAMConfig"]!["IPv4Address"]!.ToString());
    }

    [Fact]
    public async Task RunNetworkAliasGoesToEndpoint()
    {
        string? create = null;
        await using var daemon = new FakeDaemon(async (req, c) =>
        {
            if (req.Path.EndsWith("/containers/create", StringComparison.Ordinal))
            {
                create = Encoding.UTF8.GetString(req.Body);
                await c.RespondAsync(201, "{\"Id\":\"x\",\"Warnings\":[]}");
            }
            else
            {
                await c.RespondAsync(204);
            }
            return true;
        });
        var (code, _, _) = await CliTests.RunCliAsync(daemon, "", "run", "-d", "--network", "net1", "--network-alias", "web", "--ip", "10.99.0.5", "busybox");
        Assert.Equal(0, code);
        var body = JsonNode.Parse(create!)!;
        Assert.Equal("net1", body["HostConfig"]!["NetworkMode"]!.ToString());
        Assert.Equal("web", body["NetworkingConfig"]!["EndpointsConfig"]!["net1"]!["Aliases"]![0]!.ToString());
        Assert.Equal("10.99.0.5", body["NetworkingConfig"]!["EndpointsConfig"]!["net1"]!["IPAMConfig"]!["IPv4Address"]!.ToString());
    }
}

public sealed class AttachCliTests
{
    [Fact]
    public async Task AttachStreamsAndReturnsExitStatus()
    {
        var outputDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var daemon = new FakeDaemon(async (req, c) =>
        {
            switch (req.Path)
            {
                case "/_ping":
                    await c.RespondAsync(200);
                    return true;
                case "/v1.51/containers/web/json":
                    await c.RespondAsync(200, "{\"Id\":\"abc\",\"State\":{\"Running\":true},\"Config\":{\"Tty\":false,\"OpenStdin\":false}}");
                    return true;
                case "/v1.51/containers/abc/wait":
                    await c.Stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"u8.ToArray());
                    await outputDone.Task.WaitAsync(TimeSpan.FromSeconds(30));
                    await c.Stream.WriteAsync("{\"StatusCode\":9}"u8.ToArray());
                    return false;
                case "/v1.51/containers/abc/attach":
                    Assert.DoesNotContain("stdin=1", req.Query, StringComparison.Ordinal);
                    await TransportTests.UpgradeAsync(c);
                    await c.Stream.WriteAsync(StdCopy.Frame(StdStream.Stdout, "attached\n"u8));
                    c.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
                    outputDone.TrySetResult();
                    return false;
                default:
                    await c.RespondAsync(404, "{\"message\":\"no\"}");
                    return true;
            }
        });
        var (code, stdout, _) = await CliTests.RunCliAsync(daemon, "", "attach", "web");
        Assert.Equal(9, code);
        Assert.Equal("attached\n", stdout);
    }
}
