using System.Security.Cryptography;
using Berth.Core;

namespace Berth.Content;

/// <summary>
/// Blobs as files: <c>root/blobs/sha256/&lt;hex&gt;</c>. A write goes to <c>root/ingest/</c>, is hashed on the way,
/// fsynced, and renamed in only when its digest is right, so a crash or a bad download never leaves a wrong blob.
/// </summary>
public sealed class FileContentStore : IContentStore
{
    private readonly string _blobs;
    private readonly string _ingest;

    public FileContentStore(string root)
    {
        Root = Path.GetFullPath(root);
        _blobs = Path.Combine(Root, "blobs", Digest.Sha256);
        _ingest = Path.Combine(Root, "ingest");
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(_ingest);
    }

    public string Root { get; }

    /// <summary>Where a blob lives (or would live); for callers that need a path, such as a bind mount.</summary>
    public string BlobPath(Digest digest)
    {
        if (digest.Algorithm != Digest.Sha256)
            throw BerthException.Invalid($"unsupported digest algorithm {digest.Algorithm}");
        // Digest.Parse guarantees 64 lowercase hex, but a default(Digest) or hand-made one must not
        // turn into a path outside the store.
        if (!Digest.TryParse(digest.ToString(), out _))
            throw BerthException.Invalid($"invalid digest \"{digest}\"");
        return Path.Combine(_blobs, digest.Hex);
    }

    public bool Exists(Digest digest) => File.Exists(BlobPath(digest));

    public Stream OpenRead(Digest digest)
    {
        try
        {
            return new FileStream(BlobPath(digest), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            throw BerthException.NotFound($"content {digest}: not found");
        }
    }

    public long Size(Digest digest)
    {
        var fi = new FileInfo(BlobPath(digest));
        if (!fi.Exists) throw BerthException.NotFound($"content {digest}: not found");
        return fi.Length;
    }

    public async Task<Descriptor> WriteAsync(Stream data, string mediaType, Digest? expected, CancellationToken ct)
    {
        if (expected is { } e && Exists(e))
        {
            // Already present: the stream still has to be consumed by some callers' protocols, but not by us.
            return new Descriptor(mediaType, e, Size(e));
        }
        var tmp = Path.Combine(_ingest, $"{Guid.NewGuid():N}.partial");
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            await using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                var buf = new byte[1 << 16];
                int n;
                while ((n = await data.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buf, 0, n);
                    await fs.WriteAsync(buf.AsMemory(0, n), ct).ConfigureAwait(false);
                    size += n;
                }
                await fs.FlushAsync(ct).ConfigureAwait(false);
                fs.Flush(flushToDisk: true);
            }
            var actual = Digest.FromHash(hash.GetHashAndReset());
            if (expected is { } want && want != actual)
                throw BerthException.Invalid($"content digest mismatch: expected {want}, got {actual}");
            Commit(tmp, actual);
            return new Descriptor(mediaType, actual, size);
        }
        finally
        {
            TryDelete(tmp);
        }
    }

    // Guards _resuming: the partial files open for writing in this process. (The daemon turns .NET's flock-based
    // FileShare off, so exclusivity between writers is kept here.)
    private readonly Lock _resumeLock = new();
    private readonly HashSet<string> _resuming = new(StringComparer.Ordinal);

    public async Task<ResumableIngest> OpenResumableAsync(Descriptor expected, CancellationToken ct)
    {
        // Named by digest (not a random name like WriteAsync's), so the next attempt finds it.
        var path = Path.Combine(_ingest, $"{Path.GetFileName(BlobPath(expected.Digest))}.resume");
        lock (_resumeLock)
            if (!_resuming.Add(path)) throw BerthException.Conflict($"blob {expected.Digest} is already being written");
        try
        {
            return await ResumableIngest.OpenAsync(path, expected, tmp => Commit(tmp, expected.Digest), Release, ct).ConfigureAwait(false);
        }
        catch
        {
            Release();
            throw;
        }

        void Release()
        {
            lock (_resumeLock) _resuming.Remove(path);
        }
    }

    /// <summary>
    /// Removes ingest leftovers older than <paramref name="age"/>: partial downloads nobody resumed, temp files of a
    /// crashed write. Live writers keep their files fresh or hold them open under an exclusive lock.
    /// </summary>
    public void PruneIngest(TimeSpan age, DateTimeOffset now)
    {
        foreach (var f in Directory.EnumerateFiles(_ingest))
        {
            if (now - File.GetLastWriteTimeUtc(f) < age) continue;
            lock (_resumeLock)
                if (_resuming.Contains(f)) continue;
            try { File.Delete(f); }
            catch (IOException) { }
        }
    }

    public Descriptor WriteBytes(ReadOnlySpan<byte> data, string mediaType)
    {
        var digest = Digest.FromBytes(data);
        if (!Exists(digest))
        {
            var tmp = Path.Combine(_ingest, $"{Guid.NewGuid():N}.partial");
            try
            {
                using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0))
                {
                    fs.Write(data);
                    fs.Flush(flushToDisk: true);
                }
                Commit(tmp, digest);
            }
            finally
            {
                TryDelete(tmp);
            }
        }
        return new Descriptor(mediaType, digest, data.Length);
    }

    public void Delete(Digest digest)
    {
        try { File.Delete(BlobPath(digest)); }
        catch (DirectoryNotFoundException) { }
    }

    public IEnumerable<Digest> List()
    {
        foreach (var f in Directory.EnumerateFiles(_blobs))
            if (Digest.TryParse($"{Digest.Sha256}:{Path.GetFileName(f)}", out var d))
                yield return d;
    }

    private void Commit(string tmp, Digest digest)
    {
        // Blobs are immutable and named by their content: if a concurrent writer got there first,
        // its file has the same bytes and overwriting it is harmless.
        File.Move(tmp, BlobPath(digest), overwrite: true);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
