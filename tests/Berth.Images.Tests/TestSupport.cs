using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Berth.Content;
using Berth.Storage;

namespace Berth.Images.Tests;

internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>An ImageStore over a real content store and snapshotter in /tmp/berth-test-*; removes everything on dispose.</summary>
internal sealed class StoreFixture : IDisposable
{
    public StoreFixture(string driver = "overlay2")
    {
        Dir = Path.Combine(Path.GetTempPath(), $"berth-test-img-{Guid.NewGuid():N}");
        DataRoot = Path.Combine(Dir, "a", "b", "data");
        Directory.CreateDirectory(DataRoot);
        Sentinel = Path.Combine(Dir, "sentinel");
        File.WriteAllText(Sentinel, "untouched");
        Driver = driver;
        Time = new ManualTime(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Reopen();
    }

    public string Dir { get; }
    public string DataRoot { get; }
    public string Sentinel { get; }
    public string Driver { get; }
    public ManualTime Time { get; }
    public FileContentStore Content { get; private set; } = null!;
    public ISnapshotter Snapshotter { get; private set; } = null!;
    public ImageStore Store { get; private set; } = null!;

    /// <summary>A fresh set of objects over the same data root: what a restarted daemon sees.</summary>
    public void Reopen()
    {
        Content = new FileContentStore(Path.Combine(DataRoot, "content"));
        Snapshotter = StorageFactory.Create(Driver, Path.Combine(DataRoot, "snapshots"));
        Store = new ImageStore(Path.Combine(DataRoot, "images"), Content, Snapshotter, Time);
    }

    public void Dispose()
    {
        if (File.ReadAllText("/proc/self/mounts").Contains(Dir, StringComparison.Ordinal)) return;
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }

    public static byte[] Tar(params (string Name, string? Content)[] entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                TarEntry e = content switch
                {
                    null => new PaxTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)0b111_101_101 },
                    _ when content.StartsWith("->", StringComparison.Ordinal) => new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = content[2..] },
                    _ => new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0b111_101_101, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) },
                };
                w.WriteEntry(e);
            }
        }
        return ms.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(data);
        return ms.ToArray();
    }

    public Task<ImageRecord> Import(byte[] tar, string? tag = null, params string[] changes) =>
        Store.ImportAsync(new MemoryStream(tar), new ImportOptions { Tag = tag, Changes = changes }, CancellationToken.None);
}
