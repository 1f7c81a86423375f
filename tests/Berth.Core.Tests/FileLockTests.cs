using Berth.Core;

namespace Berth.Core.Tests;

public sealed class FileLockTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"berth-core-test-{Guid.NewGuid():N}");

    public FileLockTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    [Fact]
    public void TryAcquire_CreatesTheFile()
    {
        var path = Path.Combine(_root, "berthd.lock");
        using var l = FileLock.TryAcquire(path);
        Assert.NotNull(l);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void TryAcquire_WhileHeld_ReturnsNull_AndSucceedsAfterDispose()
    {
        var path = Path.Combine(_root, "berthd.lock");
        var first = FileLock.TryAcquire(path);
        Assert.NotNull(first);
        try
        {
            // flock(2) locks belong to the open file description, so a second open in this process conflicts too.
            Assert.Null(FileLock.TryAcquire(path));
            Assert.Null(FileLock.TryAcquire(path));
        }
        finally
        {
            first.Dispose();
        }
        using var second = FileLock.TryAcquire(path);
        Assert.NotNull(second);
    }

    [Fact]
    public void TryAcquire_DifferentPaths_AreIndependent()
    {
        using var a = FileLock.TryAcquire(Path.Combine(_root, "a.lock"));
        using var b = FileLock.TryAcquire(Path.Combine(_root, "b.lock"));
        Assert.NotNull(a);
        Assert.NotNull(b);
    }

    [Fact]
    public void TryAcquire_ExistingFileContent_IsKept()
    {
        var path = Path.Combine(_root, "berthd.lock");
        File.WriteAllText(path, "1234");
        using (var l = FileLock.TryAcquire(path))
            Assert.NotNull(l);
        Assert.Equal("1234", File.ReadAllText(path));
    }
}
