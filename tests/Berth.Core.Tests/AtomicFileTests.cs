using System.Text;
using Berth.Core;

namespace Berth.Core.Tests;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"berth-core-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    [Fact]
    public void WriteAllBytes_CreatesMissingDirectory_AndLeavesOnlyTheTarget()
    {
        var path = Path.Combine(_root, "a", "b", "record.json");
        AtomicFile.WriteAllBytes(path, "{\"x\":1}"u8);
        Assert.Equal("{\"x\":1}", File.ReadAllText(path));
        Assert.Equal(["record.json"], Directory.GetFileSystemEntries(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteAllText_ReplacesWholeContent_WithShorterContent()
    {
        var path = Path.Combine(_root, "record.json");
        AtomicFile.WriteAllText(path, new string('x', 10_000));
        AtomicFile.WriteAllText(path, "short");
        // A rewrite in place would leave the old tail; a rename over the file cannot.
        Assert.Equal("short", File.ReadAllText(path));
        Assert.Equal(5, new FileInfo(path).Length);
        Assert.Equal(["record.json"], Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteAllBytes_ReplacesInode_SoAnOpenReaderKeepsOldContent()
    {
        var path = Path.Combine(_root, "record.json");
        AtomicFile.WriteAllText(path, "old content");
        using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        AtomicFile.WriteAllText(path, "new");
        using var sr = new StreamReader(reader, Encoding.UTF8);
        Assert.Equal("old content", sr.ReadToEnd());
        Assert.Equal("new", File.ReadAllText(path));
    }

    [Fact]
    public void WriteAllText_EncodesUtf8WithoutBom()
    {
        var path = Path.Combine(_root, "utf8.txt");
        AtomicFile.WriteAllText(path, "é");
        Assert.Equal(new byte[] { 0xC3, 0xA9 }, File.ReadAllBytes(path));
    }

    [Fact]
    public void WriteAllBytes_WhenRenameFails_ThrowsAndLeavesNoTempFile()
    {
        // The target is a directory, so the final rename fails after the temp file was written.
        var target = Path.Combine(_root, "taken");
        Directory.CreateDirectory(Path.Combine(target, "child"));
        Assert.ThrowsAny<IOException>(() => AtomicFile.WriteAllBytes(target, "data"u8));
        Assert.Equal(["taken"], Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
        Assert.Equal(["child"], Directory.GetFileSystemEntries(target).Select(Path.GetFileName));
    }
}
