using Berth.Core;
using Microsoft.Data.Sqlite;

namespace Berth.Registry;

/// <summary>A manifest as the metadata knows it.</summary>
internal sealed record ManifestRecord(Digest Digest, string MediaType, long Size, string? ArtifactType, string? AnnotationsJson);

/// <summary>What a metadata sweep removed: manifests as <c>repo@digest</c>, the number of repository links, blob rows.</summary>
internal sealed record SweepResult(IReadOnlyList<string> Manifests, int Links, IReadOnlyList<(Digest Digest, long Size)> Blobs);

/// <summary>An upload session: which repository it belongs to and when it started.</summary>
internal sealed record UploadRecord(string Id, string Repository, DateTimeOffset StartedAt);

/// <summary>
/// Repositories, manifests, tags, blob links per repository and upload sessions in one SQLite database (WAL mode).
/// Every change that must be all-or-nothing (a manifest with its references and tag) is one IMMEDIATE transaction, which is
/// also what online garbage collection will mark under. Schema and GC protocol: README.md.
/// </summary>
internal sealed class MetadataStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS repositories(
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS blobs(
            digest TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            last_put_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS repository_blobs(
            repository_id INTEGER NOT NULL,
            digest TEXT NOT NULL,
            linked_at INTEGER NOT NULL,
            PRIMARY KEY(repository_id, digest)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS repository_blobs_digest ON repository_blobs(digest);
        CREATE TABLE IF NOT EXISTS manifests(
            repository_id INTEGER NOT NULL,
            digest TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            artifact_type TEXT,
            subject TEXT,
            annotations TEXT,
            pushed_at INTEGER NOT NULL,
            PRIMARY KEY(repository_id, digest)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS manifests_digest ON manifests(digest);
        CREATE INDEX IF NOT EXISTS manifests_subject ON manifests(repository_id, subject) WHERE subject IS NOT NULL;
        CREATE TABLE IF NOT EXISTS manifest_references(
            repository_id INTEGER NOT NULL,
            parent TEXT NOT NULL,
            child TEXT NOT NULL,
            child_is_manifest INTEGER NOT NULL,
            PRIMARY KEY(repository_id, parent, child)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS manifest_references_child ON manifest_references(child);
        CREATE TABLE IF NOT EXISTS tags(
            repository_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            digest TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY(repository_id, name)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS tags_digest ON tags(repository_id, digest);
        CREATE TABLE IF NOT EXISTS uploads(
            id TEXT PRIMARY KEY,
            repository TEXT NOT NULL,
            started_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL) WITHOUT ROWID;
        """;

    private readonly string _connectionString;
    private readonly TimeProvider _time;

    public MetadataStore(string databasePath, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var c = Open();
        Exec(c, null, "PRAGMA journal_mode=WAL;");
        Exec(c, null, Schema);
    }

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        // Per connection; WAL makes NORMAL durable against process crashes (a power loss may drop the last commits).
        Exec(c, null, "PRAGMA synchronous=NORMAL;");
        return c;
    }

    private static int Exec(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, (string, object?)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (k, v) in args) cmd.Parameters.AddWithValue(k, v ?? DBNull.Value);
        return cmd;
    }

    private long EnsureRepository(SqliteConnection c, SqliteTransaction tx, string name)
    {
        Exec(c, tx, "INSERT INTO repositories(name, created_at) VALUES($n, $t) ON CONFLICT(name) DO NOTHING", ("$n", name), ("$t", Now));
        return (long)Scalar(c, tx, "SELECT id FROM repositories WHERE name=$n", ("$n", name))!;
    }

    private static long? RepositoryId(SqliteConnection c, SqliteTransaction? tx, string name) =>
        Scalar(c, tx, "SELECT id FROM repositories WHERE name=$n", ("$n", name)) as long?;

    public bool RepositoryExists(string name)
    {
        using var c = Open();
        return RepositoryId(c, null, name) is not null;
    }

    /// <summary>Records a blob now in the store and lets <paramref name="repository"/> serve it.</summary>
    public void LinkBlob(string repository, Digest digest, long size)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        var repo = EnsureRepository(c, tx, repository);
        // last_put_at is the grace period's clock: a collector leaves alone blobs put (or put again) recently.
        Exec(c, tx, "INSERT INTO blobs(digest, size, last_put_at) VALUES($d, $s, $t) ON CONFLICT(digest) DO UPDATE SET last_put_at=$t",
            ("$d", digest.ToString()), ("$s", size), ("$t", Now));
        Exec(c, tx, "INSERT INTO repository_blobs(repository_id, digest, linked_at) VALUES($r, $d, $t) ON CONFLICT DO UPDATE SET linked_at=$t",
            ("$r", repo), ("$d", digest.ToString()), ("$t", Now));
        tx.Commit();
    }

    /// <summary>Links a blob that <paramref name="from"/> may serve into <paramref name="repository"/>; false when it may not.</summary>
    public bool MountBlob(string repository, string from, Digest digest)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        var src = RepositoryId(c, tx, from);
        if (src is null) return false;
        var linked = Scalar(c, tx, "SELECT 1 FROM repository_blobs WHERE repository_id=$r AND digest=$d", ("$r", src), ("$d", digest.ToString()));
        if (linked is null) return false;
        var repo = EnsureRepository(c, tx, repository);
        Exec(c, tx, "UPDATE blobs SET last_put_at=$t WHERE digest=$d", ("$d", digest.ToString()), ("$t", Now));
        Exec(c, tx, "INSERT INTO repository_blobs(repository_id, digest, linked_at) VALUES($r, $d, $t) ON CONFLICT DO NOTHING",
            ("$r", repo), ("$d", digest.ToString()), ("$t", Now));
        tx.Commit();
        return true;
    }

    /// <summary>The size of a blob <paramref name="repository"/> may serve (a linked layer or config, or one of its manifests).</summary>
    public long? LinkedBlobSize(string repository, Digest digest)
    {
        using var c = Open();
        return Scalar(c, null, """
            SELECT b.size FROM repositories r JOIN repository_blobs l ON l.repository_id=r.id JOIN blobs b ON b.digest=l.digest
            WHERE r.name=$n AND l.digest=$d
            UNION ALL
            SELECT m.size FROM repositories r JOIN manifests m ON m.repository_id=r.id WHERE r.name=$n AND m.digest=$d
            LIMIT 1
            """, ("$n", repository), ("$d", digest.ToString())) as long?;
    }

    public bool UnlinkBlob(string repository, Digest digest)
    {
        using var c = Open();
        return Exec(c, null, "DELETE FROM repository_blobs WHERE digest=$d AND repository_id=(SELECT id FROM repositories WHERE name=$n)",
            ("$n", repository), ("$d", digest.ToString())) > 0;
    }

    public void CreateUpload(string id, string repository)
    {
        using var c = Open();
        Exec(c, null, "INSERT INTO uploads(id, repository, started_at, updated_at) VALUES($i, $r, $t, $t)", ("$i", id), ("$r", repository), ("$t", Now));
    }

    public UploadRecord? GetUpload(string id)
    {
        using var c = Open();
        using var cmd = Command(c, null, "SELECT repository, started_at FROM uploads WHERE id=$i", [("$i", id)]);
        using var r = cmd.ExecuteReader();
        return r.Read() ? new UploadRecord(id, r.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1))) : null;
    }

    public void TouchUpload(string id)
    {
        using var c = Open();
        Exec(c, null, "UPDATE uploads SET updated_at=$t WHERE id=$i", ("$i", id), ("$t", Now));
    }

    /// <summary>Upload sessions nobody has written to since <paramref name="cutoff"/>.</summary>
    public IReadOnlyList<string> StaleUploads(DateTimeOffset cutoff)
    {
        using var c = Open();
        using var cmd = Command(c, null, "SELECT id FROM uploads WHERE updated_at < $t", [("$t", cutoff.ToUnixTimeMilliseconds())]);
        using var rd = cmd.ExecuteReader();
        var ids = new List<string>();
        while (rd.Read()) ids.Add(rd.GetString(0));
        return ids;
    }

    public bool DeleteUpload(string id)
    {
        using var c = Open();
        return Exec(c, null, "DELETE FROM uploads WHERE id=$i", ("$i", id)) > 0;
    }

    /// <summary>
    /// Stores a manifest (its bytes are already in the blob store) with its references and, when given, a tag, in one
    /// transaction. Refused with MANIFEST_BLOB_UNKNOWN when a referenced blob or child manifest is not in the repository.
    /// </summary>
    public void PutManifest(string repository, ParsedManifest m, string? tag)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        var repo = EnsureRepository(c, tx, repository);
        foreach (var r in m.References)
        {
            var sql = r.IsManifest
                ? "SELECT 1 FROM manifests WHERE repository_id=$r AND digest=$d"
                : "SELECT 1 FROM repository_blobs WHERE repository_id=$r AND digest=$d";
            if (Scalar(c, tx, sql, ("$r", repo), ("$d", r.Digest.ToString())) is null)
                throw new RegistryException(400, ErrorCodes.ManifestBlobUnknown,
                    r.IsManifest ? "manifest references a manifest unknown to the repository" : "blob unknown to registry", r.Digest.ToString());
        }
        var d = m.Digest.ToString();
        Exec(c, tx, "INSERT INTO blobs(digest, size, last_put_at) VALUES($d, $s, $t) ON CONFLICT(digest) DO UPDATE SET last_put_at=$t",
            ("$d", d), ("$s", m.Size), ("$t", Now));
        Exec(c, tx, """
            INSERT INTO manifests(repository_id, digest, media_type, size, artifact_type, subject, annotations, pushed_at)
            VALUES($r, $d, $m, $s, $a, $sub, $ann, $t)
            ON CONFLICT DO UPDATE SET pushed_at=$t
            """, ("$r", repo), ("$d", d), ("$m", m.MediaType), ("$s", m.Size), ("$a", m.ArtifactType),
            ("$sub", m.Subject?.ToString()), ("$ann", m.AnnotationsJson), ("$t", Now));
        foreach (var r in m.References)
            Exec(c, tx, "INSERT INTO manifest_references(repository_id, parent, child, child_is_manifest) VALUES($r, $p, $c, $k) ON CONFLICT DO NOTHING",
                ("$r", repo), ("$p", d), ("$c", r.Digest.ToString()), ("$k", r.IsManifest ? 1 : 0));
        if (tag is not null)
            Exec(c, tx, "INSERT INTO tags(repository_id, name, digest, updated_at) VALUES($r, $n, $d, $t) ON CONFLICT DO UPDATE SET digest=$d, updated_at=$t",
                ("$r", repo), ("$n", tag), ("$d", d), ("$t", Now));
        tx.Commit();
    }

    /// <summary>The manifest a tag or digest names in a repository; null when there is none.</summary>
    public ManifestRecord? GetManifest(string repository, string reference)
    {
        using var c = Open();
        var byDigest = Digest.TryParse(reference, out _);
        var sql = byDigest
            ? "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations FROM repositories r JOIN manifests m ON m.repository_id=r.id WHERE r.name=$n AND m.digest=$ref"
            : "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations FROM repositories r JOIN tags t ON t.repository_id=r.id JOIN manifests m ON m.repository_id=r.id AND m.digest=t.digest WHERE r.name=$n AND t.name=$ref";
        using var cmd = Command(c, null, sql, [("$n", repository), ("$ref", reference)]);
        using var rd = cmd.ExecuteReader();
        return rd.Read() ? ReadManifest(rd) : null;
    }

    private static ManifestRecord ReadManifest(SqliteDataReader rd) => new(
        Digest.Parse(rd.GetString(0)), rd.GetString(1), rd.GetInt64(2),
        rd.IsDBNull(3) ? null : rd.GetString(3), rd.IsDBNull(4) ? null : rd.GetString(4));

    /// <summary>Deletes a manifest and every tag that points at it.</summary>
    public bool DeleteManifest(string repository, Digest digest)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        var repo = RepositoryId(c, tx, repository);
        if (repo is null) return false;
        var d = digest.ToString();
        var n = Exec(c, tx, "DELETE FROM manifests WHERE repository_id=$r AND digest=$d", ("$r", repo), ("$d", d));
        Exec(c, tx, "DELETE FROM tags WHERE repository_id=$r AND digest=$d", ("$r", repo), ("$d", d));
        Exec(c, tx, "DELETE FROM manifest_references WHERE repository_id=$r AND parent=$d", ("$r", repo), ("$d", d));
        tx.Commit();
        return n > 0;
    }

    public bool DeleteTag(string repository, string tag)
    {
        using var c = Open();
        return Exec(c, null, "DELETE FROM tags WHERE name=$t AND repository_id=(SELECT id FROM repositories WHERE name=$n)",
            ("$n", repository), ("$t", tag)) > 0;
    }

    /// <summary>Up to <paramref name="n"/> tags after <paramref name="last"/> in lexical order; <c>More</c> when there are others.</summary>
    public (IReadOnlyList<string> Items, bool More) ListTags(string repository, int n, string? last)
    {
        using var c = Open();
        return Page(c, "SELECT t.name FROM repositories r JOIN tags t ON t.repository_id=r.id WHERE r.name=$n AND t.name > $last ORDER BY t.name LIMIT $lim",
            repository, n, last);
    }

    public (IReadOnlyList<string> Items, bool More) ListRepositories(int n, string? last)
    {
        using var c = Open();
        return Page(c, "SELECT name FROM repositories WHERE $n IS NOT NULL AND name > $last ORDER BY name LIMIT $lim", "", n, last);
    }

    private static (IReadOnlyList<string>, bool) Page(SqliteConnection c, string sql, string repository, int n, string? last)
    {
        using var cmd = Command(c, null, sql, [("$n", repository), ("$last", last ?? ""), ("$lim", (long)n + 1)]);
        using var rd = cmd.ExecuteReader();
        var items = new List<string>();
        while (rd.Read()) items.Add(rd.GetString(0));
        var more = items.Count > n;
        if (more) items.RemoveAt(items.Count - 1);
        return (items, more);
    }

    /// <summary>
    /// The metadata half of a collection, in one IMMEDIATE transaction (pushes wait for it, reads go on): removes untagged
    /// manifests no live index or subject keeps (when asked), repository links no manifest references, and blob rows nothing
    /// links, each only when older than <paramref name="cutoff"/>. Returns what went; <paramref name="dryRun"/> rolls back.
    /// </summary>
    public SweepResult Sweep(DateTimeOffset cutoff, bool deleteUntagged, bool dryRun)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        var cut = cutoff.ToUnixTimeMilliseconds();
        var manifests = new List<string>();
        if (deleteUntagged)
        {
            // To a fixed point: an index that goes releases its children for the next round.
            while (true)
            {
                using var cmd = Command(c, tx, """
                    DELETE FROM manifests AS m WHERE m.pushed_at < $cut
                      AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id=m.repository_id AND t.digest=m.digest)
                      AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.repository_id=m.repository_id AND r.child=m.digest AND r.child_is_manifest=1)
                      AND NOT (m.subject IS NOT NULL AND EXISTS (SELECT 1 FROM manifests s WHERE s.repository_id=m.repository_id AND s.digest=m.subject))
                    RETURNING repository_id, digest
                    """, [("$cut", cut)]);
                var round = new List<(long, string)>();
                using (var rd = cmd.ExecuteReader())
                    while (rd.Read()) round.Add((rd.GetInt64(0), rd.GetString(1)));
                if (round.Count == 0) break;
                foreach (var (repo, digest) in round)
                    manifests.Add($"{Scalar(c, tx, "SELECT name FROM repositories WHERE id=$r", ("$r", repo))}@{digest}");
                Exec(c, tx, """
                    DELETE FROM manifest_references AS r
                    WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id=r.repository_id AND m.digest=r.parent)
                    """);
            }
        }
        var links = Exec(c, tx, """
            DELETE FROM repository_blobs AS l WHERE l.linked_at < $cut
              AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.repository_id=l.repository_id AND r.child=l.digest AND r.child_is_manifest=0)
            """, ("$cut", cut));
        var blobs = new List<(Digest, long)>();
        using (var cmd = Command(c, tx, """
            DELETE FROM blobs AS b WHERE b.last_put_at < $cut
              AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest=b.digest)
              AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest=b.digest)
            RETURNING digest, size
            """, [("$cut", cut)]))
        using (var rd = cmd.ExecuteReader())
            while (rd.Read()) blobs.Add((Digest.Parse(rd.GetString(0)), rd.GetInt64(1)));
        if (dryRun) tx.Rollback(); else tx.Commit();
        return new SweepResult(manifests, links, blobs);
    }

    /// <summary>Whether a blob row exists (a collector's re-check after moving a file aside).</summary>
    public bool BlobRowExists(Digest digest)
    {
        using var c = Open();
        return Scalar(c, null, "SELECT 1 FROM blobs WHERE digest=$d", ("$d", digest.ToString())) is not null;
    }

    /// <summary>Every digest the metadata names (blob rows and manifests).</summary>
    public HashSet<string> KnownDigests()
    {
        using var c = Open();
        using var cmd = Command(c, null, "SELECT digest FROM blobs UNION SELECT digest FROM manifests", []);
        using var rd = cmd.ExecuteReader();
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (rd.Read()) set.Add(rd.GetString(0));
        return set;
    }

    /// <summary>Manifests in <paramref name="repository"/> whose subject is <paramref name="subject"/>, optionally of one artifact type.</summary>
    public IReadOnlyList<ManifestRecord> Referrers(string repository, Digest subject, string? artifactType)
    {
        using var c = Open();
        using var cmd = Command(c, null, """
            SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations FROM repositories r JOIN manifests m ON m.repository_id=r.id
            WHERE r.name=$n AND m.subject=$s AND ($a IS NULL OR m.artifact_type=$a) ORDER BY m.digest
            """, [("$n", repository), ("$s", subject.ToString()), ("$a", artifactType)]);
        using var rd = cmd.ExecuteReader();
        var list = new List<ManifestRecord>();
        while (rd.Read()) list.Add(ReadManifest(rd));
        return list;
    }
}
