using Berth.Core;
using Berth.Registry;
using Berth.Registry.Host;

int parsed = RegistryCommandLine.Parse(args, out var options);
if (parsed >= 0) return parsed;

var root = Path.GetFullPath(options.StorageRoot);
var gcOptions = new GcOptions { Grace = options.GcGrace, DeleteUntagged = options.GcDeleteUntagged, DryRun = options.DryRun };
if (options.Gc)
{
    // Online: no lock on the root; the metadata transaction and renames are how it meets a serving registry.
    if (!File.Exists(Path.Combine(root, "registry.db")))
    {
        Console.Error.WriteLine($"berth-registry: no registry at {root}");
        return 1;
    }
    var report = new GarbageCollector(new BlobStore(root), new MetadataStore(Path.Combine(root, "registry.db"))).Collect(gcOptions);
    var verb = options.DryRun ? "would remove" : "removed";
    foreach (var m in report.Manifests) Console.WriteLine($"manifest {m}");
    foreach (var (d, size) in report.Blobs) Console.WriteLine($"blob {d} {size}");
    foreach (var d in report.StrayFiles) Console.WriteLine($"stray {d}");
    Console.WriteLine($"{verb} {report.Manifests.Count} manifests, {report.Links} blob links, {report.Blobs.Count} blobs ({report.Bytes} bytes), {report.StrayFiles.Count} stray files");
    return 0;
}
Directory.CreateDirectory(root);
using var rootLock = FileLock.TryAcquire(Path.Combine(root, "registry.lock"));
if (rootLock is null)
{
    Console.Error.WriteLine($"berth-registry: storage root {root} is in use by another berth-registry");
    return 1;
}

HtpasswdAuthenticator? htpasswd = null;
TokenAuthority? token = null;
System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null;
try
{
    if (options.Auth == "htpasswd") htpasswd = HtpasswdAuthenticator.Load(options.Htpasswd!, options.Realm);
    if (options.Auth == "token")
    {
        var users = options.Htpasswd is null
            ? new HtpasswdAuthenticator(new Dictionary<string, string>(), options.Realm)
            : HtpasswdAuthenticator.Load(options.Htpasswd, options.Realm);
        // Kept in the storage root (or given): a restart must not invalidate the tokens clients hold.
        var key = TokenAuthority.LoadOrCreateSigningKey(options.TokenKey ?? Path.Combine(root, "token-key.pem"), create: options.TokenKey is null);
        token = new TokenAuthority(users, options.Access.Select(r => RegistryCommandLine.ParseRule(r)!).ToList(), options.Service, options.TokenRealm,
            signingKey: key);
    }
    if (options.TlsCert is not null)
        certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(options.TlsCert, options.TlsKey);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or System.Security.Cryptography.CryptographicException)
{
    Console.Error.WriteLine($"berth-registry: {e.Message}");
    return 1;
}

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; o.UseUtcTimestamp = true; });
builder.Logging.SetMinimumLevel(options.LogLevel switch
{
    "debug" => LogLevel.Debug,
    "warn" or "warning" => LogLevel.Warning,
    "error" => LogLevel.Error,
    _ => LogLevel.Information,
});
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.Warning);
RegistryCommandLine.TryParseListen(options.Listen, out var endpoint);
builder.WebHost.ConfigureKestrel(k =>
{
    k.Limits.MaxRequestBodySize = null; // blobs are large; manifest bodies are bounded by the endpoints (4 MiB)
    k.Limits.RequestHeadersTimeout = options.RequestHeadersTimeout;
    k.Limits.KeepAliveTimeout = options.KeepAliveTimeout;
    // Kestrel's rates average over the whole body (blob uploads add a per-window check, BodyRateGuard); a download
    // that stalls is cut off by the response rate.
    var rate = options.MinBodyRate > 0 ? new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(options.MinBodyRate, options.BodyGrace) : null;
    k.Limits.MinRequestBodyDataRate = rate;
    k.Limits.MinResponseDataRate = rate;
    k.AddServerHeader = false;
    k.Listen(endpoint, l =>
    {
        if (certificate is not null) l.UseHttps(certificate);
    });
});
builder.Services.AddBerthRegistry(new RegistryOptions { StorageRoot = root, ReadOnly = options.ReadOnly, Htpasswd = htpasswd, Token = token, UploadMaxAge = options.UploadMaxAge,
    GcInterval = options.GcInterval, Gc = gcOptions with { DryRun = false }, MinBodyRate = options.MinBodyRate, BodyRateWindow = options.BodyGrace });
if (options.RequestTimeout > TimeSpan.Zero)
{
    builder.Services.AddRequestTimeouts(o => o.DefaultPolicy = new Microsoft.AspNetCore.Http.Timeouts.RequestTimeoutPolicy
    {
        Timeout = options.RequestTimeout,
        TimeoutStatusCode = 503,
    });
}

var app = builder.Build();
if (options.RequestTimeout > TimeSpan.Zero) app.UseRequestTimeouts();
app.MapBerthRegistry();
var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("berth-registry");
try
{
    app.Services.GetRequiredService<RegistryService>();
    await app.StartAsync();
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
{
    Console.Error.WriteLine($"berth-registry: cannot start: {e.Message}");
    return 1;
}
if (options.PidFile is { } pf) AtomicFile.WriteAllText(pf, Environment.ProcessId + "\n");
log.LogInformation("berth-registry listening on {Scheme}://{Listen}, storage root {Root}, auth {Auth}{ReadOnly}",
    certificate is null ? "http" : "https", endpoint, root, options.Auth, options.ReadOnly ? ", read-only" : "");
await app.WaitForShutdownAsync();
log.LogInformation("berth-registry shutting down");
await app.DisposeAsync();
if (options.PidFile is { } pf2) File.Delete(pf2);
return 0;
