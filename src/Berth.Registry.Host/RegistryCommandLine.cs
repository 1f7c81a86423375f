using System.Net;
using System.Text.Json;

namespace Berth.Registry.Host;

/// <summary>berth-registry's settings: defaults, then a JSON or YAML config file, then flags.</summary>
internal sealed record HostOptions
{
    public string Listen { get; set; } = "127.0.0.1:5000";
    public string StorageRoot { get; set; } = "/var/lib/berth-registry";
    public bool ReadOnly { get; set; }
    public string LogLevel { get; set; } = "info";
    public string? PidFile { get; set; }
    public string Auth { get; set; } = "none";
    public string? Htpasswd { get; set; }
    public string Realm { get; set; } = "berth-registry";
    public string? TlsCert { get; set; }
    public string? TlsKey { get; set; }
    public TimeSpan UploadMaxAge { get; set; } = TimeSpan.FromHours(24);
    public string Service { get; set; } = "berth-registry";
    public string? TokenRealm { get; set; }
    public List<string> Access { get; } = [];
    public TimeSpan? GcInterval { get; set; }
    public TimeSpan GcGrace { get; set; } = TimeSpan.FromHours(1);
    public bool GcDeleteUntagged { get; set; }
    /// <summary><c>berth-registry gc</c> rather than serve.</summary>
    public bool Gc { get; set; }
    public bool DryRun { get; set; }
    /// <summary>The token signing key's PEM file; null: <c>token-key.pem</c> in the storage root, made on first start.</summary>
    public string? TokenKey { get; set; }
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromMinutes(2);
    /// <summary>Bytes per second a request body (and a response) must keep up, per <see cref="BodyGrace"/>; 0: no minimum.</summary>
    public double MinBodyRate { get; set; } = 240;
    public TimeSpan BodyGrace { get; set; } = TimeSpan.FromSeconds(20);
    /// <summary>Limit on a whole request other than blob uploads and downloads; zero: none.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);
}

internal static class RegistryCommandLine
{
    public const string Usage = """
        Usage: berth-registry [serve] [OPTIONS]
               berth-registry gc [--root DIR | --config FILE] [--dry-run] [--grace D] [--delete-untagged]

        An OCI Distribution (Docker Registry v2) server. "gc" collects garbage while a registry serves the same root.

        Options:
          -c, --config FILE      JSON or YAML file with the keys listen, root, readonly, log-level, pidfile,
                                 auth, htpasswd, realm, tls-cert, tls-key, upload-max-age, service, token-realm,
                                 access (a list of rules as --access writes them), token-key, gc-interval,
                                 gc-grace, gc-delete-untagged, request-headers-timeout, keep-alive-timeout,
                                 min-body-rate, body-grace, request-timeout
          -l, --listen ADDR      address and port to serve on (default 127.0.0.1:5000)
              --root DIR         storage root (default /var/lib/berth-registry)
              --readonly         refuse pushes and deletes
              --log-level LEVEL  debug, info, warn, error (default info)
              --pidfile FILE     write the process id here
              --auth MODE        none, htpasswd or token (default none)
              --htpasswd FILE    bcrypt htpasswd file: the users of --auth htpasswd and of the token endpoint
              --access RULE      token auth rule ACCOUNT:REPOSITORY:ACTIONS, repeatable; ACCOUNT is a user, * (any
                                 user) or anonymous; REPOSITORY may hold * globs; ACTIONS pull,push,delete or *
              --service NAME     token auth service name (default berth-registry)
              --token-realm URL  token endpoint URL in challenges (default this server's /token)
              --token-key FILE   EC P-256 private key (PEM) that signs tokens (default: token-key.pem in the
                                 storage root, made mode 0600 on first start, so tokens outlive a restart)
              --realm NAME       basic auth realm (default berth-registry)
              --tls-cert FILE    PEM certificate (with --tls-key): serve HTTPS; plain HTTP only on loopback
              --tls-key FILE     PEM private key
              --upload-max-age D uploads idle this long are removed (default 24h; 90s, 30m, 24h)
              --request-headers-timeout D  a request's line and headers must arrive within this (default 30s)
              --keep-alive-timeout D       an idle connection is closed after this (default 2m)
              --min-body-rate N  bytes per second a request or response body must keep up (default 240; 0: none);
                                 an upload that stalls is cut off and stays resumable at its previous offset
              --body-grace D     the window over which --min-body-rate is measured, also its grace period at the
                                 start (default 20s; more than 1s)
              --request-timeout D  limit on a whole request other than blob uploads and downloads, which the data
                                 rate bounds instead (default 5m; 0s: none); 503 UNAVAILABLE when exceeded
              --gc-interval D    collect garbage in-process this often (default: never)
              --grace D          (gc) keep blobs and untagged manifests younger than this (default 1h)
              --delete-untagged  (gc) also remove manifests no tag, index or subject keeps
              --dry-run          (gc) report what would be removed, remove nothing
          -h, --help             print this help
        """;

