using System.Diagnostics;
using System.Formats.Tar;
using Berth.Core.Interop;
using Berth.Storage.Diff;

namespace Berth.Storage.Tests;

/// <summary>
/// The tar writer reads trees others may change meanwhile (a container's writable layer): what it stat'ed for a
/// header must be what it reads, never a file a swapped-in link or FIFO leads to.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FsTarWriterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"berth-test-tarw-{Guid.NewGuid():N}");

    public FsTarWriterTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static List<(string Name, string? Content)> Entries(MemoryStream ms)
    {
        ms.Position = 0;
        var list = new List<(string, string?)>();
        using var r = new TarReader(ms);
        while (r.GetNextEntry() is { } e)
            list.Add((e.Name, e.DataStream is { } d ? new StreamReader(d).ReadToEnd() : null));
        return list;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ADirectorySwappedForALinkAfterTheStatIsNotReadThrough(bool beneath)
    {
        var tree = Path.Combine(_dir, "tree");
        var outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(Path.Combine(tree, "d"));
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(tree, "d", "f"), "inside-inside-inside");
        File.WriteAllText(Path.Combine(outside, "f"), "SECRET");
        var st = Fs.LStat(Path.Combine(tree, "d", "f"))!.Value;
        // The race, made deterministic: between the stat and the read, d becomes a link to elsewhere.
        Directory.Delete(Path.Combine(tree, "d"), recursive: true);
        File.CreateSymbolicLink(Path.Combine(tree, "d"), outside);

        var ms = new MemoryStream();
        await using (var tar = new FsTarWriter(ms, leaveOpen: true, beneath: beneath ? tree : null))
            await tar.WriteEntryAsync(Path.Combine(tree, "d", "f"), "d/f", st, CancellationToken.None);

        Assert.DoesNotContain(Entries(ms), e => e.Content?.Contains("SECRET") == true);
    }

    [Fact]
    public async Task AFileSwappedForALinkOrAFifoIsSkippedWithoutBlocking()
    {
        var tree = Path.Combine(_dir, "tree2");
        Directory.CreateDirectory(tree);
        var secret = Path.Combine(_dir, "secret");
        File.WriteAllText(secret, "SECRET");
        var f = Path.Combine(tree, "f");
        var g = Path.Combine(tree, "g");
        File.WriteAllText(f, "inside-inside-inside");
        File.WriteAllText(g, "inside-inside-inside");
        var stF = Fs.LStat(f)!.Value;
        var stG = Fs.LStat(g)!.Value;
        File.Delete(f);
        File.CreateSymbolicLink(f, secret);
        File.Delete(g);
        using (var mk = Process.Start("mkfifo", [g])) mk.WaitForExit();

        var ms = new MemoryStream();
        var write = Task.Run(async () =>
        {
            await using var tar = new FsTarWriter(ms, leaveOpen: true);
            await tar.WriteEntryAsync(f, "f", stF, CancellationToken.None);
            await tar.WriteEntryAsync(g, "g", stG, CancellationToken.None);
        });
        // A FIFO opened for reading would wait for a writer forever.
        await write.WaitAsync(TimeSpan.FromSeconds(20));
        var entries = Entries(ms);
        Assert.DoesNotContain(entries, e => e.Content?.Contains("SECRET") == true);
        Assert.Empty(entries);
    }

    [Fact]
    public async Task UnchangedFilesAreWrittenWithTheirContent()
    {
        var tree = Path.Combine(_dir, "tree3");
        Directory.CreateDirectory(Path.Combine(tree, "d"));
        File.WriteAllText(Path.Combine(tree, "d", "f"), "hello");
        var ms = new MemoryStream();
        await using (var tar = new FsTarWriter(ms, leaveOpen: true, beneath: tree))
            await tar.WriteTreeAsync([], p => p.Count == 0 ? tree : tree + "/" + string.Join('/', p), p => string.Join('/', p), null, CancellationToken.None, includeStart: false);
        Assert.Equal([("d/", null), ("d/f", "hello")], Entries(ms));

        var sync = new MemoryStream();
        using (var tar = new FsTarWriter(sync, leaveOpen: true))
            tar.WriteTree([], p => p.Count == 0 ? tree : tree + "/" + string.Join('/', p), p => string.Join('/', p), null, CancellationToken.None, includeStart: false);
        Assert.Equal([("d/", null), ("d/f", "hello")], Entries(sync));
    }
}
