using System.Collections.Concurrent;
using Berth.Core;

namespace Berth.Registry;

/// <summary>How a registry is set up: where its data lives and whether it takes writes.</summary>
public sealed record RegistryOptions
{
    public string StorageRoot { get; init; } = "/var/lib/berth-registry";
    public bool ReadOnly { get; init; }

    /// <summary>Upload sessions idle for longer than this are removed with their files.</summary>
    public TimeSpan UploadMaxAge { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Basic auth for every request when set (auth mode <c>htpasswd</c>); null is auth mode <c>none</c>.</summary>
    public HtpasswdAuthenticator? Htpasswd { get; init; }

    /// <summary>Run the collector in-process this often (null: only <c>berth-registry gc</c>).</summary>
    public TimeSpan? GcInterval { get; init; }

    public GcOptions Gc { get; init; } = new();

    /// <summary>Docker token auth when set (auth mode <c>token</c>): Bearer JWTs from the built-in <c>/token</c> endpoint.</summary>
    public TokenAuthority? Token { get; init; }

    /// <summary>
    /// A blob upload's body must bring at least this many bytes per second in every <see cref="BodyRateWindow"/> the
    /// registry waits for it, else the connection is cut off and the upload stays at its previous offset (0: no limit).
    /// </summary>
    public double MinBodyRate { get; init; } = 240;

    /// <summary>The window (and so the grace period) of <see cref="MinBodyRate"/>.</summary>
    public TimeSpan BodyRateWindow { get; init; } = TimeSpan.FromSeconds(20);
}

/// <summary>
/// The registry's operations over its two stores: blob files (<see cref="BlobStore"/>) and metadata
/// (<see cref="MetadataStore"/>). Order of writes: a blob file enters the store before the metadata that names it, so
/// metadata never points at a missing file; a file without metadata is garbage a collector may take after a grace period.
/// </summary>
internal sealed class RegistryService
{
    // One async lock per upload session: two PATCHes to the same upload must not interleave their appends.
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _uploadLocks = new(StringComparer.Ordinal);

    private readonly TimeProvider _time;

    public RegistryService(RegistryOptions options, TimeProvider? time = null)
    {
        Options = options;
        _time = time ?? TimeProvider.System;
        Directory.CreateDirectory(options.StorageRoot);
        Blobs = new BlobStore(options.StorageRoot);
        Metadata = new MetadataStore(Path.Combine(Blobs.Root, "registry.db"), time);
    }

    public RegistryOptions Options { get; }
    public TimeProvider Time => _time;
    public BlobStore Blobs { get; }
    public MetadataStore Metadata { get; }

    public async Task<IDisposable> LockUploadAsync(string id, CancellationToken ct)
    {
        var sem = _uploadLocks.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
        await sem.WaitAsync(ct);
        return new Releaser(sem);
    }

    private sealed class Releaser(SemaphoreSlim sem) : IDisposable
    {
        public void Dispose() => sem.Release();
    }

    public string StartUpload(string repository)
    {
        var id = Guid.NewGuid().ToString("N");
        Blobs.CreateUpload(id);
        Metadata.CreateUpload(id, repository);
        return id;
    }

    /// <summary>The upload session <paramref name="id"/> of <paramref name="repository"/>, or BLOB_UPLOAD_UNKNOWN.</summary>
    public UploadRecord GetUpload(string repository, string id)
    {
        if (!BlobStore.IsValidUploadId(id)) throw RegistryException.UploadUnknown(id);
        var u = Metadata.GetUpload(id);
        if (u is null || u.Repository != repository || !File.Exists(Blobs.UploadPath(id))) throw RegistryException.UploadUnknown(id);
        return u;
    }

    public void CancelUpload(string id)
    {
        Blobs.DeleteUpload(id);
        Metadata.DeleteUpload(id);
        _uploadLocks.TryRemove(id, out _);
    }

    /// <summary>
    /// Removes upload sessions idle for longer than <see cref="RegistryOptions.UploadMaxAge"/>, and upload files with no
    /// session (a monolithic upload cut off by a crash) as old. A session being written to right now is skipped.
    /// </summary>
    public int ReapAbandonedUploads()
    {
        var cutoff = _time.GetUtcNow() - Options.UploadMaxAge;
        int n = 0;
        foreach (var id in Metadata.StaleUploads(cutoff))
        {
            var sem = _uploadLocks.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
            if (!sem.Wait(0)) continue;
            try
            {
                Blobs.DeleteUpload(id);
                Metadata.DeleteUpload(id);
                n++;
            }
            finally
            {
                sem.Release();
                _uploadLocks.TryRemove(id, out _);
            }
        }
        foreach (var file in Directory.EnumerateFiles(Blobs.UploadsDir))
        {
            var id = Path.GetFileName(file);
            if (File.GetLastWriteTimeUtc(file) < cutoff.UtcDateTime && !_uploadLocks.ContainsKey(id) &&
                (!BlobStore.IsValidUploadId(id) || Metadata.GetUpload(id) is null))
            {
                try { File.Delete(file); n++; } catch (IOException) { }
            }
        }
        return n;
    }

    /// <summary>Verifies and moves an upload into the store and links it to the repository; on a bad digest nothing is stored.</summary>
    public async Task<long> CompleteUploadAsync(string repository, string id, Digest digest, CancellationToken ct)
    {
        long size;
        try
        {
            size = await Blobs.VerifyUploadAsync(id, digest, ct);
        }
        catch (RegistryException)
        {
            // A digest mismatch ends the upload (its file is gone); a broken connection leaves it to be resumed.
            Metadata.DeleteUpload(id);
            _uploadLocks.TryRemove(id, out _);
            throw;
        }
        // The row first, then the file: a collector that has already chosen this digest sees the row when it re-checks.
        Metadata.LinkBlob(repository, digest, size);
        Blobs.PromoteUpload(id, digest);
        Metadata.DeleteUpload(id);
        _uploadLocks.TryRemove(id, out _);
        return size;
    }

    /// <summary>A whole blob in one request (POST with <c>?digest=</c>): an upload without a session row.</summary>
    public async Task<long> PutBlobAsync(string repository, Digest digest, Stream body, long? length, CancellationToken ct)
    {
        var id = Guid.NewGuid().ToString("N");
        Blobs.CreateUpload(id);
        try
        {
            await Blobs.AppendAsync(id, body, length, ct);
            var size = await Blobs.VerifyUploadAsync(id, digest, ct);
            Metadata.LinkBlob(repository, digest, size);
            Blobs.PromoteUpload(id, digest);
            return size;
        }
        finally
        {
            Blobs.DeleteUpload(id);
        }
    }

    public ParsedManifest PutManifest(string repository, string reference, byte[] body, string? contentType)
    {
        var m = ManifestParser.Parse(body, contentType);
        string? tag = null;
        if (Digest.TryParse(reference, out var want))
        {
            if (want != m.Digest) throw RegistryException.DigestInvalid("manifest digest does not match the reference", $"expected {want}, got {m.Digest}");
        }
        else
        {
            tag = reference;
        }
        Metadata.PutManifest(repository, m, tag);
        Blobs.WriteBlob(m.Digest, body);
        return m;
    }
}