    /// <summary>Returns an exit code to end with (help, bad usage), or -1 to go on and serve.</summary>
    public static int Parse(string[] args, out HostOptions options)
    {
        options = new HostOptions();
        var rest = new List<string>(args);
        if (rest.Count > 0 && rest[0] == "serve") rest.RemoveAt(0);
        else if (rest.Count > 0 && rest[0] == "gc") { rest.RemoveAt(0); options.Gc = true; }
        // The config file first, so flags override it wherever they stand.
        for (int i = 0; i < rest.Count; i++)
        {
            if (rest[i] is "-c" or "--config")
            {
                if (i + 1 >= rest.Count) return Fail($"flag needs an argument: {rest[i]}");
                var err = LoadConfig(rest[i + 1], options);
                if (err is not null) return Fail(err);
            }
        }
        for (int i = 0; i < rest.Count; i++)
        {
            var a = rest[i];
            string? value = null;
            var eq = a.IndexOf('=');
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0) { value = a[(eq + 1)..]; a = a[..eq]; }
            string Next() => value ?? (i + 1 < rest.Count ? rest[++i] : throw new ArgumentException($"flag needs an argument: {a}"));
            try
            {
                switch (a)
                {
                    case "-h" or "--help": Console.WriteLine(Usage); return 0;
                    case "-c" or "--config": Next(); break;
                    case "-l" or "--listen" or "--addr": options.Listen = Next(); break;
                    case "--root": options.StorageRoot = Next(); break;
                    case "--readonly": options.ReadOnly = value is null || bool.Parse(value); break;
                    case "--log-level": options.LogLevel = Next(); break;
                    case "--pidfile": options.PidFile = Next(); break;
                    case "--auth": options.Auth = Next(); break;
                    case "--htpasswd": options.Htpasswd = Next(); break;
                    case "--realm": options.Realm = Next(); break;
                    case "--tls-cert": options.TlsCert = Next(); break;
                    case "--tls-key": options.TlsKey = Next(); break;
                    case "--upload-max-age": options.UploadMaxAge = ParseDuration(Next()); break;
                    case "--access": options.Access.Add(Next()); break;
                    case "--gc-interval": options.GcInterval = ParseDuration(Next()); break;
                    case "--grace" or "--gc-grace": options.GcGrace = ParseDuration(Next(), allowZero: true); break;
                    case "--delete-untagged": options.GcDeleteUntagged = value is null || bool.Parse(value); break;
                    case "--dry-run": options.DryRun = value is null || bool.Parse(value); break;
                    case "--service": options.Service = Next(); break;
                    case "--token-realm": options.TokenRealm = Next(); break;
                    case "--token-key": options.TokenKey = Next(); break;
                    case "--request-headers-timeout": options.RequestHeadersTimeout = ParseDuration(Next()); break;
                    case "--keep-alive-timeout": options.KeepAliveTimeout = ParseDuration(Next()); break;
                    case "--min-body-rate": options.MinBodyRate = ParseRate(Next()); break;
                    case "--body-grace": options.BodyGrace = ParseDuration(Next()); break;
                    case "--request-timeout": options.RequestTimeout = ParseDuration(Next(), allowZero: true); break;
                    default: return Fail($"unknown flag: {a}");
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                return Fail(e.Message);
            }
        }
        if (!TryParseListen(options.Listen, out var ep)) return Fail($"invalid listen address \"{options.Listen}\": expected IP:PORT");
        if ((options.TlsCert is null) != (options.TlsKey is null)) return Fail("--tls-cert and --tls-key go together");
        if (options.Gc) return -1;
        // Kestrel measures data rates on a one-second heartbeat and refuses a grace period that is not longer.
        if (options.MinBodyRate > 0 && options.BodyGrace <= TimeSpan.FromSeconds(1))
            return Fail($"--body-grace must be more than 1s, not {options.BodyGrace.TotalSeconds}s");
        if (options.TlsCert is null && !IPAddress.IsLoopback(ep.Address))
            return Fail($"plain HTTP is served only on loopback; give --tls-cert and --tls-key to listen on {options.Listen}");
        if (options.Auth is not ("none" or "htpasswd" or "token")) return Fail($"invalid auth mode \"{options.Auth}\": none, htpasswd or token");
        foreach (var rule in options.Access)
            if (ParseRule(rule) is null) return Fail($"invalid access rule \"{rule}\": expected ACCOUNT:REPOSITORY:ACTIONS");
        if (options.Auth == "htpasswd" && options.Htpasswd is null) return Fail("--auth htpasswd needs --htpasswd FILE");
        if (options.LogLevel is not ("debug" or "info" or "warn" or "warning" or "error"))
            return Fail($"invalid log level \"{options.LogLevel}\"");
        return -1;
    }

