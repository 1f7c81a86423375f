using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Berth.Integration.Tests;

/// <summary>One answer of the Engine API: status, headers, body as text.</summary>
internal sealed record ApiResponse(HttpStatusCode Status, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders, byte[] Bytes)
{
    public string Body => Encoding.UTF8.GetString(Bytes);

    public JsonElement Json()
    {
        using var doc = JsonDocument.Parse(Bytes);
        return doc.RootElement.Clone();
    }

    public string? Header(string name) =>
        Headers.TryGetValues(name, out var v) ? string.Join(",", v) : ContentHeaders.TryGetValues(name, out var c) ? string.Join(",", c) : null;

    public override string ToString() => $"{(int)Status} {Body}";
}

/// <summary>An HttpClient on the daemon's UNIX socket, so tests see the wire exactly as docker clients do.</summary>
internal sealed class EngineApi : IDisposable
{
    private readonly HttpClient _http;

    public EngineApi(string socket)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://berth"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public Task<ApiResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<ApiResponse> PostAsync(string path, string? json = null) => SendAsync(HttpMethod.Post, path, json);

    public Task<ApiResponse> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path);

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, string? json = null, HttpContent? content = null)
    {
        using var req = new HttpRequestMessage(method, path);
        if (json is not null) req.Content = new StringContent(json, Encoding.UTF8, "application/json");
        else if (content is not null) req.Content = content;
        using var res = await _http.SendAsync(req);
        var bytes = await res.Content.ReadAsByteArrayAsync();
        return new ApiResponse(res.StatusCode, res.Headers, res.Content.Headers, bytes);
    }

    /// <summary>Creates a busybox container through the API and returns its ID.</summary>
    public async Task<string> CreateAsync(string name, string configJson)
    {
        var r = await PostAsync($"/containers/create?name={name}", configJson);
        Assert.True(r.Status == HttpStatusCode.Created, r.ToString());
        return r.Json().GetProperty("Id").GetString()!;
    }

    public async Task StartAsync(string id)
    {
        var r = await PostAsync($"/containers/{id}/start");
        Assert.True(r.Status == HttpStatusCode.NoContent, r.ToString());
    }

    /// <summary>The daemon still answers: every test ends with this.</summary>
    public async Task AssertAliveAsync()
    {
        var r = await GetAsync("/_ping");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal("OK", r.Body);
    }

    /// <summary>An error answer is Docker's shape: a JSON object whose only field is a non-empty message, and no stack trace.</summary>
    public static string AssertError(ApiResponse r, HttpStatusCode status)
    {
        Assert.True(r.Status == status, $"expected {(int)status}, got {r}");
        Assert.StartsWith("application/json", r.ContentHeaders.ContentType?.ToString() ?? "");
        var json = r.Json();
        Assert.Equal(JsonValueKind.Object, json.ValueKind);
        Assert.Equal(["message"], json.EnumerateObject().Select(p => p.Name).ToArray());
        var message = json.GetProperty("message").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(message));
        Assert.DoesNotContain("   at ", message);
        Assert.DoesNotContain("Exception", message);
        return message;
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The Engine API on the wire: versions, headers, shapes, filters and status codes as Docker's clients expect them.</summary>
public sealed class ApiConformanceTests(DaemonFixture d) : IClassFixture<DaemonFixture>, IDisposable
{
    private readonly EngineApi _api = new(d.Socket);

    public void Dispose() => _api.Dispose();

    private static string Q(string s) => Uri.EscapeDataString(s);

