using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using static Berth.Registry.Tests.TestImages;

namespace Berth.Registry.Tests;

/// <summary>A clock the test moves.</summary>
internal sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;
    public override DateTimeOffset GetUtcNow() => Now;
}

public sealed class TokenAuthorityTests
{
    private static readonly HtpasswdAuthenticator NoUsers = new(new Dictionary<string, string>(), "r");

    [Fact]
    public void IssuedTokensVerifyUntilTheyExpire()
    {
        var time = new ManualTime(DateTimeOffset.UnixEpoch.AddYears(56));
        using var a = new TokenAuthority(NoUsers, [], "svc", time: time);
        var jwt = a.Issue("bob", [("repository", "team/app", ["pull"])], out _);
        var grant = a.Verify(jwt)!;
        Assert.Equal("bob", grant.Subject);
        Assert.Equal(["pull"], grant.ActionsFor("repository", "team/app"));
        Assert.Null(grant.ActionsFor("repository", "other"));
        time.Now += TimeSpan.FromMinutes(6);
        Assert.Null(a.Verify(jwt));
    }

    [Fact]
    public void ForgedOrForeignTokensAreRefused()
    {
        using var a = new TokenAuthority(NoUsers, [], "svc");
        using var other = new TokenAuthority(NoUsers, [], "svc");
        Assert.Null(a.Verify(other.Issue("bob", [("repository", "x", ["push"])], out _)));
        var jwt = a.Issue("bob", [("repository", "x", ["pull"])], out _);
        var parts = jwt.Split('.');
        var payload = Encoding.UTF8.GetString(Convert.FromBase64String(parts[1].Replace('-', '+').Replace('_', '/').PadRight(parts[1].Length + (4 - parts[1].Length % 4) % 4, '=')));
        var forged = Convert.ToBase64String(Encoding.UTF8.GetBytes(payload.Replace("\"pull\"", "\"push\""))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Assert.Null(a.Verify($"{parts[0]}.{forged}.{parts[2]}"));
        Assert.Null(a.Verify("not.a.token"));
        using var otherService = new TokenAuthority(NoUsers, [], "other-svc");
        Assert.Null(otherService.Verify(jwt));
    }

    [Fact]
    public void ASigningKeyFileIsMadeOncePrivateAndReused()
    {
        var dir = Path.Combine("/tmp", $"berth-reg-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}");
        try
        {
            var path = Path.Combine(dir, "token-key.pem");
            Assert.Throws<FileNotFoundException>(() => TokenAuthority.LoadOrCreateSigningKey(path, create: false));
            using var a = new TokenAuthority(NoUsers, [], "svc", signingKey: TokenAuthority.LoadOrCreateSigningKey(path, create: true));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal([path], Directory.GetFiles(dir)); // no temp file left beside it
            var written = File.ReadAllText(path);
            using var b = new TokenAuthority(NoUsers, [], "svc", signingKey: TokenAuthority.LoadOrCreateSigningKey(path, create: true));
            Assert.Equal(written, File.ReadAllText(path));
            var grant = b.Verify(a.Issue("bob", [("repository", "x", ["pull"])], out _));
            Assert.Equal("bob", grant?.Subject);

            // Not a key: refused, and never replaced by a new one (that would invalidate every token out there).
            File.WriteAllText(path, "not a key\n");
            Assert.Throws<System.Security.Cryptography.CryptographicException>(() => TokenAuthority.LoadOrCreateSigningKey(path, create: true));
            Assert.Equal("not a key\n", File.ReadAllText(path));
            using var rsa = System.Security.Cryptography.RSA.Create(2048);
            File.WriteAllText(path, rsa.ExportPkcs8PrivateKeyPem());
            Assert.Throws<System.Security.Cryptography.CryptographicException>(() => TokenAuthority.LoadOrCreateSigningKey(path, create: true));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RulesGrantTheIntersection()
    {
        using var a = new TokenAuthority(NoUsers,
            [new AccessRule("bob", "team/app", ["pull"]), new AccessRule("*", "shared/*", ["pull", "push"]), new AccessRule("anonymous", "public/*", ["pull"])], "svc");
        Assert.Equal(["pull"], a.Allowed("bob", "team/app", ["pull", "push"]));
        Assert.Empty(a.Allowed("bob", "team/other", ["pull"]));
        Assert.Equal(["pull", "push"], a.Allowed("carol", "shared/a/b", ["pull", "push", "delete"]));
        Assert.Empty(a.Allowed(null, "shared/a", ["pull"]));
        Assert.Equal(["pull"], a.Allowed(null, "public/x", ["pull", "push"]));
    }
}

/// <summary>Token auth on a real berth-registry, with HTTP and with skopeo.</summary>
public sealed class TokenAuthTests : IAsyncLifetime
{
    private readonly RegistryProcess _registry = new();
    private string _config = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_registry.Root);
        var htpasswd = Path.Combine(_registry.Root, "htpasswd");
        await File.WriteAllTextAsync(htpasswd,
            $"alice:{BCrypt.Net.BCrypt.HashPassword("alice-pw", 5)}\nbob:{BCrypt.Net.BCrypt.HashPassword("bob-pw", 5)}\n");
        var config = _config = Path.Combine(_registry.Root, "config.json");
        await File.WriteAllTextAsync(config, $$"""
            {"auth": "token", "htpasswd": "{{htpasswd}}", "service": "test-registry",
             "access": ["alice:*:*", "bob:team/app:pull", "anonymous:public/*:pull"]}
            """);
        await _registry.StartAsync("--config", config);
    }

    public Task DisposeAsync() => _registry.DisposeAsync();

    private async Task<string> TokenAsync(string? user, string password, string scope)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, $"/token?service=test-registry&scope={Uri.EscapeDataString(scope)}");
        if (user is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        using var r = await _registry.Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("token").GetString()!;
    }