    public static bool TryParseListen(string s, out IPEndPoint ep)
    {
        if (s.StartsWith("localhost:", StringComparison.Ordinal)) s = "127.0.0.1:" + s["localhost:".Length..];
        if (s.StartsWith(':')) s = "0.0.0.0" + s;
        return IPEndPoint.TryParse(s, out ep!) && ep.Port > 0;
    }

    /// <summary><c>ACCOUNT:REPOSITORY:ACTIONS</c>, e.g. <c>bob:team/app:pull</c> or <c>anonymous:public/*:pull</c>.</summary>
    public static Berth.Registry.AccessRule? ParseRule(string rule)
    {
        var parts = rule.Split(':');
        if (parts.Length != 3 || parts[0].Length == 0 || parts[1].Length == 0) return null;
        var actions = parts[2].Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (actions.Length == 0 || actions.Any(a => a is not ("pull" or "push" or "delete" or "*"))) return null;
        return new Berth.Registry.AccessRule(parts[0], parts[1], actions);
    }

    /// <summary>A positive duration such as 90s, 30m, 24h (Go's units as docker's tools write them).</summary>
    public static TimeSpan ParseDuration(string s, bool allowZero = false)
    {
        if (s.Length >= 2 && double.TryParse(s[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && (v > 0 || (allowZero && v == 0)))
        {
            switch (s[^1])
            {
                case 's': return TimeSpan.FromSeconds(v);
                case 'm': return TimeSpan.FromMinutes(v);
                case 'h': return TimeSpan.FromHours(v);
            }
        }
        throw new FormatException($"invalid duration \"{s}\": expected a number with s, m or h");
    }

    /// <summary>A non-negative number of bytes per second.</summary>
    public static double ParseRate(string s) =>
        double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= 0 && double.IsFinite(v)
            ? v
            : throw new FormatException($"invalid rate \"{s}\": expected a number of bytes per second (0: no minimum)");

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"berth-registry: {message}\nSee 'berth-registry --help'.");
        return 2;
    }

