using Berth.Core;
using Berth.Storage;

namespace Berth.Images.Tests;

public abstract class UnpackTests : IDisposable
{
    private readonly StoreFixture _f;
    private readonly List<string> _mounted = [];

    protected UnpackTests(string driver) => _f = new StoreFixture(driver);

    public void Dispose()
    {
        foreach (var m in _mounted) MountOps.Unmount(m);
        _f.Dispose();
    }

    private async Task<string> RunContainer(string chain)
    {
        var key = $"ctr-{Guid.NewGuid():N}";
        var mounts = await _f.Snapshotter.PrepareAsync(key, chain, CancellationToken.None);
        var target = Path.Combine(_f.Dir, key);
        Directory.CreateDirectory(target);
        MountOps.MountAll(mounts, target);
        _mounted.Add(target);
        return target;
    }

    [Fact]
    public async Task Unpack_Twice_ReusesSnapshots_AndSharesLayersAcrossImages()
    {
        var tar = StoreFixture.Tar(("bin/", null), ("bin/hello", "hi"));
        var a = await _f.Import(tar, "a");
        var top = await _f.Store.UnpackAsync(a, CancellationToken.None);
        Assert.Equal(a.ChainId, top);
        var before = _f.Snapshotter.List();
        Assert.Equal(SnapshotKind.Committed, Assert.Single(before).Kind);
        var created = before[0].Created;

        Assert.Equal(top, await _f.Store.UnpackAsync(a, CancellationToken.None));
        _f.Time.Advance(TimeSpan.FromSeconds(1));
        var b = await _f.Import(StoreFixture.Gzip(tar), "b");
        Assert.Equal(top, await _f.Store.UnpackAsync(b, CancellationToken.None));
        var after = Assert.Single(_f.Snapshotter.List());
        Assert.Equal(created, after.Created);

        var root = await RunContainer(top!);
        Assert.Equal("hi", File.ReadAllText(Path.Combine(root, "bin/hello")));
    }

    [Fact]
    public async Task Unpack_Concurrent_UnpacksOnce()
    {
        var img = await _f.Import(StoreFixture.Tar(("f", "x")));
        var tasks = Enumerable.Range(0, 8).Select(_ => _f.Store.UnpackAsync(img, CancellationToken.None)).ToList();
        var results = await Task.WhenAll(tasks);
        Assert.All(results, r => Assert.Equal(img.ChainId, r));
        var snap = Assert.Single(_f.Snapshotter.List());
        Assert.Equal(img.ChainId, snap.Name);
    }

    [Fact]
    public async Task Delete_RemovesUnsharedSnapshots()
    {
        var img = await _f.Import(StoreFixture.Tar(("f", "x")), "gone");
        await _f.Store.UnpackAsync(img, CancellationToken.None);
        var items = await _f.Store.DeleteAsync("gone", false, false, _ => [], CancellationToken.None);
        Assert.Contains(new ImageDeleteItem("Deleted", img.ChainId!), items);
        Assert.Empty(_f.Snapshotter.List());
    }

    [Fact]
    public async Task MaliciousImport_DotDot_FailsUnpack_HostUntouched()
    {
        var img = await _f.Import(StoreFixture.Tar(("../../../../escape-berth", "pwned")));
        var ex = await Assert.ThrowsAsync<BerthException>(() => _f.Store.UnpackAsync(img, CancellationToken.None));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Empty(_f.Snapshotter.List());
        AssertHostUntouched();
    }

    [Fact]
    public async Task MaliciousImport_SymlinkToRoot_StaysInSnapshot()
    {
        var name = $"berth-escape-{Guid.NewGuid():N}";
        var img = await _f.Import(StoreFixture.Tar(
            ("link", "->/"),
            ($"link/{name}", "pwned"),
            ("up", "->../../../../../.."),
            ($"up{_f.Sentinel}", "overwritten"),
            ($"up/tmp/{name}", "pwned")));
        var top = await _f.Store.UnpackAsync(img, CancellationToken.None);
        try
        {
            Assert.False(File.Exists("/" + name));
            Assert.False(File.Exists("/tmp/" + name));
            AssertHostUntouched();
            var root = await RunContainer(top!);
            Assert.Equal("pwned", File.ReadAllText(Path.Combine(root, name)));
            Assert.Equal("overwritten", File.ReadAllText(root + _f.Sentinel));
        }
        finally
        {
            File.Delete("/" + name);
            File.Delete("/tmp/" + name);
        }
    }

    private void AssertHostUntouched()
    {
        Assert.Equal("untouched", File.ReadAllText(_f.Sentinel));
        Assert.False(File.Exists(Path.Combine(_f.Dir, "escape-berth")));
        Assert.False(File.Exists(Path.Combine(_f.Dir, "a", "escape-berth")));
        Assert.False(File.Exists("/tmp/escape-berth"));
        Assert.False(File.Exists("/escape-berth"));
    }
}

public sealed class OverlayUnpackTests() : UnpackTests("overlay2");

public sealed class VfsUnpackTests() : UnpackTests("vfs");
