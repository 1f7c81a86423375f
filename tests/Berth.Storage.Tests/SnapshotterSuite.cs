using System.Formats.Tar;
using System.Text;
using Berth.Content;
using Berth.Core;

namespace Berth.Storage.Tests;

/// <summary>The snapshotter contract; every implementation runs it (containerd's SnapshotterSuite).</summary>
public abstract class SnapshotterSuite : IDisposable
{
    private readonly List<string> _mounted = [];

    protected SnapshotterSuite()
    {
        Dir = Path.Combine(Path.GetTempPath(), $"berth-test-snap-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Dir);
        Snapshotter = Create(Path.Combine(Dir, "root"));
    }

    protected abstract string DriverName { get; }

    protected string Dir { get; }

    protected ISnapshotter Snapshotter { get; }

    private ISnapshotter Create(string root) => StorageFactory.Create(DriverName, root);

    public void Dispose()
    {
        foreach (var m in Enumerable.Reverse(_mounted)) MountOps.Unmount(m);
        // Never delete while something is still mounted inside: that would delete through the mount.
        if (File.ReadAllText("/proc/self/mounts").Contains(Dir, StringComparison.Ordinal)) return;
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }

    private string MountAt(IReadOnlyList<Mount> mounts)
    {
        var target = Path.Combine(Dir, $"mnt-{_mounted.Count}");
        Directory.CreateDirectory(target);
        MountOps.MountAll(mounts, target);
        _mounted.Add(target);
        return target;
    }

    // Mount's Options list compares by reference; the contract is about values.
    private static void AssertSameMounts(IReadOnlyList<Mount> expected, IReadOnlyList<Mount> actual) =>
        Assert.Equal(
            expected.Select(m => $"{m.Type} {m.Source} {m.Target} {string.Join(',', m.Options)}"),
            actual.Select(m => $"{m.Type} {m.Source} {m.Target} {string.Join(',', m.Options)}"));

    private void UnmountLast()
    {
        var t = _mounted[^1];
        MountOps.Unmount(t);
        _mounted.RemoveAt(_mounted.Count - 1);
    }

    private static MemoryStream Tar(params (string Name, string? Content)[] entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                var e = content is null
                    ? new PaxTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)0b111_101_101 }
                    : new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0b110_100_100, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };
                w.WriteEntry(e);
            }
        }
        ms.Position = 0;
        return ms;
    }

    /// <summary>The unpack walkthrough of ISnapshotter: prepare, apply, commit.</summary>
    private async Task Unpack(string name, string? parent, MemoryStream tar)
    {
        var key = $"extract-{Guid.NewGuid():N}";
        var mounts = await Snapshotter.PrepareAsync(key, parent, CancellationToken.None);
        var (dir, mode) = ApplyTarget.For(mounts);
        LayerApplier.Apply(tar, dir, mode, CancellationToken.None);
        await Snapshotter.CommitAsync(name, key, CancellationToken.None);
    }

    [Fact]
    public async Task PrepareCommitViewChain()
    {
        await Unpack("sha256:l1", null, Tar(("etc/", null), ("etc/one", "1"), ("bin/", null), ("bin/sh", "sh")));
        var l1 = Snapshotter.Stat("sha256:l1")!;
        Assert.Equal(SnapshotKind.Committed, l1.Kind);
        Assert.Null(l1.Parent);

        await Unpack("sha256:l2", "sha256:l1", Tar(("etc/two", "2")));
        Assert.Equal("sha256:l1", Snapshotter.Stat("sha256:l2")!.Parent);

        // A container: writable on top, sees both layers, writes land in its own layer only.
        var mounts = await Snapshotter.PrepareAsync("ctr", "sha256:l2", CancellationToken.None);
        AssertSameMounts(mounts, Snapshotter.Mounts("ctr"));
        var root = MountAt(mounts);
        Assert.Equal("1", File.ReadAllText(Path.Combine(root, "etc/one")));
        Assert.Equal("2", File.ReadAllText(Path.Combine(root, "etc/two")));
        File.WriteAllText(Path.Combine(root, "etc/three"), "3");
        File.WriteAllText(Path.Combine(root, "etc/one"), "changed");
        UnmountLast();
        Assert.True(Snapshotter.Usage("ctr") > 0);

        // A view of l2 does not see the container's writes and is read-only.
        var view = MountAt(await Snapshotter.ViewAsync("view", "sha256:l2", CancellationToken.None));
        Assert.Equal("1", File.ReadAllText(Path.Combine(view, "etc/one")));
        Assert.False(File.Exists(Path.Combine(view, "etc/three")));
        Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(view, "etc/x"), "x"));
        UnmountLast();

        // Committing the container makes a new layer on the chain.
        await Snapshotter.CommitAsync("sha256:l3", "ctr", CancellationToken.None);
        Assert.Null(Snapshotter.Stat("ctr"));
        var top = MountAt(await Snapshotter.PrepareAsync("ctr2", "sha256:l3", CancellationToken.None));
        Assert.Equal("changed", File.ReadAllText(Path.Combine(top, "etc/one")));
        Assert.Equal("3", File.ReadAllText(Path.Combine(top, "etc/three")));
        UnmountLast();

        Assert.Equal(
            new[] { "ctr2", "sha256:l1", "sha256:l2", "sha256:l3", "view" },
            Snapshotter.List().Select(s => s.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Whiteouts_HideLowerFiles_WhenMounted()
    {
        await Unpack("sha256:base", null, Tar(("gone", "x"), ("d/", null), ("d/old1", "1"), ("d/old2", "2"), ("keep", "k")));
        await Unpack("sha256:del", "sha256:base", Tar((".wh.gone", ""), ("d/", null), ("d/.wh..wh..opq", ""), ("d/new", "n")));

        var root = MountAt(await Snapshotter.PrepareAsync("c", "sha256:del", CancellationToken.None));
        Assert.False(File.Exists(Path.Combine(root, "gone")));
        Assert.True(File.Exists(Path.Combine(root, "keep")));
        Assert.Equal(["new"], Directory.EnumerateFileSystemEntries(Path.Combine(root, "d")).Select(Path.GetFileName));
        UnmountLast();

        // The lower layer itself is unchanged.
        var baseView = MountAt(await Snapshotter.ViewAsync("v", "sha256:base", CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(baseView, "gone")));
        Assert.Equal(2, Directory.EnumerateFileSystemEntries(Path.Combine(baseView, "d")).Count());
        UnmountLast();
    }

    [Fact]
    public async Task Remove_RefusesParentsWithChildren()
    {
        await Unpack("sha256:p", null, Tar(("f", "x")));
        await Snapshotter.PrepareAsync("child", "sha256:p", CancellationToken.None);
        var ex = await Assert.ThrowsAsync<BerthException>(() => Snapshotter.RemoveAsync("sha256:p", CancellationToken.None));
        Assert.Equal(ErrorKind.Conflict, ex.Kind);
        await Snapshotter.RemoveAsync("child", CancellationToken.None);
        await Snapshotter.RemoveAsync("sha256:p", CancellationToken.None);
        Assert.Empty(Snapshotter.List());
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(Dir, "root", "snapshots")));
        var nf = await Assert.ThrowsAsync<BerthException>(() => Snapshotter.RemoveAsync("sha256:p", CancellationToken.None));
        Assert.Equal(ErrorKind.NotFound, nf.Kind);
    }

    [Fact]
    public async Task Errors_DuplicateKey_MissingOrActiveParent()
    {
        await Snapshotter.PrepareAsync("a", null, CancellationToken.None);
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<BerthException>(() => Snapshotter.PrepareAsync("a", null, CancellationToken.None))).Kind);
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<BerthException>(() => Snapshotter.PrepareAsync("b", "nope", CancellationToken.None))).Kind);
        Assert.Equal(ErrorKind.InvalidArgument, (await Assert.ThrowsAsync<BerthException>(() => Snapshotter.PrepareAsync("b", "a", CancellationToken.None))).Kind);
        await Snapshotter.CommitAsync("c", "a", CancellationToken.None);
        Assert.Equal(ErrorKind.InvalidArgument, (await Assert.ThrowsAsync<BerthException>(() => Snapshotter.CommitAsync("d", "c", CancellationToken.None))).Kind);
        await Snapshotter.PrepareAsync("e", "c", CancellationToken.None);
        Assert.Equal(ErrorKind.Conflict, (await Assert.ThrowsAsync<BerthException>(() => Snapshotter.CommitAsync("c", "e", CancellationToken.None))).Kind);
    }

    [Fact]
    public async Task Metadata_SurvivesRestart()
    {
        await Unpack("sha256:r", null, Tar(("f", "persist")));
        await Snapshotter.PrepareAsync("active", "sha256:r", CancellationToken.None);
        var again = Create(Path.Combine(Dir, "root"));
        Assert.Equal(SnapshotKind.Committed, again.Stat("sha256:r")!.Kind);
        AssertSameMounts(Snapshotter.Mounts("active"), again.Mounts("active"));
        var root = MountAt(again.Mounts("active"));
        Assert.Equal("persist", File.ReadAllText(Path.Combine(root, "f")));
        UnmountLast();
    }

    [Fact]
    public void Driver_IsReported() => Assert.Equal(DriverName, Snapshotter.Driver);
}

