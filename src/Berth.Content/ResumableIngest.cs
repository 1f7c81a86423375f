using System.Security.Cryptography;
using Berth.Core;

namespace Berth.Content;

/// <summary>
/// One blob being written, possibly over several attempts. Bytes are appended and hashed as they come; the blob enters
/// the store only through <see cref="CommitAsync"/>, after its size and digest check. Disposing without committing
/// keeps the partial file for the next attempt; <see cref="Reset"/> starts over (a server that ignored a Range).
/// </summary>
public sealed class ResumableIngest : IAsyncDisposable
{
    private readonly FileStream _file;
    private readonly Action<string> _commit;
    private readonly Action _release;
    private IncrementalHash _hash;
    private bool _done;

    private ResumableIngest(Descriptor expected, FileStream file, IncrementalHash hash, Action<string> commit, Action release)
    {
        _release = release;
        Expected = expected;
        _file = file;
        _hash = hash;
        _commit = commit;
        Offset = file.Length;
    }

    public Descriptor Expected { get; }

    /// <summary>Bytes written so far, by this attempt and earlier ones.</summary>
    public long Offset { get; private set; }

    /// <summary>
    /// Opens (creating or continuing) the partial file at <paramref name="path"/>. The bytes already there are hashed
    /// once; a partial longer than the expected size cannot be right and is discarded.
    /// </summary>
    internal static async Task<ResumableIngest> OpenAsync(string path, Descriptor expected, Action<string> commit, Action release, CancellationToken ct)
    {
        FileStream file;
        try
        {
            // FileShare.None takes an exclusive flock, so two writers (threads or processes) never share a partial.
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        }
        catch (IOException e) when (File.Exists(path))
        {
            throw new BerthException(ErrorKind.Conflict, $"blob {expected.Digest} is already being written", e);
        }
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            if (expected.Size >= 0 && file.Length > expected.Size) file.SetLength(0);
            var buf = new byte[1 << 16];
            int n;
            file.Position = 0;
            while ((n = await file.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
                hash.AppendData(buf, 0, n);
            return new ResumableIngest(expected, file, hash, commit, release);
        }
        catch
        {
            hash.Dispose();
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        if (Expected.Size >= 0 && Offset + data.Length > Expected.Size)
            throw BerthException.Invalid($"blob {Expected.Digest}: more data than its size {Expected.Size}");
        _hash.AppendData(data.Span);
        await _file.WriteAsync(data, ct).ConfigureAwait(false);
        Offset += data.Length;
    }

    /// <summary>Drops what was written so far.</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        _file.SetLength(0);
        _file.Position = 0;
        _hash.Dispose();
        _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Offset = 0;
    }

    /// <summary>
    /// Checks size and digest and moves the blob into the store. On a mismatch the partial is discarded (the next
    /// attempt starts from zero) and InvalidArgument is thrown: a wrong blob never enters the store.
    /// </summary>
    public async Task<Descriptor> CommitAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        await _file.FlushAsync(ct).ConfigureAwait(false);
        _file.Flush(flushToDisk: true);
        var actual = Digest.FromHash(_hash.GetHashAndReset());
        var path = _file.Name;
        bool ok = actual == Expected.Digest && (Expected.Size < 0 || Offset == Expected.Size);
        if (!ok)
        {
            File.Delete(path);
            await CloseAsync().ConfigureAwait(false);
            throw BerthException.Invalid(actual != Expected.Digest
                ? $"blob {Expected.Digest}: digest mismatch, got {actual}"
                : $"blob {Expected.Digest}: size mismatch, expected {Expected.Size} bytes, got {Offset}");
        }
        try { _commit(path); }
        finally { await CloseAsync().ConfigureAwait(false); }
        return Expected with { Size = Offset };
    }

    private async ValueTask CloseAsync()
    {
        if (_done) return;
        _done = true;
        _hash.Dispose();
        try { await _file.DisposeAsync().ConfigureAwait(false); }
        finally { _release(); }
    }

    public ValueTask DisposeAsync() => CloseAsync();
}
