using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using static Berth.Registry.Tests.TestImages;

namespace Berth.Registry.Tests;

/// <summary>htpasswd (bcrypt) basic auth and TLS on a real berth-registry.</summary>
public sealed class AuthAndTlsTests
{
    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    [Fact]
    public async Task HtpasswdChallengesWithoutCredentialsAndServesWithThem()
    {
        var registry = new RegistryProcess();
        try
        {
            Directory.CreateDirectory(registry.Root);
            var htpasswd = Path.Combine(registry.Root, "htpasswd");
            await File.WriteAllTextAsync(htpasswd, $"# users\nalice:{BCrypt.Net.BCrypt.HashPassword("s3cret", 5)}\nbob:{BCrypt.Net.BCrypt.HashPassword("other", 5)}\n");
            await registry.StartAsync("--auth", "htpasswd", "--htpasswd", htpasswd, "--realm", "test-realm");

            using var anon = await registry.Http.PostAsync("/v2/team/app/blobs/uploads/", null);
            Assert.Equal(HttpStatusCode.Unauthorized, anon.StatusCode);
            Assert.Equal("UNAUTHORIZED", await ErrorCodeAsync(anon));
            var challenge = Assert.Single(anon.Headers.WwwAuthenticate);
            Assert.Equal("Basic", challenge.Scheme);
            Assert.Contains("realm=\"test-realm\"", challenge.Parameter);
            Assert.Equal("registry/2.0", Assert.Single(anon.Headers.GetValues("Docker-Distribution-API-Version")));

            var wrong = new HttpRequestMessage(HttpMethod.Get, "/v2/");
            wrong.Headers.Authorization = Basic("alice", "nope");
            using (var r = await registry.Http.SendAsync(wrong)) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            var unknownUser = new HttpRequestMessage(HttpMethod.Get, "/v2/");
            unknownUser.Headers.Authorization = Basic("mallory", "s3cret");
            using (var r = await registry.Http.SendAsync(unknownUser)) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);

            registry.Http.DefaultRequestHeaders.Authorization = Basic("alice", "s3cret");
            var (m, _, _) = await PushImageAsync(registry.Http, "team/app", "v1");
            using var get = await registry.Http.GetAsync($"/v2/team/app/manifests/v1");
            Assert.Equal(m.Data, await get.Content.ReadAsByteArrayAsync());

            // skopeo: refused without credentials, works with them.
            var policy = Path.Combine(registry.Root, "policy.json");
            await File.WriteAllTextAsync(policy, "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}");
            var noCreds = await registry.RunAsync("skopeo", ["--policy", policy, "inspect", "--tls-verify=false", $"docker://{registry.Host}/team/app:v1"]);
            Assert.NotEqual(0, noCreds.ExitCode);
            var withCreds = await registry.RunAsync("skopeo", ["--policy", policy, "inspect", "--raw", "--tls-verify=false", "--creds", "bob:other", $"docker://{registry.Host}/team/app:v1"]);
            Assert.True(withCreds.ExitCode == 0, withCreds.ToString());
            Assert.Equal(Encoding.UTF8.GetString(m.Data), withCreds.Stdout.TrimEnd('\n'));
        }
        finally
        {
            await registry.DisposeAsync();
        }
    }

    [Fact]
    public async Task ServesHttpsWithTheGivenCertificate()
    {
        var registry = RegistryProcess.WithTls();
        try
        {
            Directory.CreateDirectory(registry.Root);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var req = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            req.CertificateExtensions.Add(san.Build());
            using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            var certFile = Path.Combine(registry.Root, "cert.pem");
            var keyFile = Path.Combine(registry.Root, "key.pem");
            await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem());
            await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
            registry.ServerCertificateThumbprint = cert.Thumbprint;

            await registry.StartAsync("--tls-cert", certFile, "--tls-key", keyFile);
            var (m, _, _) = await PushImageAsync(registry.Http, "secure/app", "v1");
            using var get = await registry.Http.GetAsync("/v2/secure/app/manifests/v1");
            Assert.Equal(m.Data, await get.Content.ReadAsByteArrayAsync());

            // A client that trusts another certificate does not get through.
            registry.ServerCertificateThumbprint = "00";
            using var fresh = new HttpClient(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.Thumbprint == "00",
            });
            await Assert.ThrowsAsync<HttpRequestException>(() => fresh.GetAsync($"https://{registry.Host}/v2/"));
        }
        finally
        {
            await registry.DisposeAsync();
        }
    }

    [Fact]
    public async Task PlainHttpOffLoopbackAndHalfTlsAreRefused()
    {
        var registry = new RegistryProcess();
        try
        {
            var exe = Path.Combine(registry.RepoRoot, "out", "berth-registry");
            var r = await registry.RunAsync(exe, ["--listen", "0.0.0.0:5999", "--root", registry.Storage]);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("plain HTTP is served only on loopback", r.Stderr);
            r = await registry.RunAsync(exe, ["--tls-cert", "/nonexistent.pem", "--root", registry.Storage]);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("--tls-cert and --tls-key go together", r.Stderr);
            r = await registry.RunAsync(exe, ["--auth", "htpasswd", "--root", registry.Storage]);
            Assert.Equal(2, r.ExitCode);
            Assert.False(Directory.Exists(registry.Storage));
        }
        finally
        {
            await registry.DisposeAsync();
        }
    }
}