public sealed class OverlaySnapshotterTests : SnapshotterSuite
{
    protected override string DriverName => "overlay2";

    [Fact]
    public async Task Overlay_MountShapes()
    {
        var first = await Snapshotter.PrepareAsync("k1", null, CancellationToken.None);
        Assert.Equal("bind", Assert.Single(first).Type);
        await Snapshotter.CommitAsync("c1", "k1", CancellationToken.None);
        var second = Assert.Single(await Snapshotter.PrepareAsync("k2", "c1", CancellationToken.None));
        Assert.Equal("overlay", second.Type);
        Assert.Contains(second.Options, o => o.StartsWith("lowerdir=", StringComparison.Ordinal));
        Assert.Contains(second.Options, o => o.StartsWith("upperdir=", StringComparison.Ordinal));
        Assert.Equal(WhiteoutMode.Overlay, ApplyTarget.For([second]).Mode);
        var view = Assert.Single(await Snapshotter.ViewAsync("v", "c1", CancellationToken.None));
        Assert.Equal(["rbind", "ro"], view.Options);
    }
}

public sealed class VfsSnapshotterTests : SnapshotterSuite
{
    protected override string DriverName => "vfs";

    [Fact]
    public async Task Vfs_CopyPreservesMetadata()
    {
        var mounts = await Snapshotter.PrepareAsync("k1", null, CancellationToken.None);
        var (dir, mode) = ApplyTarget.For(mounts);
        Assert.Equal(WhiteoutMode.Delete, mode);
        var f = Path.Combine(dir, "suid");
        File.WriteAllText(f, "x");
        Assert.Equal(0, Berth.Core.Interop.Sys.Lchown(f, 123, 456));
        File.SetUnixFileMode(f, (UnixFileMode)0b100_111_101_101);
        File.CreateSymbolicLink(Path.Combine(dir, "link"), "/nowhere");
        Assert.Equal(0, Berth.Core.Interop.Sys.Mknod(Path.Combine(dir, "fifo"), 0x1000 | 0b110_100_100, 0));
        await Snapshotter.CommitAsync("c1", "k1", CancellationToken.None);

        var (copy, _) = ApplyTarget.For(await Snapshotter.PrepareAsync("k2", "c1", CancellationToken.None));
        var st = Berth.Core.Interop.Fs.LStat(Path.Combine(copy, "suid"))!.Value;
        Assert.Equal(0x8000 | 0b100_111_101_101, st.Mode);
        Assert.Equal((123u, 456u), (st.Uid, st.Gid));
        Assert.Equal("/nowhere", new FileInfo(Path.Combine(copy, "link")).LinkTarget);
        Assert.Equal(0x1000, Berth.Core.Interop.Fs.LStat(Path.Combine(copy, "fifo"))!.Value.Mode & 0xF000);
    }
}

public sealed class StorageFactoryTests
{
    [Fact]
    public void UnknownDriver_IsInvalid()
    {
        var ex = Assert.Throws<BerthException>(() => StorageFactory.Create("zfs", "/tmp/berth-test-never"));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.False(Directory.Exists("/tmp/berth-test-never"));
    }
}
