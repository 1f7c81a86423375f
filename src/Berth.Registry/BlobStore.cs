using System.Collections.Concurrent;
using System.Security.Cryptography;
using Berth.Core;

namespace Berth.Registry;

/// <summary>
/// Blobs on disk by digest under <c>blobs/sha256/&lt;2 hex&gt;/&lt;hex&gt;</c>, and upload files under <c>uploads/&lt;id&gt;</c>
/// on the same file system, so a verified upload enters the store by one rename and a blob file is never half-written.
/// Knows nothing of repositories: which repository may serve a blob is metadata (<see cref="MetadataStore"/>).
/// </summary>
internal sealed class BlobStore
{
    private const int CopyBuffer = 1 << 20;

    // Running sha256 of each upload this process has appended to, keyed by upload id, so completing an upload does not
    // read the file again. Dropped on restart: an upload resumed after a restart is hashed from its file.
    // Accessed only while the caller holds the upload's lock (RegistryService.LockUploadAsync).
    private readonly ConcurrentDictionary<string, RunningHash> _hashes = new(StringComparer.Ordinal);

    public BlobStore(string root)
    {
        Root = Path.GetFullPath(root);
        BlobsDir = Path.Combine(Root, "blobs", Digest.Sha256);
        UploadsDir = Path.Combine(Root, "uploads");
        Directory.CreateDirectory(BlobsDir);
        Directory.CreateDirectory(UploadsDir);
    }

    public string Root { get; }
    public string BlobsDir { get; }
    public string UploadsDir { get; }

    public string BlobPath(Digest digest) => Path.Combine(BlobsDir, digest.Hex[..2], digest.Hex);

    /// <summary>Upload ids are ours (hex GUIDs) but come back in URLs: anything else is not a path we will touch.</summary>
    public static bool IsValidUploadId(string id) => id.Length == 32 && id.All(char.IsAsciiHexDigitLower);

    public string UploadPath(string id) =>
        IsValidUploadId(id) ? Path.Combine(UploadsDir, id) : throw RegistryException.UploadUnknown(id);

    public bool Exists(Digest digest) => File.Exists(BlobPath(digest));

    public long? SizeOf(Digest digest)
    {
        var fi = new FileInfo(BlobPath(digest));
        return fi.Exists ? fi.Length : null;
    }

    public void CreateUpload(string id)
    {
        using (new FileStream(UploadPath(id), FileMode.CreateNew, FileAccess.Write)) { }
        _hashes[id] = new RunningHash();
    }

    public long UploadSize(string id)
    {
        var fi = new FileInfo(UploadPath(id));
        return fi.Exists ? fi.Length : throw RegistryException.UploadUnknown(id);
    }

    /// <summary>Appends a request body to an upload; a body that breaks off or differs from <paramref name="expectedLength"/> adds nothing.</summary>
    public async Task<long> AppendAsync(string id, Stream body, long? expectedLength, CancellationToken ct)
    {
        var path = UploadPath(id);
        if (!File.Exists(path)) throw RegistryException.UploadUnknown(id);
        await using var fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 0, FileOptions.Asynchronous);
        long start = fs.Position;
        var running = _hashes.TryGetValue(id, out var h) && h.Offset == start ? h : null;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(CopyBuffer);
        long written = 0;
        try
        {
            int n;
            while ((n = await body.ReadAsync(buffer.AsMemory(0, CopyBuffer), ct)) > 0)
            {
                await fs.WriteAsync(buffer.AsMemory(0, n), ct);
                running?.Hash.AppendData(buffer, 0, n);
                written += n;
            }
        }
        catch
        {
            // A broken request leaves the upload as it was before it: cut back what this request wrote.
            fs.SetLength(start);
            _hashes.TryRemove(id, out _);
            throw;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        if (expectedLength is { } len && len != written)
        {
            fs.SetLength(start);
            if (running is not null) _hashes.TryRemove(id, out _);
            throw new RegistryException(400, ErrorCodes.SizeInvalid, $"body was {written} bytes, Content-Length/Content-Range said {len}");
        }
        if (running is not null) running.Offset = start + written;
        else _hashes.TryRemove(id, out _);
        return start + written;
    }

    /// <summary>
    /// Verifies the finished upload against <paramref name="expected"/>; on a mismatch the upload file is deleted
    /// (DIGEST_INVALID) and nothing enters the store. Returns the blob's size; <see cref="PromoteUpload"/> moves it in.
    /// </summary>
    public async Task<long> VerifyUploadAsync(string id, Digest expected, CancellationToken ct)
    {
        var path = UploadPath(id);
        Digest actual;
        long size;
        if (_hashes.TryRemove(id, out var running) && running.Offset == new FileInfo(path).Length)
        {
            actual = Digest.FromHash(running.Hash.GetHashAndReset());
            size = running.Offset;
            running.Hash.Dispose();
        }
        else
        {
            running?.Hash.Dispose();
            await using var rs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBuffer, FileOptions.Asynchronous | FileOptions.SequentialScan);
            actual = Digest.FromHash(await SHA256.HashDataAsync(rs, ct));
            size = rs.Length;
        }
        if (actual != expected)
        {
            DeleteUpload(id);
            throw RegistryException.DigestInvalid("provided digest did not match uploaded content", $"expected {expected}, got {actual}");
        }
        return size;
    }

    /// <summary>
    /// Renames a verified upload into the store (fsynced, its mtime now, so a collector's scan for stray files sees it as
    /// new), or drops it when the blob is already there. Callers commit the blob's metadata row first (see README: GC).
    /// </summary>
    public void PromoteUpload(string id, Digest digest)
    {
        var path = UploadPath(id);
        var dest = BlobPath(digest);
        if (File.Exists(dest))
        {
            DeleteUpload(id);
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite)) fs.Flush(flushToDisk: true);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
        File.Move(path, dest, overwrite: true);
    }

    /// <summary>Verify and promote in one step, for callers with no metadata to write in between.</summary>
    public async Task<long> CommitUploadAsync(string id, Digest expected, CancellationToken ct)
    {
        var size = await VerifyUploadAsync(id, expected, ct);
        PromoteUpload(id, expected);
        return size;
    }

    public void DeleteUpload(string id)
    {
        if (_hashes.TryRemove(id, out var h)) h.Hash.Dispose();
        try { File.Delete(UploadPath(id)); } catch (IOException) { }
    }

    /// <summary>Writes small content (a manifest) by its digest, atomically; a no-op when the blob is already there.</summary>
    public void WriteBlob(Digest digest, ReadOnlySpan<byte> data)
    {
        var dest = BlobPath(digest);
        if (File.Exists(dest)) return;
        AtomicFile.WriteAllBytes(dest, data);
    }

    public FileStream OpenRead(Digest digest) =>
        new(BlobPath(digest), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);

    private sealed class RunningHash
    {
        public IncrementalHash Hash { get; } = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public long Offset { get; set; }
    }
}
