using Berth.Core;

namespace Berth.Content;

// Four narrow interfaces, like containerd's core/content: a caller takes the narrowest it needs
// (an unpacker only reads, a puller only writes).

/// <summary>Reads blobs by digest.</summary>
public interface IContentProvider
{
    bool Exists(Digest digest);

    /// <summary>Opens a blob for reading; NotFound when the store does not hold it.</summary>
    Stream OpenRead(Digest digest);

    long Size(Digest digest);
}

/// <summary>Writes blobs; a blob whose bytes do not hash to the expected digest never enters the store.</summary>
public interface IIngester
{
    /// <summary>
    /// Copies <paramref name="data"/> into the store, hashing while writing. With <paramref name="expected"/>
    /// set, a mismatch throws InvalidArgument and leaves the store unchanged.
    /// </summary>
    Task<Descriptor> WriteAsync(Stream data, string mediaType, Digest? expected, CancellationToken ct);

    Descriptor WriteBytes(ReadOnlySpan<byte> data, string mediaType);
}

/// <summary>
/// Writes a blob over several attempts: what one attempt wrote stays in the ingest area (also across a daemon
/// kill), and the next continues from there. Used by pulls, which download large layers over flaky links.
/// </summary>
public interface IResumableIngester
{
    /// <summary>
    /// Opens the ingest of <paramref name="expected"/> (one at a time per blob: a second open while the first is live
    /// is a Conflict). Its <see cref="ResumableIngest.Offset"/> says how many bytes are already there.
    /// </summary>
    Task<ResumableIngest> OpenResumableAsync(Descriptor expected, CancellationToken ct);
}

/// <summary>Lists and deletes blobs (garbage collection).</summary>
public interface IContentManager
{
    /// <summary>Deletes a blob; deleting an absent blob is not an error.</summary>
    void Delete(Digest digest);

    IEnumerable<Digest> List();
}

public interface IContentStore : IContentProvider, IIngester, IResumableIngester, IContentManager;