    private static string? LoadConfig(string path, HostOptions o)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"cannot read config file {path}: {e.Message}"; }
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (text.TrimStart().StartsWith('{'))
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                foreach (var p in doc.RootElement.EnumerateObject())
                    values[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
            catch (JsonException e) { return $"config file {path}: {e.Message}"; }
        }
        else
        {
            // YAML as registry configs are written here: flat "key: value" lines, comments with '#'.
            int line = 0;
            foreach (var raw in text.Split('\n'))
            {
                line++;
                var l = raw.Split('#', 2)[0].TrimEnd();
                if (l.Trim().Length == 0 || l.Trim() == "---") continue;
                var colon = l.IndexOf(':');
                if (colon <= 0 || char.IsWhiteSpace(l[0])) return $"config file {path}, line {line}: expected \"key: value\"";
                values[l[..colon].Trim()] = l[(colon + 1)..].Trim().Trim('"', '\'');
            }
        }
        foreach (var (k, v) in values)
        {
            switch (k.Replace('_', '-').ToLowerInvariant())
            {
                case "listen" or "addr": o.Listen = v; break;
                case "root" or "storage-root" or "rootdirectory": o.StorageRoot = v; break;
                case "readonly" or "read-only":
                    if (!bool.TryParse(v, out var ro)) return $"config file {path}: readonly must be true or false";
                    o.ReadOnly = ro;
                    break;
                case "log-level" or "loglevel": o.LogLevel = v; break;
                case "pidfile": o.PidFile = v; break;
                case "auth": o.Auth = v; break;
                case "htpasswd": o.Htpasswd = v; break;
                case "realm": o.Realm = v; break;
                case "tls-cert": o.TlsCert = v; break;
                case "tls-key": o.TlsKey = v; break;
                case "service": o.Service = v; break;
                case "gc-interval" or "gc-grace":
                    try
                    {
                        if (k.StartsWith("gc-i", StringComparison.OrdinalIgnoreCase)) o.GcInterval = ParseDuration(v);
                        else o.GcGrace = ParseDuration(v, allowZero: true);
                    }
                    catch (FormatException e) { return $"config file {path}: {e.Message}"; }
                    break;
                case "gc-delete-untagged":
                    if (!bool.TryParse(v, out var du)) return $"config file {path}: gc-delete-untagged must be true or false";
                    o.GcDeleteUntagged = du;
                    break;
                case "token-realm": o.TokenRealm = v; break;
                case "token-key": o.TokenKey = v; break;
                case "request-headers-timeout" or "keep-alive-timeout" or "body-grace" or "request-timeout" or "min-body-rate":
                    try
                    {
                        switch (k.Replace('_', '-').ToLowerInvariant())
                        {
                            case "request-headers-timeout": o.RequestHeadersTimeout = ParseDuration(v); break;
                            case "keep-alive-timeout": o.KeepAliveTimeout = ParseDuration(v); break;
                            case "body-grace": o.BodyGrace = ParseDuration(v); break;
                            case "request-timeout": o.RequestTimeout = ParseDuration(v, allowZero: true); break;
                            default: o.MinBodyRate = ParseRate(v); break;
                        }
                    }
                    catch (FormatException e) { return $"config file {path}: {e.Message}"; }
                    break;
                case "access":
                    if (v.StartsWith('['))
                    {
                        try
                        {
                            using var arr = JsonDocument.Parse(v);
                            foreach (var e in arr.RootElement.EnumerateArray()) o.Access.Add(e.GetString() ?? "");
                        }
                        catch (Exception e) when (e is JsonException or InvalidOperationException) { return $"config file {path}: access must be a list of strings"; }
                    }
                    else
                    {
                        o.Access.AddRange(v.Split([' ', ';'], StringSplitOptions.RemoveEmptyEntries));
                    }
                    break;
                case "upload-max-age":
                    try { o.UploadMaxAge = ParseDuration(v); }
                    catch (FormatException e) { return $"config file {path}: {e.Message}"; }
                    break;
                default: return $"config file {path}: unknown key \"{k}\"";
            }
        }
        return null;
    }
}
