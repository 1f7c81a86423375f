using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.Core;

namespace Berth.Distribution.Tests;

public sealed class AuthChallengeTests
{
    [Fact]
    public void Parses_a_bearer_challenge_with_quoted_values_commas_and_escapes()
    {
        var c = AuthChallenge.Parse("Bearer realm=\"https://auth.example/token?x=1\",service=\"reg, one\",scope=\"repository:a/b:pull,push\", error=insufficient_scope, note=\"say \\\"hi\\\"\"");
        Assert.NotNull(c);
        Assert.Equal("Bearer", c.Scheme);
        Assert.Equal("https://auth.example/token?x=1", c["realm"]);
        Assert.Equal("reg, one", c["service"]);
        Assert.Equal("repository:a/b:pull,push", c["scope"]);
        Assert.Equal("insufficient_scope", c["error"]);
        Assert.Equal("say \"hi\"", c["note"]);
        Assert.Null(c["missing"]);
    }

    [Theory]
    [InlineData("Basic realm=\"Registry Realm\"", "Basic", "Registry Realm")]
    [InlineData("Basic", "Basic", null)]
    public void Parses_basic_challenges(string header, string scheme, string? realm)
    {
        var c = AuthChallenge.Parse(header)!;
        Assert.Equal(scheme, c.Scheme);
        Assert.Equal(realm, c["realm"]);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Nothing_is_no_challenge(string? header) => Assert.Null(AuthChallenge.Parse(header));
}

public sealed class RegistryHostsTests
{
    [Fact]
    public void Docker_hub_goes_to_its_mirrors_first_then_registry_1()
    {
        var hosts = new RegistryHosts(new RegistryOptions { Mirrors = [new Uri("https://mirror.example")] });
        var e = hosts.EndpointsFor("docker.io");
        Assert.Equal(["https://mirror.example/", "https://registry-1.docker.io/"], e.Select(x => x.BaseUri.ToString()));
        Assert.True(e[0].IsMirror);
        Assert.False(e[1].SkipTlsVerify);
    }

    [Theory]
    [InlineData("localhost:5000")]
    [InlineData("127.0.0.1:5000")]
    [InlineData("127.8.9.10")]
    [InlineData("[::1]:5000")]
    public void Loopback_registries_are_insecure_https_then_http(string domain)
    {
        var e = new RegistryHosts(new RegistryOptions()).EndpointsFor(domain);
        Assert.Equal(2, e.Count);
        Assert.Equal("https", e[0].BaseUri.Scheme);
        Assert.True(e[0].SkipTlsVerify);
        Assert.Equal("http", e[1].BaseUri.Scheme);
    }

    [Fact]
    public void Configured_insecure_entries_match_by_name_and_by_cidr_and_others_stay_https_only()
    {
        var hosts = new RegistryHosts(new RegistryOptions { InsecureRegistries = ["reg.internal:5000", "10.20.0.0/16"] });
        Assert.True(hosts.IsInsecure("reg.internal:5000"));
        Assert.True(hosts.IsInsecure("10.20.3.4:443"));
        Assert.False(hosts.IsInsecure("10.21.3.4:443"));
        Assert.False(hosts.IsInsecure("reg.internal:6000"));
        var e = hosts.EndpointsFor("registry.example.com");
        Assert.Equal("https://registry.example.com/", Assert.Single(e).BaseUri.ToString());
        Assert.False(e[0].SkipTlsVerify);
    }

    [Theory]
    [InlineData("http://reg:5000")]
    [InlineData("10.0.0.0/99")]
    public void Bad_insecure_entries_are_refused(string entry) =>
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<BerthException>(() => RegistryHosts.Validate(new RegistryOptions { InsecureRegistries = [entry] })).Kind);

    [Fact]
    public void A_mirror_with_a_path_is_refused() =>
        Assert.Throws<BerthException>(() => RegistryHosts.Validate(new RegistryOptions { Mirrors = [new Uri("https://m.example/v2/")] }));
}

