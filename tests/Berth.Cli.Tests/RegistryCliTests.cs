using System.Text;
using System.Text.Json.Nodes;
using Berth.Api;
using Berth.Cli.Formatting;
using Berth.Client;

namespace Berth.Cli.Tests;

// The JSON-message renderer, the credentials store, X-Registry-Auth, and login/logout/pull/push against a fake daemon.
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RegistryCliTests
{
    // A pull as berthd and dockerd stream it: header, two layers interleaved, digest, status.
    private const string PullStream =
        "{\"status\":\"Pulling from library/busybox\",\"id\":\"latest\"}\r\n" +
        "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\r\n" +
        "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"bbbbbbbbbbbb\"}\r\n" +
        "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1000,\"total\":2000},\"progress\":\"[==>  ]\",\"id\":\"aaaaaaaaaaaa\"}\r\n" +
        "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":500,\"total\":3000},\"id\":\"bbbbbbbbbbbb\"}\r\n" +
        "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\r\n" +
        "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\r\n" +
        "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"bbbbbbbbbbbb\"}\r\n" +
        "{\"status\":\"Digest: sha256:1234\"}\r\n" +
        "{\"status\":\"Status: Downloaded newer image for busybox:latest\"}\r\n";

    private static async Task<(string Output, string? Error)> RenderAsync(string stream, bool terminal, int width = 200, Action<JsonNode>? aux = null)
    {
        var sw = new StringWriter { NewLine = "\n" };
        var error = await new JsonMessageRenderer(sw, terminal, width).RenderAsync(new MemoryStream(Encoding.UTF8.GetBytes(stream)), aux);
        return (sw.ToString(), error);
    }

    [Fact]
    public async Task WithoutTerminalOnlyLinesWithoutByteCountsArePrinted()
    {
        var (output, error) = await RenderAsync(PullStream, terminal: false);
        Assert.Null(error);
        Assert.Equal(
            "latest: Pulling from library/busybox\n" +
            "aaaaaaaaaaaa: Pulling fs layer\n" +
            "bbbbbbbbbbbb: Pulling fs layer\n" +
            "aaaaaaaaaaaa: Download complete\n" +
            "aaaaaaaaaaaa: Pull complete\n" +
            "bbbbbbbbbbbb: Pull complete\n" +
            "Digest: sha256:1234\n" +
            "Status: Downloaded newer image for busybox:latest\n", output);
    }

    [Fact]
    public async Task OnTerminalEachLayerLineIsRewrittenInPlace()
    {
        var (output, error) = await RenderAsync(PullStream, terminal: true, width: 200);
        Assert.Null(error);
        const string Clear = "\x1b[2K\r";
        var bar = "[" + new string('=', 25) + ">" + new string(' ', 25) + "] " + "     1kB/2kB";
        var bar2 = "[" + new string('=', 8) + ">" + new string(' ', 42) + "] " + "    500B/3kB";
        Assert.Equal(
            "latest: Pulling from library/busybox\n" +
            // a new id: a new line, up one, clear, write, back down
            "\n\x1b[1A" + Clear + "aaaaaaaaaaaa: Pulling fs layer \r\x1b[1B" +
            "\n\x1b[1A" + Clear + "bbbbbbbbbbbb: Pulling fs layer \r\x1b[1B" +
            // the first layer is two lines up now
            "\x1b[2A" + Clear + "aaaaaaaaaaaa: Downloading " + bar + "\r\x1b[2B" +
            "\x1b[1A" + Clear + "bbbbbbbbbbbb: Downloading " + bar2 + "\r\x1b[1B" +
            "\x1b[2A" + Clear + "aaaaaaaaaaaa: Download complete \r\x1b[2B" +
            "\x1b[2A" + Clear + "aaaaaaaaaaaa: Pull complete \r\x1b[2B" +
            "\x1b[1A" + Clear + "bbbbbbbbbbbb: Pull complete \r\x1b[1B" +
            "Digest: sha256:1234\n" +
            "Status: Downloaded newer image for busybox:latest\n", output);
    }

    [Fact]
    public async Task ALineWithoutIdStartsANewBlockOfProgressLines()
    {
        // pull -a: the second tag's layers must not rewrite the first tag's lines.
        var stream =
            "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\n" +
            "{\"status\":\"Digest: sha256:1\"}\n" +
            "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"cccccccccccc\"}\n" +
            "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"cccccccccccc\"}\n";
        var (output, _) = await RenderAsync(stream, terminal: true);
        Assert.EndsWith("\n\x1b[1A\x1b[2K\rcccccccccccc: Pulling fs layer \r\x1b[1B\x1b[1A\x1b[2K\rcccccccccccc: Pull complete \r\x1b[1B", output);
        Assert.DoesNotContain("\x1b[2A", output);
    }

    [Fact]
    public async Task AnErrorMessageEndsTheStreamAndIsReturned()
    {
        var stream =
            "{\"status\":\"The push refers to repository [127.0.0.1:5000/app]\"}\n" +
            "{\"errorDetail\":{\"message\":\"unauthorized: authentication required\"},\"error\":\"unauthorized: authentication required\"}\n" +
            "{\"status\":\"never shown\"}\n";
        var (output, error) = await RenderAsync(stream, terminal: false);
        Assert.Equal("unauthorized: authentication required", error);
        Assert.Equal("The push refers to repository [127.0.0.1:5000/app]\n", output);

        (_, error) = await RenderAsync("{\"error\":\"only the old field\"}\n", terminal: false);
        Assert.Equal("only the old field", error);
    }

    [Fact]
    public async Task AuxMessagesGoToTheCallbackNotTheOutput()
    {
        var stream =
            "{\"status\":\"latest: digest: sha256:abcd size: 527\"}\n" +
            "{\"progressDetail\":{},\"aux\":{\"Tag\":\"latest\",\"Digest\":\"sha256:abcd\",\"Size\":527}}\n";
        JsonNode? seen = null;
        var (output, _) = await RenderAsync(stream, terminal: false, aux: a => seen = a);
        Assert.Equal("latest: digest: sha256:abcd size: 527\n", output);
        Assert.Equal(527, seen!["Size"]!.GetValue<int>());
    }

    [Fact]
    public async Task StreamAndUnparsableLinesArePrintedAsTheyCame()
    {
        var (output, _) = await RenderAsync("{\"stream\":\"Step 1/2\\n\"}\nnot json\n{\"status\":\"sha256:0123\"}\n", terminal: false);
        Assert.Equal("Step 1/2\nnot json\nsha256:0123\n", output);
    }

    [Theory]
    [InlineData(1_200_000, 3_400_000, 200, "[" + "=================" + ">" + "                                 " + "] " + "   1.2MB/3.4MB")]
    [InlineData(1_200_000, 3_400_000, 80, "   1.2MB/3.4MB")]
    [InlineData(3_400_000, 3_400_000, 120, "[" + "==================================================" + ">] " + "   3.4MB/3.4MB")]
    [InlineData(5_000_000, 3_400_000, 80, "     5MB")]
    [InlineData(123_456, 0, 200, " 123.5kB")]
    [InlineData(0, 0, 200, "")]
    public void ProgressTextIsDockersBar(long current, long total, int width, string expected)
    {
        var detail = new JsonObject { ["current"] = current, ["total"] = total };
        Assert.Equal(expected, JsonMessageRenderer.ProgressText(detail, width));
    }

    [Fact]
    public void RegistryAuthIsBase64UrlOfDockersJson()
    {
        // '>' and '?' in the password make '+' and '/' in standard base64: the header must carry '-' and '_'.
        var auth = new AuthConfig { Username = "u", Password = "p>>>???", ServerAddress = "127.0.0.1:5000" };
        var encoded = RegistryAuth.Encode(auth);
        Assert.DoesNotContain('+', encoded);
        Assert.DoesNotContain('/', encoded);
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(encoded.Replace('-', '+').Replace('_', '/')));
        Assert.Equal("{\"username\":\"u\",\"password\":\"p\\u003E\\u003E\\u003E???\",\"serveraddress\":\"127.0.0.1:5000\"}", json);
        Assert.Equal("p>>>???", JsonNode.Parse(json)!["password"]!.GetValue<string>());
        Assert.Equal("{}", Encoding.UTF8.GetString(RegistryAuth.Json(new AuthConfig())));
    }

    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "berth-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void StoreWritesMode0600AtomicallyAndKeepsOtherKeys()
    {
        var dir = TempDir();
        try
        {
            var store = new CredentialStore(Path.Combine(dir, "cfg"));
            File.WriteAllText(Path.Combine(dir, "placeholder"), "");
            store.Store("127.0.0.1:5000", "u", "p:w");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath));
            var root = JsonNode.Parse(File.ReadAllText(store.FilePath))!;
            Assert.Equal(Convert.ToBase64String("u:p:w"u8.ToArray()), root["auths"]!["127.0.0.1:5000"]!["auth"]!.GetValue<string>());

            // Keys the store does not know survive; no temporary file is left beside it.
            File.WriteAllText(store.FilePath, "{\"psFormat\":\"{{.ID}}\",\"auths\":{\"other:1\":{\"auth\":\"eDp5\"}}}");
            store.Store("127.0.0.1:5000", "u2", "p2");
            root = JsonNode.Parse(File.ReadAllText(store.FilePath))!;
            Assert.Equal("{{.ID}}", root["psFormat"]!.GetValue<string>());
            Assert.NotNull(root["auths"]!["other:1"]);
            Assert.Equal(("u2", "p2"), (store.Get("127.0.0.1:5000")!.Username, store.Get("127.0.0.1:5000")!.Password));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath));
            Assert.Equal(new[] { "config.json" }, Directory.GetFiles(store.Directory).Select(f => Path.GetFileName(f)));
            Assert.Contains("\n\t\"auths\"", File.ReadAllText(store.FilePath), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ACorruptConfigIsNeverOverwritten()
    {
        var dir = TempDir();
        try
        {
            var store = new CredentialStore(dir);
            File.WriteAllText(store.FilePath, "{not json");
            Assert.Throws<CredentialStoreException>(() => store.Store("h:1", "u", "p"));
            Assert.Equal("{not json", File.ReadAllText(store.FilePath));
            var warn = new StringWriter();
            Assert.Null(store.Get("h:1", warn));
            Assert.StartsWith("WARNING: Error loading config file: ", warn.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void KeysAreNormalizedAsDockerDoes()
    {
        Assert.Equal("https://index.docker.io/v1/", CredentialStore.LoginKey(null));
        Assert.Equal("https://index.docker.io/v1/", CredentialStore.LoginKey("docker.io"));
        Assert.Equal("localhost:5000", CredentialStore.LoginKey("localhost:5000"));
        Assert.Equal("https://index.docker.io/v1/", CredentialStore.RegistryKey("docker.io"));
        Assert.Equal("127.0.0.1:5000", CredentialStore.RegistryKey("127.0.0.1:5000"));
        Assert.Equal("host:5000", CredentialStore.Hostname("https://host:5000/v2/"));

        var dir = TempDir();
        try
        {
            // An older client's URL-shaped key is found by host.
            var store = new CredentialStore(dir);
            File.WriteAllText(store.FilePath, "{\"auths\":{\"http://host:5000/v2/\":{\"auth\":\"" + Convert.ToBase64String("a:b"u8.ToArray()) + "\"}}}");
            var found = store.Get("host:5000");
            Assert.Equal(("a", "b", "http://host:5000/v2/"), (found!.Username, found.Password, found.ServerAddress));
            Assert.Null(store.Get("host:5001"));
            Assert.True(store.Erase("http://host:5000/v2/"));
            Assert.False(store.Erase("http://host:5000/v2/"));
            Assert.Null(store.Get("host:5000"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ConfigDirectoryComesFromBerthConfigOrHome()
    {
        Assert.Equal("/x/cfg", CredentialStore.FromEnvironment(k => k == "BERTH_CONFIG" ? "/x/cfg" : "/home/h").Directory);
        Assert.Equal("/home/h/.berth", CredentialStore.FromEnvironment(k => k == "HOME" ? "/home/h" : null).Directory);
    }

    // A daemon that accepts login for u/secret, streams a pull and a push, and records what it was sent.
    private sealed class RegistryDaemon
    {
        public readonly List<FakeDaemon.Request> Seen = [];

        public async Task<bool> HandleAsync(FakeDaemon.Request req, FakeDaemon.Connection c)
        {
            lock (Seen)
            {
                Seen.Add(req);
            }
            var p = req.Path;
            if (p == "/_ping")
            {
                await c.RespondAsync(200);
            }
            else if (p.EndsWith("/auth", StringComparison.Ordinal))
            {
                var body = JsonNode.Parse(req.Body)!;
                if (body["username"]?.GetValue<string>() == "u" && body["password"]?.GetValue<string>() == "secret")
                {
                    await c.RespondAsync(200, "{\"Status\":\"Login Succeeded\"}");
                }
                else
                {
                    await c.RespondAsync(401, "{\"message\":\"login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized\"}");
                }
            }
            else if (p.EndsWith("/images/create", StringComparison.Ordinal))
            {
                await c.RespondAsync(200, PullStream);
            }
            else if (p.EndsWith("/push", StringComparison.Ordinal))
            {
                await c.RespondAsync(200,
                    "{\"status\":\"The push refers to repository [127.0.0.1:5000/app]\"}\r\n" +
                    "{\"status\":\"Preparing\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\r\n" +
                    "{\"status\":\"Pushing\",\"progressDetail\":{\"current\":10,\"total\":20},\"id\":\"aaaaaaaaaaaa\"}\r\n" +
                    "{\"status\":\"Pushed\",\"progressDetail\":{},\"id\":\"aaaaaaaaaaaa\"}\r\n" +
                    "{\"status\":\"v1: digest: sha256:abcd size: 527\"}\r\n" +
                    "{\"progressDetail\":{},\"aux\":{\"Tag\":\"v1\",\"Digest\":\"sha256:abcd\",\"Size\":527}}\r\n");
            }
            else
            {
                await c.RespondAsync(404, "{\"message\":\"not here\"}");
            }
            return true;
        }
    }

    private static async Task<(int Code, string Out, string Err)> RunAsync(FakeDaemon daemon, string configDir, string stdin, params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        using var ctx = new CliContext(new MemoryStream(Encoding.UTF8.GetBytes(stdin)), stdout, stderr, k => k == "BERTH_CONFIG" ? configDir : null);
        ctx.HostFlag = daemon.Host;
        var code = await App.RunAsync(ctx, args);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()));
    }

    private static string? DecodedAuthHeader(FakeDaemon.Request r) =>
        r.Headers.TryGetValue("X-Registry-Auth", out var h) ? Encoding.UTF8.GetString(Convert.FromBase64String(h.Replace('-', '+').Replace('_', '/'))) : null;

    [Fact]
    public async Task LoginStoresCredentialsThatPullAndPushSendUntilLogout()
    {
        var fake = new RegistryDaemon();
        await using var daemon = new FakeDaemon(fake.HandleAsync);
        var config = Path.Combine(daemon.Dir, "cfg");

        var (code, stdout, stderr) = await RunAsync(daemon, config, "secret\n", "login", "127.0.0.1:5000", "-u", "u", "--password-stdin");
        Assert.True(code == 0, stderr);
        Assert.Equal("Login Succeeded\n", stdout);
        Assert.Equal($"\nWARNING! Your credentials are stored unencrypted in '{Path.Combine(config, "config.json")}'.\n\n", stderr);
        var auth = JsonNode.Parse(fake.Seen.Single(r => r.Path.EndsWith("/auth", StringComparison.Ordinal)).Body)!;
        Assert.Equal("127.0.0.1:5000", auth["serveraddress"]!.GetValue<string>());
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(config, "config.json")))!;
        Assert.Equal(Convert.ToBase64String("u:secret"u8.ToArray()), file["auths"]!["127.0.0.1:5000"]!["auth"]!.GetValue<string>());

        // No flags: the stored credentials are tried first, and nothing new is stored, so no warning.
        (code, stdout, stderr) = await RunAsync(daemon, config, "", "login", "127.0.0.1:5000");
        Assert.Equal((0, "Login Succeeded\n"), (code, stdout));
        Assert.StartsWith("Authenticating with existing credentials... [Username: u]\n", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("WARNING", stderr, StringComparison.Ordinal);
        Assert.Equal(2, fake.Seen.Count(r => r.Path.EndsWith("/auth", StringComparison.Ordinal)));

        (code, stdout, stderr) = await RunAsync(daemon, config, "", "pull", "127.0.0.1:5000/app:v1");
        Assert.True(code == 0, stderr);
        Assert.Contains("aaaaaaaaaaaa: Pull complete\n", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Downloading", stdout, StringComparison.Ordinal);
        Assert.EndsWith("Status: Downloaded newer image for busybox:latest\n127.0.0.1:5000/app:v1\n", stdout, StringComparison.Ordinal);
        var pull = fake.Seen.Last(r => r.Path.EndsWith("/images/create", StringComparison.Ordinal));
        Assert.Equal("{\"username\":\"u\",\"password\":\"secret\",\"serveraddress\":\"127.0.0.1:5000\"}", DecodedAuthHeader(pull));

        // Another registry gets no credentials.
        (code, _, _) = await RunAsync(daemon, config, "", "pull", "-q", "busybox");
        Assert.Equal(0, code);
        Assert.Null(DecodedAuthHeader(fake.Seen.Last(r => r.Path.EndsWith("/images/create", StringComparison.Ordinal))));

        (code, stdout, stderr) = await RunAsync(daemon, config, "", "push", "127.0.0.1:5000/app:v1");
        Assert.True(code == 0, stderr);
        Assert.Equal(
            "The push refers to repository [127.0.0.1:5000/app]\n" +
            "aaaaaaaaaaaa: Preparing\n" +
            "aaaaaaaaaaaa: Pushed\n" +
            "v1: digest: sha256:abcd size: 527\n", stdout);
        var push = fake.Seen.Last(r => r.Path.EndsWith("/push", StringComparison.Ordinal));
        Assert.EndsWith("/images/127.0.0.1:5000/app/push", push.Path, StringComparison.Ordinal);
        Assert.Equal("tag=v1", push.Query);
        Assert.NotNull(DecodedAuthHeader(push));

        (code, stdout, _) = await RunAsync(daemon, config, "", "push", "-q", "127.0.0.1:5000/app");
        Assert.Equal(0, code);
        Assert.Equal("127.0.0.1:5000/app:latest\n", stdout);
        (code, stdout, _) = await RunAsync(daemon, config, "", "push", "-a", "127.0.0.1:5000/app");
        Assert.Equal(0, code);
        Assert.Equal("tag=", fake.Seen.Last(r => r.Path.EndsWith("/push", StringComparison.Ordinal)).Query);
        Assert.DoesNotContain("Using default tag", stdout, StringComparison.Ordinal);
        (code, _, stderr) = await RunAsync(daemon, config, "", "push", "-a", "127.0.0.1:5000/app:v1");
        Assert.Equal((1, "tag can't be used with --all-tags/-a\n"), (code, stderr));

        (code, stdout, _) = await RunAsync(daemon, config, "", "logout", "127.0.0.1:5000");
        Assert.Equal((0, "Removing login credentials for 127.0.0.1:5000\n"), (code, stdout));
        file = JsonNode.Parse(File.ReadAllText(Path.Combine(config, "config.json")))!;
        Assert.Null(file["auths"]!["127.0.0.1:5000"]);
        (code, _, _) = await RunAsync(daemon, config, "", "pull", "127.0.0.1:5000/app:v1");
        Assert.Equal(0, code);
        Assert.Null(DecodedAuthHeader(fake.Seen.Last(r => r.Path.EndsWith("/images/create", StringComparison.Ordinal))));
    }

    [Fact]
    public async Task LoginFailuresAndFlagMistakesStoreNothing()
    {
        var fake = new RegistryDaemon();
        await using var daemon = new FakeDaemon(fake.HandleAsync);
        var config = Path.Combine(daemon.Dir, "cfg");

        var (code, stdout, stderr) = await RunAsync(daemon, config, "", "login", "127.0.0.1:5000", "-u", "u", "-p", "wrong");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n" +
            "Error response from daemon: login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized\n", stderr);
        Assert.False(File.Exists(Path.Combine(config, "config.json")));

        (code, _, stderr) = await RunAsync(daemon, config, "secret", "login", "--password-stdin", "127.0.0.1:5000");
        Assert.Equal((1, "the --password-stdin option requires --username to be set\n"), (code, stderr));
        (code, _, stderr) = await RunAsync(daemon, config, "secret", "login", "-u", "u", "-p", "x", "--password-stdin", "127.0.0.1:5000");
        Assert.Equal((1, "conflicting options: cannot specify both --password and --password-stdin\n"), (code, stderr));
        // Not a terminal and no password: no prompt.
        (code, _, stderr) = await RunAsync(daemon, config, "", "login", "-u", "u", "127.0.0.1:5000");
        Assert.Equal((1, "Error: Cannot perform an interactive login from a non TTY device\n"), (code, stderr));
        Assert.DoesNotContain(fake.Seen, r => r.Path.EndsWith("/auth", StringComparison.Ordinal) && JsonNode.Parse(r.Body)!["password"]?.GetValue<string>() != "wrong");
        Assert.False(File.Exists(Path.Combine(config, "config.json")));

        // Docker Hub's key when no server is named; logout of it names it.
        (code, stdout, _) = await RunAsync(daemon, config, "secret\r\n", "login", "-u", "u", "--password-stdin");
        Assert.Equal((0, "Login Succeeded\n"), (code, stdout));
        Assert.NotNull(JsonNode.Parse(File.ReadAllText(Path.Combine(config, "config.json")))!["auths"]!["https://index.docker.io/v1/"]);
        (code, stdout, _) = await RunAsync(daemon, config, "", "logout");
        Assert.Equal((0, "Removing login credentials for https://index.docker.io/v1/\n"), (code, stdout));
    }

    [Fact]
    public async Task AnErrorInThePushStreamIsPrintedBareWithExit1()
    {
        await using var daemon = new FakeDaemon(async (req, c) =>
        {
            if (req.Path == "/_ping")
            {
                await c.RespondAsync(200);
            }
            else
            {
                await c.RespondAsync(200, "{\"status\":\"The push refers to repository [h:1/a]\"}\n{\"errorDetail\":{\"message\":\"denied: requested access to the resource is denied\"},\"error\":\"denied: requested access to the resource is denied\"}\n");
            }
            return true;
        });
        var (code, stdout, stderr) = await RunAsync(daemon, Path.Combine(daemon.Dir, "cfg"), "", "push", "h:1/a:v1");
        Assert.Equal(1, code);
        Assert.Equal("The push refers to repository [h:1/a]\n", stdout);
        Assert.Equal("denied: requested access to the resource is denied\n", stderr);
    }
}