    [Fact]
    public async Task PingGetAndHeadCarryDockerHeaders()
    {
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head })
        {
            var r = await _api.SendAsync(method, "/_ping");
            Assert.Equal(HttpStatusCode.OK, r.Status);
            Assert.Equal(method == HttpMethod.Get ? "OK" : "", r.Body);
            Assert.Matches(@"^1\.\d+$", r.Header("Api-Version"));
            // Header names are case-insensitive on the wire; docker-py reads "OSType", the Go client "Ostype".
            Assert.Equal("linux", r.Header("OSType"));
            Assert.Equal("linux", r.Header("Ostype"));
            Assert.Equal("false", r.Header("Docker-Experimental"));
            Assert.NotNull(r.Header("Builder-Version"));
            Assert.StartsWith("Berth/", r.Header("Server"));
        }
        var v = await _api.GetAsync("/v1.44/_ping");
        Assert.Equal("OK", v.Body);
    }

    [Theory]
    [InlineData("/version")]
    [InlineData("/v1.24/version")]
    [InlineData("/v1.44/version")]
    [InlineData("/v1.51/version")]
    public async Task VersionAnswersOnEverySupportedPrefix(string path)
    {
        var r = await _api.GetAsync(path);
        Assert.True(r.Status == HttpStatusCode.OK, r.ToString());
        Assert.NotNull(r.Header("Api-Version"));
        var json = r.Json();
        Assert.Equal(r.Header("Api-Version"), json.GetProperty("ApiVersion").GetString());
        Assert.Equal("1.24", json.GetProperty("MinAPIVersion").GetString());
        Assert.Equal("linux", json.GetProperty("Os").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("Version").GetString()));
        Assert.Equal("Engine", json.GetProperty("Components")[0].GetProperty("Name").GetString());
    }

    [Theory]
    [InlineData("/v1.24")]
    [InlineData("/v1.44")]
    [InlineData("/v1.51")]
    public async Task VersionedPrefixDrivesAWholeLifecycle(string prefix)
    {
        var name = "ver" + prefix[4..].Replace(".", "") + d.Tag;
        var create = await _api.PostAsync($"{prefix}/containers/create?name={name}", """{"Image":"busybox","Cmd":["sh","-c","echo via-prefix; exit 2"]}""");
        Assert.True(create.Status == HttpStatusCode.Created, create.ToString());
        var id = create.Json().GetProperty("Id").GetString()!;
        try
        {
            Assert.Equal(HttpStatusCode.NoContent, (await _api.PostAsync($"{prefix}/containers/{name}/start")).Status);
            var wait = await _api.PostAsync($"{prefix}/containers/{name}/wait");
            Assert.Equal(2, wait.Json().GetProperty("StatusCode").GetInt32());
            var logs = Demux((await _api.GetAsync($"{prefix}/containers/{name}/logs?stdout=1")).Bytes);
            Assert.Equal("via-prefix\n", Assert.Single(logs).Text);
            var list = await _api.GetAsync($"{prefix}/containers/json?all=1&filters=" + Q($$"""{"name":["{{name}}"]}"""));
            Assert.Equal(id, Assert.Single(list.Json().EnumerateArray()).GetProperty("Id").GetString());
            Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"{prefix}/images/json")).Status);
            Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"{prefix}/volumes")).Status);
            Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"{prefix}/networks")).Status);
            Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"{prefix}/info")).Status);
            Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync($"{prefix}/containers/{name}")).Status);
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{id}?force=1");
        }
    }

    [Fact]
    public async Task VersionsOutOfRangeAreRefusedWithDockersMessage()
    {
        var old = await _api.GetAsync("/v1.12/version");
        Assert.Equal("client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version",
            EngineApi.AssertError(old, HttpStatusCode.BadRequest));
        Assert.NotNull(old.Header("Api-Version"));
        var current = (await _api.GetAsync("/version")).Json().GetProperty("ApiVersion").GetString();
        var neu = await _api.GetAsync("/v1.99/version");
        Assert.Equal($"client version 1.99 is too new. Maximum supported API version is {current}", EngineApi.AssertError(neu, HttpStatusCode.BadRequest));
        Assert.NotNull(neu.Header("Api-Version"));
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task SwarmEndpointsAnswerAsANodeInNoSwarm()
    {
        // dockerd on a node that is in no swarm (Berth never is): 503 and its words, which `docker node ls` prints.
        const string notManager = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";
        foreach (var (method, path) in new[] { (HttpMethod.Get, "/swarm"), (HttpMethod.Get, "/v1.51/nodes"), (HttpMethod.Get, "/services"),
                     (HttpMethod.Get, "/tasks/x"), (HttpMethod.Post, "/secrets/create"), (HttpMethod.Get, "/configs"), (HttpMethod.Get, "/swarm/unlockkey") })
            Assert.Equal(notManager, EngineApi.AssertError(await _api.SendAsync(method, path), HttpStatusCode.ServiceUnavailable));
        Assert.Equal("This node is not part of a swarm", EngineApi.AssertError(await _api.PostAsync("/swarm/leave"), HttpStatusCode.ServiceUnavailable));
        EngineApi.AssertError(await _api.PostAsync("/swarm/init", "{}"), HttpStatusCode.NotImplemented);
        var cli = await d.DockerAsync("node", "ls");
        Assert.Equal(1, cli.ExitCode);
        Assert.Contains("Error response from daemon: " + notManager, cli.Stderr);
    }

    [Fact]
    public async Task UnknownPathIs404JsonWithApiVersion()
    {
        foreach (var (method, path) in new[]
                 {
                     (HttpMethod.Get, "/no/such/thing"), (HttpMethod.Get, "/v1.44/containers/x/frobnicate"), (HttpMethod.Get, "/images/busybox/nope"),
                     // A known path with a method it does not take is a 404 too, as dockerd answers.
                     (HttpMethod.Put, "/containers/json"), (HttpMethod.Post, "/version"), (HttpMethod.Get, "/containers/create"),
                 })
        {
            var r = await _api.SendAsync(method, path);
            EngineApi.AssertError(r, HttpStatusCode.NotFound);
            Assert.NotNull(r.Header("Api-Version"));
        }
        var missing = await _api.GetAsync("/containers/nosuch" + d.Tag + "/json");
        Assert.Contains("No such container", EngineApi.AssertError(missing, HttpStatusCode.NotFound));
        Assert.NotNull(missing.Header("Api-Version"));
    }

    [Fact]
    public async Task InfoHasTheFieldsTheDockerCliUses()
    {
        var r = await _api.GetAsync("/info");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var j = r.Json();
        Assert.False(string.IsNullOrEmpty(j.GetProperty("ID").GetString()));
        Assert.False(string.IsNullOrEmpty(j.GetProperty("Name").GetString()));
        Assert.False(string.IsNullOrEmpty(j.GetProperty("ServerVersion").GetString()));
        Assert.False(string.IsNullOrEmpty(j.GetProperty("Driver").GetString()));
        Assert.False(string.IsNullOrEmpty(j.GetProperty("KernelVersion").GetString()));
        Assert.False(string.IsNullOrEmpty(j.GetProperty("OperatingSystem").GetString()));
        Assert.Equal("linux", j.GetProperty("OSType").GetString());
        Assert.Contains(j.GetProperty("Architecture").GetString(), new[] { "x86_64", "aarch64", "amd64", "arm64" });
        Assert.True(j.GetProperty("NCPU").GetInt32() > 0);
        Assert.True(j.GetProperty("MemTotal").GetInt64() > 0);
        Assert.Equal(d.DataRoot, j.GetProperty("DockerRootDir").GetString());
        Assert.True(j.GetProperty("Images").GetInt32() >= 1);
        foreach (var f in new[] { "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped" })
            Assert.True(j.GetProperty(f).GetInt32() >= 0);
        Assert.Equal("json-file", j.GetProperty("LoggingDriver").GetString());
        Assert.Contains(j.GetProperty("CgroupVersion").GetString(), new[] { "1", "2" });
        Assert.Equal("runc", j.GetProperty("DefaultRuntime").GetString());
        Assert.True(j.GetProperty("Runtimes").TryGetProperty("runc", out _));
        Assert.Equal(JsonValueKind.Array, j.GetProperty("SecurityOptions").ValueKind);
        Assert.Equal(JsonValueKind.Object, j.GetProperty("Plugins").ValueKind);
        Assert.Equal(JsonValueKind.Object, j.GetProperty("Swarm").ValueKind);
        Assert.Equal(JsonValueKind.Object, j.GetProperty("RegistryConfig").ValueKind);

        // The counters follow the containers: one running and one created more than before.
        var run = await _api.CreateAsync("inforun" + d.Tag, """{"Image":"busybox","Cmd":["sleep","300"]}""");
        var made = await _api.CreateAsync("infonew" + d.Tag, """{"Image":"busybox","Cmd":["true"]}""");
        try
        {
            await _api.StartAsync(run);
            var after = (await _api.GetAsync("/info")).Json();
            Assert.Equal(j.GetProperty("Containers").GetInt32() + 2, after.GetProperty("Containers").GetInt32());
            Assert.Equal(j.GetProperty("ContainersRunning").GetInt32() + 1, after.GetProperty("ContainersRunning").GetInt32());
            Assert.Equal(j.GetProperty("ContainersStopped").GetInt32() + 1, after.GetProperty("ContainersStopped").GetInt32());
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{run}?force=1");
            await _api.DeleteAsync($"/containers/{made}?force=1");
        }

        var cli = await d.DockerAsync("info", "--format", "{{.ServerVersion}} {{.OSType}} {{.Images}}");
        Assert.True(cli.ExitCode == 0, cli.ToString());
        Assert.Equal($"{j.GetProperty("ServerVersion").GetString()} linux {j.GetProperty("Images").GetInt32()}", cli.Stdout.Trim());
        var plain = await d.DockerAsync("info");
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Contains("Server Version:", plain.Stdout);
    }

    [Fact]
    public async Task ContainerListFiltersAllAndLimit()
    {
        var t = d.Tag;
        var running = await _api.CreateAsync($"lrun{t}", """{"Image":"busybox","Cmd":["sleep","300"],"Labels":{"suite":"list","role":"runner"}}""");
        var exited = await _api.CreateAsync($"lexit{t}", """{"Image":"busybox","Cmd":["sh","-c","exit 3"],"Labels":{"suite":"list","role":"quitter"}}""");
        var created = await _api.CreateAsync($"lnew{t}", """{"Image":"busybox","Cmd":["true"],"Labels":{"suite":"list"}}""");
        try
        {
            await _api.StartAsync(running);
            await _api.StartAsync(exited);
            var w = await _api.PostAsync($"/containers/{exited}/wait");
            Assert.Equal(3, w.Json().GetProperty("StatusCode").GetInt32());

            async Task<string[]> Names(string query)
            {
                var r = await _api.GetAsync("/containers/json?" + query);
                Assert.True(r.Status == HttpStatusCode.OK, $"{query}: {r}");
                return r.Json().EnumerateArray().Select(c => c.GetProperty("Names")[0].GetString()!.TrimStart('/'))
                    .Where(n => n.EndsWith(t, StringComparison.Ordinal)).Order().ToArray();
            }
            string F(string json) => "filters=" + Q(json);

            Assert.Equal([$"lrun{t}"], await Names(""));
            Assert.Equal([$"lexit{t}", $"lnew{t}", $"lrun{t}"], await Names("all=1"));
            Assert.Equal([$"lexit{t}", $"lnew{t}", $"lrun{t}"], await Names("all=true&" + F("""{"label":["suite=list"]}""")));
            Assert.Equal([$"lexit{t}"], await Names("all=1&" + F("""{"label":["role=quitter"]}""")));
            Assert.Equal([$"lexit{t}", $"lrun{t}"], await Names("all=1&" + F("""{"label":["role"]}""")));
            Assert.Equal([$"lexit{t}"], await Names("all=1&" + F("""{"status":["exited"]}""")));
            Assert.Equal([$"lnew{t}"], await Names("all=1&" + F("""{"status":["created"]}""")));
            Assert.Equal([$"lrun{t}"], await Names("all=1&" + F("""{"status":["running"]}""")));
            Assert.Equal([$"lexit{t}"], await Names("all=1&" + F("""{"exited":["3"]}""")));
            Assert.Empty(await Names("all=1&" + F("""{"exited":["0"]}""")));
            Assert.Equal([$"lrun{t}"], await Names("all=1&" + F($$"""{"id":["{{running[..12]}}"]}""")));
            Assert.Equal([$"lnew{t}"], await Names("all=1&" + F($$"""{"name":["lnew{{t}}"]}""")));
            Assert.Equal([$"lexit{t}", $"lnew{t}", $"lrun{t}"], await Names("all=1&" + F("""{"ancestor":["busybox"]}""")));
            Assert.Empty(await Names("all=1&" + F("""{"ancestor":["nosuchimage"]}""")));
            // The map form docker CLI versions before 1.22 sent: {"label":{"suite=list":true}}.
            Assert.Equal([$"lexit{t}", $"lnew{t}", $"lrun{t}"], await Names("all=1&" + F("""{"label":{"suite=list":true}}""")));

            // limit counts stopped containers too and returns the newest first.
            var limited = await _api.GetAsync("/containers/json?limit=1");
            var one = Assert.Single(limited.Json().EnumerateArray());
            Assert.Equal(created, one.GetProperty("Id").GetString());

            var summary = (await _api.GetAsync("/containers/json?" + F($$"""{"id":["{{running}}"]}"""))).Json()[0];
            Assert.Equal("running", summary.GetProperty("State").GetString());
            Assert.StartsWith("Up", summary.GetProperty("Status").GetString());
            Assert.Equal("busybox", summary.GetProperty("Image").GetString());
            Assert.StartsWith("sha256:", summary.GetProperty("ImageID").GetString());
            Assert.Equal("sleep 300", summary.GetProperty("Command").GetString());
            Assert.Equal("runner", summary.GetProperty("Labels").GetProperty("role").GetString());
            Assert.True(summary.GetProperty("NetworkSettings").GetProperty("Networks").TryGetProperty("bridge", out _));

            var bad = await _api.GetAsync("/containers/json?" + F("""{"colour":["red"]}"""));
            Assert.Contains("colour", EngineApi.AssertError(bad, HttpStatusCode.BadRequest));
        }
        finally
        {
            foreach (var id in new[] { running, exited, created }) await _api.DeleteAsync($"/containers/{id}?force=1");
        }
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task ContainerNameFilterIsARegexOnTheSlashedName()
    {
        var t = d.Tag;
        var id = await _api.CreateAsync($"rx{t}", """{"Image":"busybox","Cmd":["true"]}""");
        try
        {
            // dockerd matches the pattern against each name with its leading slash ("/rx..."), so "^/" anchors work.
            foreach (var pattern in new[] { $"rx{t}", $"^/rx{t}$", $"/rx{t}", $"x{t}$" })
            {
                var r = await _api.GetAsync("/containers/json?all=1&filters=" + Q($$"""{"name":["{{pattern}}"]}"""));
                Assert.True(r.Json().EnumerateArray().Any(c => c.GetProperty("Id").GetString() == id), $"name filter {pattern} did not match /rx{t}");
            }
            var none = await _api.GetAsync("/containers/json?all=1&filters=" + Q($$"""{"name":["^/x{{t}}"]}"""));
            Assert.DoesNotContain(none.Json().EnumerateArray(), c => c.GetProperty("Id").GetString() == id);
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{id}?force=1");
        }
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task CreateThenInspectHasDockersShape()
    {
        var name = "shape" + d.Tag;
        var id = await _api.CreateAsync(name, """
            {"Image":"busybox","Cmd":["sleep","300"],"Env":["A=1"],"WorkingDir":"/tmp","Labels":{"k":"v"},
             "HostConfig":{"Memory":67108864,"Binds":["/tmp:/hosttmp:ro"],"RestartPolicy":{"Name":"no"}}}
            """);
        try
        {
            Assert.Matches("^[0-9a-f]{64}$", id);
            var c = (await _api.GetAsync($"/containers/{id}/json")).Json();
            Assert.Equal(id, c.GetProperty("Id").GetString());
            Assert.Equal("/" + name, c.GetProperty("Name").GetString());
            Assert.Equal("sleep", c.GetProperty("Path").GetString());
            Assert.Equal(["300"], c.GetProperty("Args").EnumerateArray().Select(a => a.GetString()!).ToArray());
            var state = c.GetProperty("State");
            Assert.Equal("created", state.GetProperty("Status").GetString());
            Assert.False(state.GetProperty("Running").GetBoolean());
            Assert.Equal(0, state.GetProperty("Pid").GetInt32());
            var config = c.GetProperty("Config");
            Assert.Equal("busybox", config.GetProperty("Image").GetString());
            Assert.Contains("A=1", config.GetProperty("Env").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("/tmp", config.GetProperty("WorkingDir").GetString());
            Assert.Equal("v", config.GetProperty("Labels").GetProperty("k").GetString());
            Assert.StartsWith("sha256:", c.GetProperty("Image").GetString());
            var host = c.GetProperty("HostConfig");
            Assert.Equal(67108864, host.GetProperty("Memory").GetInt64());
            Assert.Equal("no", host.GetProperty("RestartPolicy").GetProperty("Name").GetString());
            var mount = Assert.Single(c.GetProperty("Mounts").EnumerateArray());
            Assert.Equal("bind", mount.GetProperty("Type").GetString());
            Assert.Equal("/tmp", mount.GetProperty("Source").GetString());
            Assert.Equal("/hosttmp", mount.GetProperty("Destination").GetString());
            Assert.False(mount.GetProperty("RW").GetBoolean());

            await _api.StartAsync(id);
            c = (await _api.GetAsync($"/containers/{id}/json")).Json();
            state = c.GetProperty("State");
            Assert.Equal("running", state.GetProperty("Status").GetString());
            Assert.True(state.GetProperty("Running").GetBoolean());
            Assert.True(state.GetProperty("Pid").GetInt32() > 0);
            Assert.NotEqual("0001-01-01T00:00:00Z", state.GetProperty("StartedAt").GetString());
            var bridge = c.GetProperty("NetworkSettings").GetProperty("Networks").GetProperty("bridge");
            var ip = bridge.GetProperty("IPAddress").GetString()!;
            Assert.StartsWith(d.Subnet3 + ".", ip);
            Assert.Equal(d.Gateway, bridge.GetProperty("Gateway").GetString());
            Assert.Equal(24, bridge.GetProperty("IPPrefixLen").GetInt32());
            Assert.False(string.IsNullOrEmpty(bridge.GetProperty("MacAddress").GetString()));
            // The container really has that address.
            var ping = await d.DockerAsync("run", "--rm", "busybox", "ping", "-c", "1", "-W", "2", ip);
            Assert.True(ping.ExitCode == 0, ping.ToString());
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{id}?force=1");
        }
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task WaitConditions()
    {
        var t = d.Tag;
        // next-exit: the wait is registered before start, answers with the exit code of the run that follows.
        var a = await _api.CreateAsync($"wnext{t}", """{"Image":"busybox","Cmd":["sh","-c","exit 4"]}""");
        var b = await _api.CreateAsync($"wrm{t}", """{"Image":"busybox","Cmd":["sh","-c","exit 5"]}""");
        var c = await _api.CreateAsync($"wnr{t}", """{"Image":"busybox","Cmd":["sleep","300"]}""");
        try
        {
            var next = _api.PostAsync($"/containers/{a}/wait?condition=next-exit");
            await Task.Delay(200);
            await _api.StartAsync(a);
            var nr = await next;
            Assert.True(nr.Status == HttpStatusCode.OK, nr.ToString());
            Assert.Equal(4, nr.Json().GetProperty("StatusCode").GetInt32());

            // not-running on a stopped container answers at once with the last exit code.
            var again = await _api.PostAsync($"/containers/{a}/wait?condition=not-running");
            Assert.Equal(4, again.Json().GetProperty("StatusCode").GetInt32());

            // removed: answers only once the container is gone.
            var removed = _api.PostAsync($"/containers/{b}/wait?condition=removed");
            await _api.StartAsync(b);
            var first = await _api.PostAsync($"/containers/{b}/wait");
            Assert.Equal(5, first.Json().GetProperty("StatusCode").GetInt32());
            await Task.Delay(200);
            Assert.False(removed.IsCompleted, "wait?condition=removed answered before the container was removed");
            var del = await _api.DeleteAsync($"/containers/{b}");
            Assert.True(del.Status == HttpStatusCode.NoContent, del.ToString());
            var rr = await removed.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(rr.Status == HttpStatusCode.OK, rr.ToString());
            Assert.Equal(5, rr.Json().GetProperty("StatusCode").GetInt32());

            // not-running (the default) on a created container is met at once, as in dockerd: it is not running.
            var created = await _api.PostAsync($"/containers/{c}/wait");
            Assert.Equal(0, created.Json().GetProperty("StatusCode").GetInt32());
            // On a running one it answers when the container stops, with its exit code.
            await _api.StartAsync(c);
            var nrTask = _api.PostAsync($"/containers/{c}/wait?condition=not-running");
            await Task.Delay(200);
            Assert.False(nrTask.IsCompleted, "wait answered while the container was running");
            Assert.Equal(HttpStatusCode.NoContent, (await _api.PostAsync($"/containers/{c}/kill")).Status);
            Assert.Equal(137, (await nrTask.WaitAsync(TimeSpan.FromSeconds(30))).Json().GetProperty("StatusCode").GetInt32());
        }
        finally
        {
            foreach (var id in new[] { a, b, c }) await _api.DeleteAsync($"/containers/{id}?force=1");
        }
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task WaitWithUnknownConditionIs400()
    {
        var id = await _api.CreateAsync("wbad" + d.Tag, """{"Image":"busybox","Cmd":["true"]}""");
        try
        {
            var bad = await _api.PostAsync($"/containers/{id}/wait?condition=sometime");
            Assert.Contains("sometime", EngineApi.AssertError(bad, HttpStatusCode.BadRequest));
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{id}?force=1");
        }
        await _api.AssertAliveAsync();
    }

    /// <summary>Splits a multiplexed stream into (stream, payload) frames, checking each 8-byte header.</summary>
    private static List<(int Stream, string Text)> Demux(byte[] bytes)
    {
        var frames = new List<(int, string)>();
        int i = 0;
        while (i < bytes.Length)
        {
            Assert.True(bytes.Length - i >= 8, "truncated frame header");
            Assert.Contains(bytes[i], new byte[] { 1, 2 });
            Assert.Equal(0, bytes[i + 1] | bytes[i + 2] | bytes[i + 3]);
            int len = (bytes[i + 4] << 24) | (bytes[i + 5] << 16) | (bytes[i + 6] << 8) | bytes[i + 7];
            Assert.True(bytes.Length - i - 8 >= len, "truncated frame payload");
            frames.Add((bytes[i], Encoding.UTF8.GetString(bytes, i + 8, len)));
            i += 8 + len;
        }
        return frames;
    }

    [Fact]
    public async Task LogsTailSinceTimestampsAndFraming()
    {
        var id = await _api.CreateAsync("logs" + d.Tag, """{"Image":"busybox","Cmd":["sh","-c","echo o1; sleep 0.2; echo e1 >&2; sleep 0.2; echo o2; sleep 0.2; echo e2 >&2; sleep 0.2; echo o3"]}""");
        try
        {
            await _api.StartAsync(id);
            await _api.PostAsync($"/containers/{id}/wait");

            var all = await _api.GetAsync($"/containers/{id}/logs?stdout=1&stderr=1");
            Assert.Equal("application/vnd.docker.multiplexed-stream", all.ContentHeaders.ContentType?.MediaType);
            var frames = Demux(all.Bytes);
            Assert.Equal(["1o1\n", "2e1\n", "1o2\n", "2e2\n", "1o3\n"], frames.Select(f => $"{f.Stream}{f.Text}").ToArray());

            var outOnly = Demux((await _api.GetAsync($"/containers/{id}/logs?stdout=1")).Bytes);
            Assert.Equal(["o1\n", "o2\n", "o3\n"], outOnly.Select(f => f.Text).ToArray());
            Assert.All(outOnly, f => Assert.Equal(1, f.Stream));

            var tail = Demux((await _api.GetAsync($"/containers/{id}/logs?stdout=1&stderr=1&tail=2")).Bytes);
            Assert.Equal(["e2\n", "o3\n"], tail.Select(f => f.Text).ToArray());
            var tail0 = await _api.GetAsync($"/containers/{id}/logs?stdout=1&stderr=1&tail=0");
            Assert.Empty(tail0.Bytes);

            var ts = Demux((await _api.GetAsync($"/containers/{id}/logs?stdout=1&timestamps=1")).Bytes);
            Assert.Equal(3, ts.Count);
            var stamps = new List<DateTimeOffset>();
            foreach (var (_, text) in ts)
            {
                Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z o\d\n$", text);
                stamps.Add(DateTimeOffset.Parse(text[..text.IndexOf(' ')], System.Globalization.CultureInfo.InvariantCulture));
            }

            // since: a Unix time after the last line leaves nothing; one before the first leaves everything.
            long after = stamps[^1].ToUnixTimeSeconds() + 2;
            Assert.Empty((await _api.GetAsync($"/containers/{id}/logs?stdout=1&stderr=1&since={after}")).Bytes);
            long before = stamps[0].ToUnixTimeSeconds() - 2;
            Assert.Equal(5, Demux((await _api.GetAsync($"/containers/{id}/logs?stdout=1&stderr=1&since={before}")).Bytes).Count);
            // Fractional seconds, as the docker CLI sends them.
            var frac = stamps[^1].AddSeconds(1);
            Assert.Empty((await _api.GetAsync($"/containers/{id}/logs?stdout=1&since={frac.ToUnixTimeSeconds()}.{frac.Millisecond:D3}000000")).Bytes);

            var cli = await d.DockerAsync("logs", "--tail", "1", id);
            Assert.Equal("o3\n", cli.Stdout);
            Assert.Equal("", cli.Stderr);

            EngineApi.AssertError(await _api.GetAsync($"/containers/{id}/logs"), HttpStatusCode.BadRequest);
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{id}?force=1");
        }
        await _api.AssertAliveAsync();
    }

    private async Task<string> ImportAsync(string reference, params string[] changes)
    {
        var args = new List<string> { "import" };
        foreach (var c in changes) { args.Add("-c"); args.Add(c); }
        args.Add(Path.Combine(d.Root, "tiny.tar"));
        args.Add(reference);
        var tar = Path.Combine(d.Root, "tiny.tar");
        if (!File.Exists(tar)) await WriteTinyTarAsync(tar, "hello.txt", "hello from the image\n");
        var r = await d.DockerAsync([.. args]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout.Trim();
    }

    internal static async Task WriteTinyTarAsync(string path, string name, string content)
    {
        await using var f = File.Create(path);
        await using var w = new System.Formats.Tar.TarWriter(f, System.Formats.Tar.TarEntryFormat.Pax);
        var dir = new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.Directory, "data/") { Mode = (UnixFileMode)0x1ED };
        await w.WriteEntryAsync(dir);
        var file = new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "data/" + name)
        {
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
            Mode = (UnixFileMode)0x1A4,
        };
        await w.WriteEntryAsync(file);
    }

    [Fact]
    public async Task ImportAnswersWithOneStatusLineAndAppliesChanges()
    {
        var tar = Path.Combine(d.Root, "api-import.tar");
        await WriteTinyTarAsync(tar, "x.txt", "x\n");
        var repo = "apiimp" + d.Tag;
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(tar));
        content.Headers.ContentType = new("application/x-tar");
        var r = await _api.SendAsync(HttpMethod.Post,
            $"/images/create?fromSrc=-&repo={repo}&tag=v1&message=hello&changes={Q("LABEL a=b")}&changes={Q("CMD [\"/x\"]")}", content: content);
        Assert.True(r.Status == HttpStatusCode.OK, r.ToString());
        var lines = r.Body.Split("\n", StringSplitOptions.RemoveEmptyEntries);
        using var line = JsonDocument.Parse(Assert.Single(lines));
        // Exactly dockerd's shape: clients look for the presence of "error"/"errorDetail" to detect failure.
        Assert.Equal(["status"], line.RootElement.EnumerateObject().Select(p => p.Name).ToArray());
        var id = line.RootElement.GetProperty("status").GetString()!;
        Assert.Matches("^sha256:[0-9a-f]{64}$", id);

        var inspect = (await _api.GetAsync($"/images/{repo}:v1/json")).Json();
        Assert.Equal(id, inspect.GetProperty("Id").GetString());
        Assert.Equal("hello", inspect.GetProperty("Comment").GetString());
        Assert.Equal("b", inspect.GetProperty("Config").GetProperty("Labels").GetProperty("a").GetString());
        Assert.Equal(["/x"], inspect.GetProperty("Config").GetProperty("Cmd").EnumerateArray().Select(x => x.GetString()!).ToArray());
        // The config in dockerd's shape for API 1.50-1.51: the OCI config's fields, these always (set or not), no
        // container-only fields, never a null where a string belongs; GraphDriver.Data an object, as the spec requires.
        string[] always = ["User", "Env", "Cmd", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels"];
        var config = inspect.GetProperty("Config");
        Assert.Equal(always.Order(), config.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("", config.GetProperty("User").GetString());
        Assert.Equal("", config.GetProperty("WorkingDir").GetString());
        Assert.Equal(JsonValueKind.Object, inspect.GetProperty("GraphDriver").GetProperty("Data").ValueKind);
        Assert.False(inspect.TryGetProperty("VirtualSize", out _));
        // Named at import: dockerd's LastTagTime is that moment; a new tag moves it on.
        var tagged = DateTimeOffset.Parse(inspect.GetProperty("Metadata").GetProperty("LastTagTime").GetString()!);
        var created = DateTimeOffset.Parse(inspect.GetProperty("Created").GetString()!);
        Assert.True(tagged >= created, $"tagged {tagged:o}, created {created:o}");
        await Task.Delay(20);
        Assert.Equal(HttpStatusCode.Created, (await _api.PostAsync($"/images/{repo}:v1/tag?repo={repo}&tag=v2")).Status);
        var retagged = DateTimeOffset.Parse((await _api.GetAsync($"/images/{repo}:v1/json")).Json().GetProperty("Metadata").GetProperty("LastTagTime").GetString()!);
        Assert.True(retagged > tagged, $"{tagged:o} then {retagged:o}");
        Assert.Equal(HttpStatusCode.OK, (await _api.DeleteAsync($"/images/{repo}:v2")).Status);
        // Before 1.50 dockerd still wrote the container-only fields, empty; before 1.44 VirtualSize as well.
        var old = (await _api.GetAsync($"/v1.41/images/{repo}:v1/json")).Json();
        var oldConfig = old.GetProperty("Config");
        foreach (var name in new[] { "Hostname", "Domainname", "Image" }) Assert.Equal("", oldConfig.GetProperty(name).GetString());
        foreach (var name in new[] { "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce" })
            Assert.Equal(JsonValueKind.False, oldConfig.GetProperty(name).ValueKind);
        Assert.Equal(old.GetProperty("Size").GetInt64(), old.GetProperty("VirtualSize").GetInt64());
        Assert.Equal(HttpStatusCode.OK, (await _api.DeleteAsync($"/images/{repo}:v1")).Status);

        var garbage = new ByteArrayContent(Encoding.UTF8.GetBytes("this is not a tar archive at all, not even close"));
        EngineApi.AssertError(await _api.SendAsync(HttpMethod.Post, $"/images/create?fromSrc=-&repo={repo}", content: garbage), HttpStatusCode.BadRequest);
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task ImageListFiltersDeleteAndPrune()
    {
        var t = d.Tag;
        var repo = $"conf{t}";
        var id = await ImportAsync($"{repo}:one", "LABEL flavour=plain");
        var labelled = await ImportAsync($"{repo}lab:one", "LABEL flavour=spicy");
        Assert.StartsWith("sha256:", id);

        async Task<string[]> Tags(string filters)
        {
            var r = await _api.GetAsync("/images/json?filters=" + Q(filters));
            Assert.True(r.Status == HttpStatusCode.OK, r.ToString());
            return r.Json().EnumerateArray().SelectMany(i => i.GetProperty("RepoTags").ValueKind == JsonValueKind.Array
                ? i.GetProperty("RepoTags").EnumerateArray().Select(x => x.GetString()!) : []).Order().ToArray();
        }

        var tag2 = await _api.PostAsync($"/images/{repo}:one/tag?repo={repo}&tag=two");
        Assert.Equal(HttpStatusCode.Created, tag2.Status);
        Assert.Equal([$"{repo}:one", $"{repo}:two"], await Tags($$"""{"reference":["{{repo}}"]}"""));
        Assert.Equal([$"{repo}:two"], await Tags($$"""{"reference":["{{repo}}:two"]}"""));
        Assert.Equal([$"{repo}:one", $"{repo}:two", $"{repo}lab:one"], await Tags($$"""{"reference":["conf{{t}}*"]}"""));
        Assert.Equal([$"{repo}lab:one"], await Tags("""{"label":["flavour=spicy"]}"""));
        Assert.Contains("busybox:latest", await Tags("""{"dangling":["false"]}"""));
        Assert.Contains($"{repo}:one", await Tags($$"""{"since":["busybox"],"reference":["{{repo}}*"]}"""));
        EngineApi.AssertError(await _api.GetAsync("/images/json?filters=" + Q($$"""{"before":["nosuch{{t}}"]}""")), HttpStatusCode.NotFound);

        var summary = (await _api.GetAsync("/images/json?filters=" + Q($$"""{"reference":["{{repo}}:one"]}"""))).Json()[0];
        Assert.Equal(id, summary.GetProperty("Id").GetString());
        Assert.True(summary.GetProperty("Size").GetInt64() > 0);
        Assert.True(summary.GetProperty("Created").GetInt64() > 0);
        Assert.Equal("plain", summary.GetProperty("Labels").GetProperty("flavour").GetString());

        // Deleting one of two tags only untags.
        var untag = await _api.DeleteAsync($"/images/{repo}:two");
        Assert.True(untag.Status == HttpStatusCode.OK, untag.ToString());
        var items = untag.Json().EnumerateArray().ToArray();
        Assert.Equal($"{repo}:two", Assert.Single(items).GetProperty("Untagged").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"/images/{id}/json")).Status);

        // A container (even a stopped one) holds the image: 409 without force.
        var cid = await _api.CreateAsync($"imguser{t}", $$"""{"Image":"{{repo}}:one","Cmd":["/none"]}""");
        try
        {
            var conflict = await _api.DeleteAsync($"/images/{id}");
            Assert.Contains(cid[..12], EngineApi.AssertError(conflict, HttpStatusCode.Conflict));
            var byName = await _api.DeleteAsync($"/images/{repo}:one");
            Assert.True(byName.Status == HttpStatusCode.Conflict, byName.ToString());
            var forced = await _api.DeleteAsync($"/images/{repo}:one?force=1");
            Assert.True(forced.Status == HttpStatusCode.OK, forced.ToString());
            Assert.Contains(forced.Json().EnumerateArray(), e => e.TryGetProperty("Untagged", out var u) && u.GetString() == $"{repo}:one");
            // Untagged but still used: the image stays, and prune leaves it alone while the container exists.
            Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"/images/{id}/json")).Status);
            Assert.Equal(HttpStatusCode.OK, (await _api.PostAsync("/images/prune")).Status);
            Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"/images/{id}/json")).Status);
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{cid}?force=1");
        }

        // The labelled image, untagged, becomes dangling and prune removes it.
        var other = await ImportAsync($"{repo}x:one", "LABEL flavour=sour");
        Assert.NotEqual(other, labelled);
        var del = await _api.DeleteAsync($"/images/{repo}lab:one");
        var deleted = del.Json().EnumerateArray().ToArray();
        Assert.Contains(deleted, e => e.TryGetProperty("Untagged", out var u) && u.GetString() == $"{repo}lab:one");
        Assert.Contains(deleted, e => e.TryGetProperty("Deleted", out var x) && x.GetString() == labelled);
        EngineApi.AssertError(await _api.GetAsync($"/images/{labelled}/json"), HttpStatusCode.NotFound);
        EngineApi.AssertError(await _api.DeleteAsync($"/images/nosuch{t}:latest"), HttpStatusCode.NotFound);

        // The force-untagged image outlived its container as a dangling image; prune removes it.
        var dangling = (await _api.GetAsync("/images/json?filters=" + Q("""{"dangling":["true"]}"""))).Json().EnumerateArray().ToArray();
        var danglingOne = Assert.Single(dangling, i => i.GetProperty("Id").GetString() == id);
        Assert.Equal(0, danglingOne.GetProperty("RepoTags").GetArrayLength());
        // Older API versions get dockerd's older list: no container count, and the <none> names.
        var legacy = (await _api.GetAsync("/v1.41/images/json?filters=" + Q("""{"dangling":["true"]}"""))).Json().EnumerateArray()
            .Single(i => i.GetProperty("Id").GetString() == id);
        Assert.Equal(-1, legacy.GetProperty("Containers").GetInt32());
        Assert.Equal("<none>:<none>", legacy.GetProperty("RepoTags")[0].GetString());
        Assert.Equal("<none>@<none>", legacy.GetProperty("RepoDigests")[0].GetString());
        var prune = await _api.PostAsync("/images/prune");
        Assert.True(prune.Status == HttpStatusCode.OK, prune.ToString());
        var report = prune.Json();
        Assert.Contains(report.GetProperty("ImagesDeleted").EnumerateArray(), e => e.TryGetProperty("Deleted", out var x) && x.GetString() == id);
        // Its one layer is the tiny tar every image of this test shares, so no layer went: nothing reclaimed, as
        // dockerd counts it (a layer's bytes, once the last image with it is gone).
        Assert.Equal(0, report.GetProperty("SpaceReclaimed").GetInt64());
        // Each prune answers its own report, as dockerd's: no other resource's list rides along.
        Assert.Equal(["ImagesDeleted", "SpaceReclaimed"], report.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal("""{"ContainersDeleted":null,"SpaceReclaimed":0}""",
            (await _api.PostAsync("/containers/prune?filters=" + Q("""{"label":["prune=none-such"]}"""))).Body.Trim());
        Assert.Equal("""{"NetworksDeleted":null}""",
            (await _api.PostAsync("/networks/prune?filters=" + Q("""{"label":["prune=none-such"]}"""))).Body.Trim());
        Assert.Equal(HttpStatusCode.NotFound, (await _api.GetAsync($"/images/{id}/json")).Status);
        // Prune keeps tagged images.
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"/images/{repo}x:one/json")).Status);
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync("/images/busybox/json")).Status);
        // docker image prune -a (dangling=false) takes unused tagged images too; a label filter narrows it to ours.
        var pruneAll = await _api.PostAsync("/images/prune?filters=" + Q("""{"dangling":["false"],"label":["flavour=sour"]}"""));
        Assert.True(pruneAll.Status == HttpStatusCode.OK, pruneAll.ToString());
        var pruned = pruneAll.Json().GetProperty("ImagesDeleted").EnumerateArray().ToArray();
        Assert.Contains(pruned, e => e.TryGetProperty("Untagged", out var u) && u.GetString() == $"{repo}x:one");
        Assert.Contains(pruned, e => e.TryGetProperty("Deleted", out var x) && x.GetString() == other);
        Assert.Equal(HttpStatusCode.NotFound, (await _api.GetAsync($"/images/{repo}x:one/json")).Status);
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync("/images/busybox/json")).Status);
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task VolumesCreateListInspectDeletePrune()
    {
        var t = d.Tag;
        var name = "vol" + t;
        var created = await _api.PostAsync("/volumes/create", "{\"Name\":\"" + name + "\",\"Labels\":{\"team\":\"conf\"}}");
        Assert.True(created.Status == HttpStatusCode.Created, created.ToString());
        var v = created.Json();
        Assert.Equal(name, v.GetProperty("Name").GetString());
        Assert.Equal("local", v.GetProperty("Driver").GetString());
        Assert.Equal("local", v.GetProperty("Scope").GetString());
        var mountpoint = v.GetProperty("Mountpoint").GetString()!;
        Assert.StartsWith(d.DataRoot, mountpoint);
        Assert.True(Directory.Exists(mountpoint));

        var inspect = (await _api.GetAsync($"/volumes/{name}")).Json();
        Assert.Equal("conf", inspect.GetProperty("Labels").GetProperty("team").GetString());
        Assert.Equal(mountpoint, inspect.GetProperty("Mountpoint").GetString());

        var list = (await _api.GetAsync("/volumes?filters=" + Q("""{"label":["team=conf"]}"""))).Json();
        Assert.Equal([name], list.GetProperty("Volumes").EnumerateArray().Select(x => x.GetProperty("Name").GetString()!).ToArray());

        // In use by a container (even a stopped one): 409.
        var cid = await _api.CreateAsync($"voluser{t}", "{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"HostConfig\":{\"Binds\":[\"" + name + ":/data\"]}}");
        try
        {
            var conflict = await _api.DeleteAsync($"/volumes/{name}");
            Assert.Contains("in use", EngineApi.AssertError(conflict, HttpStatusCode.Conflict));
            var dangling = (await _api.GetAsync("/volumes?filters=" + Q("""{"dangling":["true"]}"""))).Json();
            Assert.DoesNotContain(name, dangling.GetProperty("Volumes").EnumerateArray().Select(x => x.GetProperty("Name").GetString()));
        }
        finally
        {
            await _api.DeleteAsync($"/containers/{cid}?force=1");
        }
        var rm = await _api.DeleteAsync($"/volumes/{name}");
        Assert.True(rm.Status == HttpStatusCode.NoContent, rm.ToString());
        Assert.False(Directory.Exists(mountpoint));
        EngineApi.AssertError(await _api.GetAsync($"/volumes/{name}"), HttpStatusCode.NotFound);
        EngineApi.AssertError(await _api.DeleteAsync($"/volumes/{name}"), HttpStatusCode.NotFound);

        // Prune: all=true takes named volumes too; a label filter narrows it.
        var keep = "keep" + t;
        var drop = "drop" + t;
        await _api.PostAsync("/volumes/create", "{\"Name\":\"" + keep + "\",\"Labels\":{\"keep\":\"yes\"}}");
        await _api.PostAsync("/volumes/create", "{\"Name\":\"" + drop + "\",\"Labels\":{\"prune\":\"me\"}}");
        var pruneNamed = await _api.PostAsync("/volumes/prune");
        var namedDeleted = pruneNamed.Json().GetProperty("VolumesDeleted");
        Assert.True(namedDeleted.ValueKind == JsonValueKind.Null || !namedDeleted.EnumerateArray().Any(x => x.GetString() == drop), pruneNamed.ToString());
        var prune = await _api.PostAsync("/volumes/prune?filters=" + Q("""{"all":["true"],"label":["prune=me"]}"""));
        Assert.True(prune.Status == HttpStatusCode.OK, prune.ToString());
        Assert.Equal([drop], prune.Json().GetProperty("VolumesDeleted").EnumerateArray().Select(x => x.GetString()!).ToArray());
        Assert.Equal(["VolumesDeleted", "SpaceReclaimed"], prune.Json().EnumerateObject().Select(p => p.Name).ToArray());
        // Nothing to delete: dockerd's report holds a null list.
        var none = await _api.PostAsync("/volumes/prune?filters=" + Q("""{"label":["prune=none-such"]}"""));
        Assert.Equal("""{"VolumesDeleted":null,"SpaceReclaimed":0}""", none.Body.Trim());
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync($"/volumes/{keep}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync($"/volumes/{keep}")).Status);
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task RmVRemovesAnonymousVolumePopulatedFromImage()
    {
        var t = d.Tag;
        var tar = Path.Combine(d.Root, "voldata.tar");
        await WriteTinyTarAsync(tar, "seed.txt", "seeded by the image\n");
        // busybox's root filesystem plus /data/seed.txt, imported with VOLUME /data.
        var img = $"volimg{t}";
        var r = await d.ShellAsync(
            $"set -e; tmp=$(mktemp -d {d.Root}/volimg.XXXX); mkdir $tmp/root; {d.RepoRoot}/scripts/mkbusybox.sh | tar -C $tmp/root -xf -; " +
            $"tar -C $tmp/root -xf {tar}; tar --numeric-owner -C $tmp/root -cf - . | /usr/local/bin/docker import -c 'VOLUME /data' - {img}; rm -rf $tmp");
        Assert.True(r.ExitCode == 0, r.ToString());
        var name = "anon" + t;
        var run = await d.DockerAsync("run", "--name", name, img, "cat", "/data/seed.txt");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("seeded by the image\n", run.Stdout);
        var volName = "";
        try
        {
            var c = (await _api.GetAsync($"/containers/{name}/json")).Json();
            var m = Assert.Single(c.GetProperty("Mounts").EnumerateArray());
            Assert.Equal("volume", m.GetProperty("Type").GetString());
            Assert.Equal("/data", m.GetProperty("Destination").GetString());
            volName = m.GetProperty("Name").GetString()!;
            Assert.Matches("^[0-9a-f]{64}$", volName);
            var vol = await _api.GetAsync($"/volumes/{volName}");
            Assert.Equal(HttpStatusCode.OK, vol.Status);
            Assert.Equal("seeded by the image\n", File.ReadAllText(Path.Combine(vol.Json().GetProperty("Mountpoint").GetString()!, "seed.txt")));

            var rm = await d.DockerAsync("rm", "-v", name);
            Assert.True(rm.ExitCode == 0, rm.ToString());
            EngineApi.AssertError(await _api.GetAsync($"/volumes/{volName}"), HttpStatusCode.NotFound);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", "-v", name);
            if (volName != "") await _api.DeleteAsync($"/volumes/{volName}");
            await d.DockerAsync("rmi", img);
        }
        await _api.AssertAliveAsync();
    }

    [Fact]
    public async Task NetworksListShowsPredefinedOnes()
    {
        var r = await _api.GetAsync("/networks");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var nets = r.Json().EnumerateArray().ToDictionary(n => n.GetProperty("Name").GetString()!, n => n);
        Assert.Equal("bridge", nets["bridge"].GetProperty("Driver").GetString());
        Assert.Equal("host", nets["host"].GetProperty("Driver").GetString());
        Assert.Equal("null", nets["none"].GetProperty("Driver").GetString());
        Assert.All(nets.Values, n => Assert.Matches("^[0-9a-f]{64}$", n.GetProperty("Id").GetString()));
        Assert.Equal($"{d.Subnet3}.0/24", nets["bridge"].GetProperty("IPAM").GetProperty("Config")[0].GetProperty("Subnet").GetString());

        var cli = await d.DockerAsync("network", "ls", "--format", "{{.Name}} {{.Driver}}");
        Assert.True(cli.ExitCode == 0, cli.ToString());
        Assert.Equal(["bridge bridge", "host host", "none null"], cli.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToArray());
        var inspect = await _api.GetAsync("/networks/bridge");
        Assert.Equal("bridge", inspect.Json().GetProperty("Name").GetString());
        EngineApi.AssertError(await _api.GetAsync("/networks/nosuch" + d.Tag), HttpStatusCode.NotFound);
        // The predefined networks cannot be removed: 403, as in dockerd.
        foreach (var n in new[] { "bridge", "host", "none" })
            Assert.Equal($"{n} is a pre-defined network and cannot be removed", EngineApi.AssertError(await _api.DeleteAsync($"/networks/{n}"), HttpStatusCode.Forbidden));
        EngineApi.AssertError(await _api.DeleteAsync("/networks/nosuch" + d.Tag), HttpStatusCode.NotFound);
        var rm = await d.DockerAsync("network", "rm", "bridge");
        Assert.NotEqual(0, rm.ExitCode);
        Assert.Contains("pre-defined network", rm.Stderr);
        Assert.Equal(HttpStatusCode.OK, (await _api.GetAsync("/networks/bridge")).Status);
        await _api.AssertAliveAsync();
    }
}