/// <summary>The client against a small registry on loopback that demands a bearer token, like Docker Hub does.</summary>
public sealed class TokenFlowTests : IAsyncLifetime
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private Task? _serve;
    private int _tokenRequests;
    private string? _lastScope;
    private string? _lastAuthorization;

    private int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Task InitializeAsync()
    {
        _listener.Start();
        _serve = ServeAsync();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _serve!; } catch (Exception) { }
    }

    // A one-request-per-connection HTTP/1.1 server: enough for the client, which we test, and nothing more.
    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try { await AnswerAsync(client.GetStream()); }
                    catch (Exception) { /* the client went away, or spoke TLS */ }
                }
            });
        }
    }

    private async Task AnswerAsync(NetworkStream stream)
    {
        {
            var head = new StringBuilder();
            var buf = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(buf, _stop.Token) == 1)
            {
                if (head.Length == 0 && buf[0] == 0x16) return; // a TLS ClientHello: this server is plain HTTP
                head.Append((char)buf[0]);
            }
            var lines = head.ToString().Split("\r\n");
            var target = lines[0].Split(' ')[1];
            var auth = lines.FirstOrDefault(l => l.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase))?[14..].Trim();
            string status, body, extra = "";
            if (target.StartsWith("/token", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _tokenRequests);
                _lastScope = target.Contains("scope=", StringComparison.Ordinal) ? Uri.UnescapeDataString(target.Split("scope=")[1].Split('&')[0]) : null;
                var ok = auth == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:pw"));
                (status, body) = ok ? ("200 OK", "{\"token\":\"T-OK\",\"expires_in\":300}") : ("401 Unauthorized", "{}");
            }
            else if (auth != "Bearer T-OK")
            {
                (status, body) = ("401 Unauthorized", "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}");
                extra = $"WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{Port}/token\",service=\"test\"\r\n";
            }
            else
            {
                _lastAuthorization = auth;
                (status, body) = target.Contains("/manifests/", StringComparison.Ordinal)
                    ? ("404 Not Found", "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}")
                    : ("200 OK", "{}");
            }
            var bytes = Encoding.UTF8.GetBytes(body);
            var response = $"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\nDocker-Distribution-API-Version: registry/2.0\r\n{extra}\r\n";
            await stream.WriteAsync(Encoding.UTF8.GetBytes(response), _stop.Token);
            await stream.WriteAsync(bytes, _stop.Token);
        }
    }

    [Fact]
    public async Task A_bearer_challenge_is_answered_with_a_token_for_the_repository_scope_once_and_cached()
    {
        using var transport = new RegistryTransport(new RegistryHosts(new RegistryOptions()));
        var creds = new RegistryCredentials("alice", "pw");
        var repo = await transport.OpenAsync($"127.0.0.1:{Port}", "team/app", creds, "pull", CancellationToken.None);
        Assert.Equal("http", repo.Endpoint.BaseUri.Scheme); // HTTPS was tried first and failed on this plain server
        Assert.Null(await repo.StatBlobAsync(Digest.FromBytes("x"u8), CancellationToken.None) is { } ? null : (long?)null);
        var e = await Assert.ThrowsAsync<BerthException>(() => repo.GetManifestAsync("1.0", CancellationToken.None));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        Assert.Contains("manifest unknown", e.Message);
        Assert.Equal("repository:team/app:pull", _lastScope);
        Assert.Equal("Bearer T-OK", _lastAuthorization);
        Assert.Equal(1, _tokenRequests);

        // A second operation on the same repository reuses the cached token.
        var again = await transport.OpenAsync($"127.0.0.1:{Port}", "team/app", creds, "pull", CancellationToken.None);
        await Assert.ThrowsAsync<BerthException>(() => again.GetManifestAsync("2.0", CancellationToken.None));
        Assert.Equal(1, _tokenRequests);
    }

    [Fact]
    public async Task Wrong_credentials_are_an_unauthorized_error_in_dockers_words()
    {
        using var transport = new RegistryTransport(new RegistryHosts(new RegistryOptions()));
        var e = await Assert.ThrowsAsync<BerthException>(() => transport.LoginAsync($"127.0.0.1:{Port}", new RegistryCredentials("alice", "nope"), CancellationToken.None));
        Assert.Equal(ErrorKind.Unauthorized, e.Kind);
        Assert.Contains("incorrect username or password", e.Message);
        await transport.LoginAsync($"127.0.0.1:{Port}", new RegistryCredentials("alice", "pw"), CancellationToken.None);
    }
}
