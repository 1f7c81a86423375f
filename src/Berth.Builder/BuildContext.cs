using System.Collections.Concurrent;
using Berth.Content;

namespace Berth.Builder;

/// <summary>
/// The build context unpacked into a private directory: the request's tar (plain or gzip), confined like a layer
/// (an entry that climbs out with <c>..</c> fails the build), minus what <c>.dockerignore</c> leaves out.
/// </summary>
public sealed class BuildContext : IDisposable
{
    private readonly Action? _release;
    private int _disposed;

    private BuildContext(string dir, Action? release = null, ConcurrentDictionary<string, string>? checksums = null) =>
        (Dir, _release, Checksums) = (dir, release, checksums ?? new(StringComparer.Ordinal));

    public string Dir { get; }

    /// <summary>The bytes of file content it unpacked to (0 for a borrowed context).</summary>
    public long Size { get; private set; }

    /// <summary>
    /// Checksums of the context's files and directories already computed (by path as a COPY names it): a context
    /// never changes once unpacked, so every build that uses it may reuse them.
    /// </summary>
    public ConcurrentDictionary<string, string> Checksums { get; }

    /// <summary>
    /// A context that someone else owns (<see cref="ContextCache"/>): disposing calls <paramref name="release"/> and
    /// deletes nothing; <paramref name="checksums"/> is shared by every build that borrows it.
    /// </summary>
    public static BuildContext Borrow(string dir, Action release, ConcurrentDictionary<string, string> checksums) => new(dir, release, checksums);

    public static BuildContext Extract(Stream tarOrGzip, string dir, CancellationToken ct)
    {
        Directory.CreateDirectory(dir);
        var ctx = new BuildContext(dir);
        try
        {
            using var tar = Compression.Decompress(tarOrGzip, leaveOpen: true);
            ctx.Size = LayerApplier.Extract(tar, dir, new ExtractOptions { Whiteouts = false }, ct).ContentBytes;
            return ctx;
        }
        catch (Exception e) when (e is Core.BerthException)
        {
            ctx.Dispose();
            throw new BuildFailedException($"invalid build context: {e.Message}");
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            // The tar reader's own words ("Unable to parse number.") say little: name what is wrong.
            ctx.Dispose();
            throw new BuildFailedException($"invalid build context: not a valid tar archive (plain or gzip): {e.Message}");
        }
        catch
        {
            ctx.Dispose();
            throw;
        }
    }

    /// <summary>Reads a file of the context (the Dockerfile); null when it does not exist. Never leaves the context.</summary>
    public string? ReadText(string relative)
    {
        var path = RootPath.Resolve(Dir, RootPath.Clean("/" + relative));
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    /// <summary>Removes what <paramref name="ignore"/> excludes, keeping the files named in <paramref name="keep"/>.</summary>
    public void ApplyIgnore(DockerIgnore ignore, IReadOnlySet<string> keep)
    {
        if (ignore.IsEmpty) return;
        Walk("");

        void Walk(string rel)
        {
            foreach (var entry in new DirectoryInfo(Path.Combine(Dir, rel)).EnumerateFileSystemInfos())
            {
                var r = rel.Length == 0 ? entry.Name : rel + "/" + entry.Name;
                bool isDir = entry is DirectoryInfo && entry.LinkTarget is null;
                if (keep.Contains(r)) continue;
                if (ignore.Excludes(r))
                {
                    // An exception rule may keep something below an excluded directory: look inside first.
                    if (isDir && ignore.HasExceptions)
                    {
                        Walk(r);
                        if (!Directory.EnumerateFileSystemEntries(entry.FullName).Any()) Directory.Delete(entry.FullName);
                    }
                    else if (isDir) Directory.Delete(entry.FullName, recursive: true);
                    else entry.Delete();
                }
                else if (isDir) Walk(r);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_release is not null)
        {
            _release();
            return;
        }
        try { if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