    private HttpClient Client(string token)
    {
        var c = new HttpClient { BaseAddress = _registry.Http.BaseAddress };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    [Fact]
    public async Task ChallengesGrantsAndDenials()
    {
        using (var r = await _registry.Http.GetAsync("/v2/"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            var c = Assert.Single(r.Headers.WwwAuthenticate);
            Assert.Equal("Bearer", c.Scheme);
            Assert.Equal($"realm=\"http://{_registry.Host}/token\",service=\"test-registry\"", c.Parameter);
        }
        using (var r = await _registry.Http.PostAsync("/v2/team/app/blobs/uploads/", null))
        {
            Assert.Equal("UNAUTHORIZED", await ErrorCodeAsync(r));
            Assert.Contains("scope=\"repository:team/app:pull,push\"", Assert.Single(r.Headers.WwwAuthenticate).Parameter);
        }
        using (var bad = await _registry.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/token?scope=repository:team/app:pull")
               { Headers = { Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("bob:wrong"u8.ToArray())) } }))
            Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);

        using var alice = Client(await TokenAsync("alice", "alice-pw", "repository:team/app:pull,push"));
        var (m, _, _) = await PushImageAsync(alice, "team/app", "v1");

        // bob asked for pull and push on team/app and was given pull only: pulls work, a push is DENIED.
        using var bob = Client(await TokenAsync("bob", "bob-pw", "repository:team/app:pull,push"));
        using (var r = await bob.GetAsync("/v2/team/app/manifests/v1")) Assert.Equal(m.Data, await r.Content.ReadAsByteArrayAsync());
        using (var r = await bob.PostAsync("/v2/team/app/blobs/uploads/", null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
            Assert.Equal("DENIED", await ErrorCodeAsync(r));
        }
        using (var r = await bob.PutAsync("/v2/team/app/manifests/v2", new ByteArrayContent(m.Data) { Headers = { ContentType = new MediaTypeHeaderValue(OciManifest) } }))
            Assert.Equal("DENIED", await ErrorCodeAsync(r));
        // bob's token says nothing about another repository: a challenge for it, not data.
        using (var r = await bob.GetAsync("/v2/team/other/tags/list")) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        // A token bob might ask for on a repository he has no rule for grants nothing.
        using var bobOther = Client(await TokenAsync("bob", "bob-pw", "repository:team/other:pull"));
        using (var r = await bobOther.GetAsync("/v2/team/other/tags/list")) Assert.Equal("DENIED", await ErrorCodeAsync(r));

        // Anonymous pull where configured, and nowhere else.
        using var alicePublic = Client(await TokenAsync("alice", "alice-pw", "repository:public/app:pull,push"));
        var (pm, _, _) = await PushImageAsync(alicePublic, "public/app", "v1");
        using var anonPublic = Client(await TokenAsync(null, "", "repository:public/app:pull,push"));
        using (var r = await anonPublic.GetAsync("/v2/public/app/manifests/v1")) Assert.Equal(pm.Data, await r.Content.ReadAsByteArrayAsync());
        using (var r = await anonPublic.PostAsync("/v2/public/app/blobs/uploads/", null)) Assert.Equal("DENIED", await ErrorCodeAsync(r));
        using var anonTeam = Client(await TokenAsync(null, "", "repository:team/app:pull"));
        using (var r = await anonTeam.GetAsync("/v2/team/app/manifests/v1")) Assert.Equal("DENIED", await ErrorCodeAsync(r));

        using var garbage = Client("eyJhbGciOiJub25lIn0.e30.");
        using (var r = await garbage.GetAsync("/v2/public/app/manifests/v1")) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);

