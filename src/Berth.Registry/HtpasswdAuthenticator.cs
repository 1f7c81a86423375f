using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Registry;

/// <summary>
/// HTTP basic auth against an htpasswd file of bcrypt entries (<c>user:$2y$…</c>, as <c>htpasswd -B</c> writes).
/// A bcrypt check costs tens of milliseconds and clients send credentials on every request, so a successful check
/// is remembered for a minute, keyed by a hash of the header (never the password itself).
/// </summary>
public sealed class HtpasswdAuthenticator
{
    private static readonly TimeSpan Remember = TimeSpan.FromMinutes(1);
    private readonly IReadOnlyDictionary<string, string> _users;
    private readonly TimeProvider _time;
    // Successful checks: key = sha256(Authorization header), value = (user, expiry). Bounded by clearing when large.
    private readonly ConcurrentDictionary<string, (string User, DateTimeOffset Until)> _verified = new(StringComparer.Ordinal);

    public HtpasswdAuthenticator(IReadOnlyDictionary<string, string> users, string realm, TimeProvider? time = null)
    {
        _users = users;
        Realm = realm;
        _time = time ?? TimeProvider.System;
    }

    public string Realm { get; }

    /// <summary>Reads an htpasswd file; entries that are not bcrypt are refused (no MD5/SHA1/crypt).</summary>
    public static HtpasswdAuthenticator Load(string path, string realm)
    {
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        int n = 0;
        foreach (var raw in File.ReadAllLines(path))
        {
            n++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var colon = line.IndexOf(':');
            if (colon <= 0) throw new FormatException($"{path}, line {n}: expected user:hash");
            var hash = line[(colon + 1)..];
            if (!(hash.StartsWith("$2a$", StringComparison.Ordinal) || hash.StartsWith("$2b$", StringComparison.Ordinal) || hash.StartsWith("$2y$", StringComparison.Ordinal)))
                throw new FormatException($"{path}, line {n}: only bcrypt entries are supported (htpasswd -B)");
            users[line[..colon]] = hash;
        }
        return new HtpasswdAuthenticator(users, realm);
    }

    /// <summary>The user an <c>Authorization: Basic …</c> header proves, or null.</summary>
    public string? Authenticate(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(authorization)));
        var now = _time.GetUtcNow();
        if (_verified.TryGetValue(key, out var v) && v.Until > now) return v.User;
        string decoded;
        try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim())); }
        catch (FormatException) { return null; }
        var colon = decoded.IndexOf(':');
        if (colon <= 0) return null;
        var user = decoded[..colon];
        if (!_users.TryGetValue(user, out var hash)) return null;
        bool ok;
        try { ok = BCrypt.Net.BCrypt.Verify(decoded[(colon + 1)..], hash); }
        catch (BCrypt.Net.SaltParseException) { ok = false; }
        if (!ok) return null;
        if (_verified.Count > 1024) _verified.Clear();
        _verified[key] = (user, now + Remember);
        return user;
    }
}
