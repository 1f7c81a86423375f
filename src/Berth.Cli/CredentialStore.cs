using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api;

namespace Berth.Cli;

/// <summary>
/// Registry credentials in a docker-compatible <c>config.json</c>: <c>{"auths":{"SERVER":{"auth":"base64(user:pass)"}}}</c>
/// in <c>$BERTH_CONFIG</c> or <c>~/.berth</c>. Keys are the server as the user named it at login
/// (<see cref="IndexServer"/> for Docker Hub); other keys of the file are kept. Writes go to a temporary file in the
/// same directory (mode 0600), fsynced and renamed over the old one, so a crash leaves the old file or the new one.
/// </summary>
internal sealed class CredentialStore
{
    /// <summary>Docker Hub's key, as docker writes it.</summary>
    public const string IndexServer = "https://index.docker.io/v1/";

    private const string FileName = "config.json";

    public CredentialStore(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public string FilePath => Path.Combine(Directory, FileName);

    /// <summary>The store the environment names: <c>BERTH_CONFIG</c>, else <c>$HOME/.berth</c>.</summary>
    public static CredentialStore FromEnvironment(Func<string, string?> env)
    {
        if (env("BERTH_CONFIG") is { Length: > 0 } dir)
        {
            return new CredentialStore(dir);
        }
        var home = env("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new CredentialStore(Path.Combine(home, ".berth"));
    }

    /// <summary>docker login's key for a server argument: Docker Hub's for none or <c>docker.io</c>, else as given.</summary>
    public static string LoginKey(string? server) => string.IsNullOrEmpty(server) || server == "docker.io" ? IndexServer : server;

    /// <summary>The key an image's registry is looked up by: Docker Hub's for docker.io (and its aliases), else host[:port].</summary>
    public static string RegistryKey(string domain) =>
        domain is "docker.io" or "index.docker.io" or "registry-1.docker.io" ? IndexServer : domain;

    /// <summary>credentials.ConvertToHostname: the host[:port] of a key written as a URL (<c>https://host:5000/v2/</c>).</summary>
    public static string Hostname(string key)
    {
        var s = key;
        if (s.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            s = s["http://".Length..];
        }
        else if (s.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            s = s["https://".Length..];
        }
        var slash = s.IndexOf('/');
        return slash >= 0 ? s[..slash] : s;
    }

    /// <summary>
    /// The credentials stored for <paramref name="key"/>, also under a URL spelling of it as older clients wrote;
    /// null when there are none (or the file cannot be read, which <paramref name="warn"/> is told).
    /// </summary>
    public AuthConfig? Get(string key, TextWriter? warn = null)
    {
        JsonObject root;
        try
        {
            root = Load();
        }
        catch (CredentialStoreException e)
        {
            warn?.WriteLine($"WARNING: Error loading config file: {e.Message}");
            return null;
        }
        if (root["auths"] is not JsonObject auths)
        {
            return null;
        }
        var entry = auths[key] as JsonObject;
        var foundKey = key;
        if (entry is null)
        {
            foreach (var (k, v) in auths)
            {
                if (v is JsonObject o && Hostname(k) == key)
                {
                    (entry, foundKey) = (o, k);
                    break;
                }
            }
        }
        return entry is null ? null : FromEntry(entry, foundKey);
    }

    /// <summary>The login one <c>auths</c> entry holds (user and password, or an identity token); null when it holds none.</summary>
    private static AuthConfig? FromEntry(JsonObject entry, string key)
    {
        string? user = Str(entry["username"]), password = Str(entry["password"]);
        if (Str(entry["auth"]) is { Length: > 0 } encoded && DecodeAuth(encoded) is { } pair)
        {
            (user, password) = pair;
        }
        var token = Str(entry["identitytoken"]);
        if (string.IsNullOrEmpty(user) && string.IsNullOrEmpty(token))
        {
            return null;
        }
        return new AuthConfig
        {
            Username = user,
            Password = string.IsNullOrEmpty(token) ? password : null,
            IdentityToken = string.IsNullOrEmpty(token) ? null : token,
            ServerAddress = key,
        };
    }

    /// <summary>Every stored login by its key (a build sends them all: the daemon picks the one its bases need).</summary>
    public Dictionary<string, AuthConfig> All(TextWriter? warn = null)
    {
        JsonObject root;
        try
        {
            root = Load();
        }
        catch (CredentialStoreException e)
        {
            warn?.WriteLine($"WARNING: Error loading config file: {e.Message}");
            return [];
        }
        var all = new Dictionary<string, AuthConfig>(StringComparer.Ordinal);
        if (root["auths"] is JsonObject auths)
        {
            foreach (var (key, value) in auths)
            {
                if (value is JsonObject entry && FromEntry(entry, key) is { } auth)
                {
                    all[key] = auth;
                }
            }
        }
        return all;
    }

    /// <summary>Stores credentials under <paramref name="key"/>: the password, or an identity token in its place.</summary>
    public void Store(string key, string username, string? password, string? identityToken = null)
    {
        var root = Load();
        if (root["auths"] is not JsonObject auths)
        {
            auths = new JsonObject();
            root["auths"] = auths;
        }
        var entry = new JsonObject
        {
            ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{(identityToken is null ? password : "")}")),
        };
        if (identityToken is not null)
        {
            entry["identitytoken"] = identityToken;
        }
        auths[key] = entry;
        Save(root);
    }

    /// <summary>Removes <paramref name="key"/>'s credentials; false when there were none (the file is then left alone).</summary>
    public bool Erase(string key)
    {
        var root = Load();
        if (root["auths"] is not JsonObject auths || !auths.ContainsKey(key))
        {
            return false;
        }
        auths.Remove(key);
        Save(root);
        return true;
    }

    private static (string User, string Password)? DecodeAuth(string encoded)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            var colon = text.IndexOf(':');
            return colon <= 0 ? null : (text[..colon], text[(colon + 1)..].Trim('\0'));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    // The whole file as a tree, so keys this store does not know survive a write; a missing file is an empty one.
    private JsonObject Load()
    {
        string text;
        try
        {
            text = File.ReadAllText(FilePath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new JsonObject();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CredentialStoreException($"{FilePath}: {e.Message}");
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            return new JsonObject();
        }
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip }) as JsonObject
                ?? throw new CredentialStoreException($"{FilePath}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new CredentialStoreException($"{FilePath}: {e.Message}");
        }
    }

    private void Save(JsonObject root)
    {
        // A config.json that is a symlink (dotfiles managers) is written through to its target, as docker does.
        var target = FilePath;
        try
        {
            if (File.ResolveLinkTarget(FilePath, returnFinalTarget: true) is { } link)
            {
                target = link.FullName;
            }
        }
        catch (IOException)
        {
        }
        var dir = Path.GetDirectoryName(target)!;
        var temp = Path.Combine(dir, $".{FileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                System.IO.Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            else
            {
                System.IO.Directory.CreateDirectory(dir);
            }
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            using (var f = new FileStream(temp, options))
            {
                using (var w = new Utf8JsonWriter(f, new JsonWriterOptions { Indented = true, IndentCharacter = '\t', IndentSize = 1 }))
                {
                    root.WriteTo(w);
                }
                f.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CredentialStoreException($"{target}: {e.Message}");
        }
        finally
        {
            File.Delete(temp);
        }
    }
}

/// <summary>The config file cannot be read or written; the message names it.</summary>
internal sealed class CredentialStoreException(string message) : Exception(message);
