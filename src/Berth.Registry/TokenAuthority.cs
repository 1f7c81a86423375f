using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Berth.Registry;

/// <summary>
/// Who may do what: <paramref name="Account"/> is a user name, <c>*</c> (any signed-in user) or <c>anonymous</c>;
/// <paramref name="Repository"/> a name or a glob where <c>*</c> matches anything (slashes too); actions are
/// <c>pull</c>, <c>push</c>, <c>delete</c> or <c>*</c>.
/// </summary>
public sealed record AccessRule(string Account, string Repository, IReadOnlyList<string> Actions)
{
    private readonly Regex _pattern = new("^" + Regex.Escape(Repository).Replace("\\*", ".*") + "$", RegexOptions.CultureInvariant);

    public bool Matches(string? account, string repository) =>
        (Account == "*" ? account is not null : Account == "anonymous" ? true : Account == account) && _pattern.IsMatch(repository);
}

/// <summary>A verified token's subject and grants.</summary>
internal sealed record TokenGrant(string? Subject, IReadOnlyList<(string Type, string Name, IReadOnlyList<string> Actions)> Access)
{
    /// <summary>The actions granted on a resource; null when the token says nothing about it.</summary>
    public IReadOnlyList<string>? ActionsFor(string type, string name)
    {
        List<string>? all = null;
        foreach (var a in Access)
            if (a.Type == type && a.Name == name) (all ??= []).AddRange(a.Actions);
        return all;
    }
}

/// <summary>
/// Docker's token authentication: the built-in token endpoint signs short-lived ES256 JWTs for htpasswd users (or
/// anonymous callers) with the actions the rules allow; the registry verifies them on every request. The signing key is
/// given (<see cref="LoadOrCreateSigningKey"/>: berth-registry keeps it in its storage root, so tokens outlive a
/// restart) or, without one, made in memory (tokens die with the process).
/// </summary>
public sealed class TokenAuthority : IDisposable
{
    private readonly ECDsa _key;
    private readonly string _kid;
    private readonly TimeProvider _time;

    /// <param name="signingKey">An EC P-256 private key, owned (disposed) by this authority from now on; null makes one.</param>
    public TokenAuthority(HtpasswdAuthenticator users, IReadOnlyList<AccessRule> rules, string service, string? realm = null, TimeProvider? time = null,
        ECDsa? signingKey = null)
    {
        _key = signingKey ?? ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (_key.KeySize != 256) throw new CryptographicException("the token signing key must be an EC P-256 key (ES256)");
        Users = users;
        Rules = rules;
        Service = service;
        Realm = realm;
        _time = time ?? TimeProvider.System;
        _kid = Convert.ToHexStringLower(SHA256.HashData(_key.ExportSubjectPublicKeyInfo()))[..16];
    }

    public HtpasswdAuthenticator Users { get; }
    public IReadOnlyList<AccessRule> Rules { get; }
    public string Service { get; }
    /// <summary>The token endpoint's URL for challenges; null = this server's <c>/token</c> as the client reached it.</summary>
    public string? Realm { get; }
    public string Issuer => Service;
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromMinutes(5);

    public void Dispose() => _key.Dispose();