        // delete is an action of its own: challenged for by name, refused to bob (pull only), and to alice's pull,push token.
        using (var r = await _registry.Http.DeleteAsync("/v2/team/app/manifests/v1"))
            Assert.Contains("scope=\"repository:team/app:delete\"", Assert.Single(r.Headers.WwwAuthenticate).Parameter);
        using var bobDelete = Client(await TokenAsync("bob", "bob-pw", "repository:team/app:delete"));
        using (var r = await bobDelete.DeleteAsync("/v2/team/app/manifests/v1")) Assert.Equal("DENIED", await ErrorCodeAsync(r));
        using (var r = await alice.DeleteAsync("/v2/team/app/manifests/v1")) Assert.Equal("DENIED", await ErrorCodeAsync(r));
        using (var r = await bob.GetAsync("/v2/team/app/manifests/v1")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var aliceDelete = Client(await TokenAsync("alice", "alice-pw", "repository:team/app:delete"));
        using (var r = await aliceDelete.DeleteAsync("/v2/team/app/manifests/v1")) Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        using (var r = await bob.GetAsync("/v2/team/app/manifests/v1")) Assert.Equal("MANIFEST_UNKNOWN", await ErrorCodeAsync(r));
    }

    [Fact]
    public async Task TokensIssuedBeforeARestartAreAcceptedAfterIt()
    {
        var keyFile = Path.Combine(_registry.Storage, "token-key.pem");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        var key = await File.ReadAllTextAsync(keyFile);
        using var alice = Client(await TokenAsync("alice", "alice-pw", "repository:team/app:pull,push"));
        var (m, _, _) = await PushImageAsync(alice, "team/app", "before");

        await _registry.StopAsync();
        await _registry.StartAsync("--config", _config);

        Assert.Equal(key, await File.ReadAllTextAsync(keyFile));
        using (var r = await alice.GetAsync("/v2/team/app/manifests/before")) Assert.Equal(m.Data, await r.Content.ReadAsByteArrayAsync());
        var (m2, _, _) = await PushImageAsync(alice, "team/app", "after", content: "after the restart");
        using (var r = await alice.GetAsync("/v2/team/app/manifests/after")) Assert.Equal(m2.Data, await r.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task SkopeoFollowsTheTokenFlow()
    {
        var layer = Layer("token flow");
        var config = Config("amd64");
        var manifest = Manifest(config, [layer]);
        var src = Path.Combine(_registry.Root, "layout");
        Directory.CreateDirectory(Path.Combine(src, "blobs", "sha256"));
        await File.WriteAllTextAsync(Path.Combine(src, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        foreach (var b in new[] { layer, config, manifest }) await File.WriteAllBytesAsync(Path.Combine(src, "blobs", "sha256", b.Digest[7..]), b.Data);
        await File.WriteAllTextAsync(Path.Combine(src, "index.json"),
            $"{{\"schemaVersion\":2,\"manifests\":[{manifest.Descriptor("\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}")}]}}");
        var policy = Path.Combine(_registry.Root, "policy.json");
        await File.WriteAllTextAsync(policy, "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}");
        Task<CommandResult> Skopeo(params string[] args) => _registry.RunAsync("skopeo", new[] { "--policy", policy }.Concat(args));

        var push = await Skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "alice:alice-pw", $"oci:{src}:v1", $"docker://{_registry.Host}/public/tool:v1");
        Assert.True(push.ExitCode == 0, push + "\n" + _registry.Log);
        var denied = await Skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "bob:bob-pw", $"oci:{src}:v1", $"docker://{_registry.Host}/team/app:v9");
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Contains("denied", denied.Stderr, StringComparison.OrdinalIgnoreCase);
        var anon = await Skopeo("inspect", "--raw", "--tls-verify=false", "--no-creds", $"docker://{_registry.Host}/public/tool:v1");
        Assert.True(anon.ExitCode == 0, anon.ToString());
        Assert.Equal(Encoding.UTF8.GetString(manifest.Data), anon.Stdout.TrimEnd('\n'));
    }
}
