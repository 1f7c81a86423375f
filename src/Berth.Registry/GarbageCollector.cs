using Berth.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.Registry;

/// <summary>How a collection runs.</summary>
public sealed record GcOptions
{
    /// <summary>Blobs, links and untagged manifests younger than this are kept: the window a push in flight needs.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromHours(1);
    public bool DeleteUntagged { get; init; }
    public bool DryRun { get; init; }
}

/// <summary>What a collection removed (or, dry, would remove).</summary>
internal sealed record GcReport(IReadOnlyList<string> Manifests, int Links, IReadOnlyList<(Digest Digest, long Size)> Blobs, IReadOnlyList<string> StrayFiles)
{
    public long Bytes => Blobs.Sum(b => b.Size);
}

/// <summary>
/// Online garbage collection (README: "Online garbage collection"). The metadata sweep is one transaction; blob files of
/// the rows it removed are then moved aside, re-checked against the metadata (a push may have brought the digest back
/// meanwhile: pushes commit their row before they place their file) and deleted or put back. Runs in the registry
/// (<see cref="GcService"/>) or beside it (<c>berth-registry gc</c>): the database and renames are the only coordination.
/// </summary>
internal sealed class GarbageCollector(BlobStore blobs, MetadataStore metadata, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private string TrashDir => Path.Combine(blobs.Root, "trash");

    public GcReport Collect(GcOptions options)
    {
        Directory.CreateDirectory(TrashDir);
        if (!options.DryRun) RecoverTrash();
        var cutoff = _time.GetUtcNow() - options.Grace;
        var sweep = metadata.Sweep(cutoff, options.DeleteUntagged, options.DryRun);
        if (!options.DryRun)
            foreach (var (digest, _) in sweep.Blobs) RemoveFile(digest);

        // Files no row names (a crash between a rename and its row): old ones go too.
        var known = metadata.KnownDigests();
        var stray = new List<string>();
        if (Directory.Exists(blobs.BlobsDir))
        {
            foreach (var file in Directory.EnumerateFiles(blobs.BlobsDir, "*", SearchOption.AllDirectories))
            {
                var hex = Path.GetFileName(file);
                if (!Digest.TryParse($"{Digest.Sha256}:{hex}", out var d) || known.Contains(d.ToString())) continue;
                if (sweep.Blobs.Any(b => b.Digest == d)) continue;
                if (File.GetLastWriteTimeUtc(file) >= cutoff.UtcDateTime) continue;
                stray.Add(d.ToString());
                if (!options.DryRun) RemoveFile(d);
            }
        }
        return new GcReport(sweep.Manifests, sweep.Links, sweep.Blobs, stray);
    }

    /// <summary>Moves the file aside, then deletes it unless the digest has a row again, in which case it goes back.</summary>
    private void RemoveFile(Digest digest)
    {
        var path = blobs.BlobPath(digest);
        var aside = Path.Combine(TrashDir, $"{digest.Hex}.{Guid.NewGuid():N}");
        try { File.Move(path, aside); }
        catch (FileNotFoundException) { return; }
        catch (DirectoryNotFoundException) { return; }
        Restore(digest, aside);
    }

    private void Restore(Digest digest, string aside)
    {
        var path = blobs.BlobPath(digest);
        if (metadata.BlobRowExists(digest) && !File.Exists(path))
        {
            try { File.Move(aside, path); return; }
            catch (IOException) { } // someone placed it meanwhile
        }
        File.Delete(aside);
    }

    /// <summary>Files a crashed collection left aside: back if their digest is live, else gone.</summary>
    private void RecoverTrash()
    {
        foreach (var file in Directory.EnumerateFiles(TrashDir))
        {
            var name = Path.GetFileName(file);
            var dot = name.IndexOf('.');
            if (dot > 0 && Digest.TryParse($"{Digest.Sha256}:{name[..dot]}", out var d)) Restore(d, file);
            else File.Delete(file);
        }
    }
}

/// <summary>The periodic in-process collector: every <see cref="RegistryOptions.GcInterval"/>, while the registry serves.</summary>
internal sealed class GcService(RegistryService registry, ILogger<GcService> log, TimeProvider? time = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (registry.Options.GcInterval is not { } interval || interval <= TimeSpan.Zero) return;
        var gc = new GarbageCollector(registry.Blobs, registry.Metadata, time);
        using var timer = new PeriodicTimer(interval, time ?? TimeProvider.System);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var r = gc.Collect(registry.Options.Gc);
                    if (r.Manifests.Count + r.Blobs.Count + r.StrayFiles.Count > 0)
                        RegistryLog.Collected(log, r.Manifests.Count, r.Links, r.Blobs.Count, r.Bytes);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
                {
                    RegistryLog.GcFailed(log, e);
                }
            }
        }
        catch (OperationCanceledException) { }
    }
}