    /// <summary>
    /// The EC P-256 private key (PKCS#8 PEM) at <paramref name="path"/>. When the file does not exist and
    /// <paramref name="create"/> is set, a new key is written there first: mode 0600 from the moment the file exists,
    /// fsynced, renamed into place, so a crash leaves either no key or a whole one. A file that is not such a key is an
    /// error (<see cref="CryptographicException"/>), never silently replaced: that would invalidate every issued token.
    /// </summary>
    public static ECDsa LoadOrCreateSigningKey(string path, bool create)
    {
        if (!File.Exists(path))
        {
            if (!create) throw new FileNotFoundException($"token signing key {path} does not exist", path);
            using var fresh = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            WritePrivate(path, Encoding.ASCII.GetBytes(fresh.ExportPkcs8PrivateKeyPem() + "\n"));
        }
        var pem = File.ReadAllText(path);
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256) throw new CryptographicException("not a P-256 key");
            // A public key alone cannot sign.
            key.ExportParameters(includePrivateParameters: true);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new CryptographicException($"token signing key {path}: expected an EC P-256 private key in PEM ({e.Message})", e);
        }
        return key;
    }

    private static void WritePrivate(string path, byte[] data)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var opts = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) opts.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var fs = new FileStream(tmp, opts))
            {
                fs.Write(data);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: false);
        }
        finally
        {
            try { File.Delete(tmp); } catch (IOException) { }
        }
    }

    public static readonly string[] KnownActions = ["pull", "push", "delete"];

    /// <summary>The subset of <paramref name="requested"/> the rules allow <paramref name="account"/> (null = anonymous).</summary>
    public IReadOnlyList<string> Allowed(string? account, string repository, IEnumerable<string> requested)
    {
        var allowed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in Rules)
            if (r.Matches(account, repository))
                foreach (var a in r.Actions)
                    if (a == "*") allowed.UnionWith(KnownActions); else allowed.Add(a);
        return requested.Where(allowed.Contains).Distinct().ToList();
    }

    public string Issue(string? subject, IReadOnlyList<(string Type, string Name, IReadOnlyList<string> Actions)> access, out DateTimeOffset issuedAt)
    {
        issuedAt = _time.GetUtcNow();
        var header = Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("alg", "ES256");
            w.WriteString("typ", "JWT");
            w.WriteString("kid", _kid);
            w.WriteEndObject();
        });
        var now = issuedAt.ToUnixTimeSeconds();
        var payload = Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("iss", Issuer);
            w.WriteString("sub", subject ?? "");
            w.WriteString("aud", Service);
            w.WriteNumber("iat", now);
            w.WriteNumber("nbf", now - 10);
            w.WriteNumber("exp", now + (long)Lifetime.TotalSeconds);
            w.WriteString("jti", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)));
            w.WriteStartArray("access");
            foreach (var (type, name, actions) in access)
            {
                w.WriteStartObject();
                w.WriteString("type", type);
                w.WriteString("name", name);
                w.WriteStartArray("actions");
                foreach (var a in actions) w.WriteStringValue(a);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
        var signingInput = $"{Base64Url(header)}.{Base64Url(payload)}";
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    /// <summary>The grant a token carries, or null when it is not ours, not for this service, or expired.</summary>
    internal TokenGrant? Verify(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        byte[] signature;
        try
        {
            signature = FromBase64Url(parts[2]);
            using var header = JsonDocument.Parse(FromBase64Url(parts[0]));
            if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != "ES256") return null;
        }
        catch (Exception e) when (e is FormatException or JsonException) { return null; }
        if (!_key.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            return null;
        try
        {
            using var doc = JsonDocument.Parse(FromBase64Url(parts[1]));
            var c = doc.RootElement;
            var now = _time.GetUtcNow().ToUnixTimeSeconds();
            if (c.GetProperty("aud").GetString() != Service || c.GetProperty("iss").GetString() != Issuer) return null;
            if (c.GetProperty("exp").GetInt64() < now || c.GetProperty("nbf").GetInt64() > now + 30) return null;
            var access = new List<(string, string, IReadOnlyList<string>)>();
            foreach (var a in c.GetProperty("access").EnumerateArray())
                access.Add((a.GetProperty("type").GetString()!, a.GetProperty("name").GetString()!,
                    a.GetProperty("actions").EnumerateArray().Select(x => x.GetString()!).ToList()));
            var sub = c.GetProperty("sub").GetString();
            return new TokenGrant(string.IsNullOrEmpty(sub) ? null : sub, access);
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return buffer.WrittenSpan.ToArray();
    }

    private static string Base64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string s)
    {
        var b = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(b.PadRight(b.Length + (4 - b.Length % 4) % 4, '='));
    }
}
