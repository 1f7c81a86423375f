using System.Text;
using System.Security.Cryptography;
using Berth.Core.Interop;
using Berth.Core;

namespace Berth.Content.Tests;

public sealed class LayerApplierTests : IDisposable
{
    private readonly Sandbox _box = new();
    private readonly string _hostName = $"berth-escape-{Guid.NewGuid():N}";

    public void Dispose()
    {
        // Only reached if a test failed its safety assertion; remove what escaped so the host stays clean.
        foreach (var p in new[] { "/" + _hostName, "/tmp/" + _hostName })
        {
            try { File.Delete(p); } catch (IOException) { }
        }
        _box.Dispose();
    }

    private LayerStats Apply(TestTar tar, WhiteoutMode mode = WhiteoutMode.Delete, string? root = null) =>
        LayerApplier.Apply(tar.Stream(), root ?? _box.Root, mode, CancellationToken.None);

    private void AssertNoHostEscape()
    {
        _box.AssertHostUntouched();
        Assert.False(File.Exists("/" + _hostName));
        Assert.False(File.Exists("/tmp/" + _hostName));
    }

    [Fact]
    public void Apply_EmptyStream_IsAnEmptyLayer_ButATruncatedTarIsRefused()
    {
        var empty = LayerApplier.Apply(new MemoryStream(), _box.Root, WhiteoutMode.Delete, CancellationToken.None);
        Assert.Equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", empty.DiffId.ToString());

        var whole = new MemoryStream();
        new TestTar().File("f", new string('x', 2000)).Stream().CopyTo(whole);
        var cut = new MemoryStream(whole.ToArray()[..700]);
        var e = Assert.Throws<BerthException>(() => LayerApplier.Apply(cut, _box.Root, WhiteoutMode.Delete, CancellationToken.None));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        var header = new MemoryStream(whole.ToArray()[..100]);
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<BerthException>(() => LayerApplier.Apply(header, _box.Root, WhiteoutMode.Delete, CancellationToken.None)).Kind);
    }

    [Fact]
    public void Extract_ATarThatStopsRightAfterItsLastData_IsWhole_ButOneCutInsideAnEntryIsNot()
    {
        // The docker CLI sends `build -f -` contexts with neither the last block's padding nor the end-of-archive
        // blocks; dockerd reads them. A cut inside the data or inside the next header stays an error.
        var bytes = new TestTar().File("a", "first").File("f", new string('x', 2000)).Build();
        int dataStart = bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(new string('x', 2000))), dataEnd = dataStart + 2000;
        foreach (var end in new[] { dataEnd, dataEnd + 10 })
        {
            var dir = Path.Combine(_box.Root, "ok" + end);
            LayerApplier.Extract(new MemoryStream(bytes[..end]), dir, new ExtractOptions(), CancellationToken.None);
            Assert.Equal(new string('x', 2000), File.ReadAllText(Path.Combine(dir, "f")));
            Assert.Equal("first", File.ReadAllText(Path.Combine(dir, "a")));
        }
        int secondHeader = (bytes.AsSpan().IndexOf("first"u8) / 512 + 1) * 512; // the block after the first file's data
        foreach (var end in new[] { dataEnd - 1, dataStart - 100, secondHeader + 100 })
        {
            var e = Assert.Throws<BerthException>(() =>
                LayerApplier.Extract(new MemoryStream(bytes[..end]), Path.Combine(_box.Root, "cut" + end), new ExtractOptions(), CancellationToken.None));
            Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        }
    }

    [Fact]
    public void Apply_WritesFilesDirsLinksDevicesWithMetadata()
    {
        var tar = new TestTar()
            .Dir("bin/")
            .File("bin/tool", "#!/bin/sh\n", (UnixFileMode)0b100_111_101_101, uid: 1234, gid: 5678) // 04755
            .Symlink("bin/alias", "tool")
            .HardLink("bin/hard", "bin/tool")
            .Fifo("run.fifo")
            .CharDevice("dev/null2", 1, 3)
            .File("deep/implicit/parents.txt", "p");
        var bytes = tar.Build();
        var stats = LayerApplier.Apply(new MemoryStream(bytes), _box.Root, WhiteoutMode.Delete, CancellationToken.None);

        Assert.Equal(Digest.FromHash(SHA256.HashData(bytes)), stats.DiffId);
        Assert.Equal(bytes.Length, stats.TarSize);
        var tool = Path.Combine(_box.Root, "bin/tool");
        var st = Fs.LStat(tool)!.Value;
        Assert.Equal(0x8000 | 0b100_111_101_101, st.Mode);
        Assert.Equal(1234u, st.Uid);
        Assert.Equal(5678u, st.Gid);
        Assert.Equal(TestTar.T0.ToUnixTimeSeconds(), st.Mtime.Sec);
        Assert.Equal(2u, st.Nlink);
        Assert.Equal("tool", new FileInfo(Path.Combine(_box.Root, "bin/alias")).LinkTarget);
        Assert.Equal(Fs.S_IFIFO, Fs.LStat(Path.Combine(_box.Root, "run.fifo"))!.Value.Mode & Fs.S_IFMT);
        var dev = Fs.LStat(Path.Combine(_box.Root, "dev/null2"))!.Value;
        Assert.Equal(Fs.S_IFCHR, dev.Mode & Fs.S_IFMT);
        Assert.Equal((1u, 3u), (dev.RdevMajor, dev.RdevMinor));
        Assert.Equal("p", File.ReadAllText(Path.Combine(_box.Root, "deep/implicit/parents.txt")));
        Assert.Equal(TestTar.T0.ToUnixTimeSeconds(), Fs.LStat(Path.Combine(_box.Root, "bin"))!.Value.Mtime.Sec);
        AssertNoHostEscape();
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("../../../escape")]
    [InlineData("a/../../escape")]
    [InlineData("./../escape")]
    public void Apply_DotDotEscape_IsRejected(string name)
    {
        var ex = Assert.Throws<BerthException>(() => Apply(new TestTar().File(name, "x")));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("escapes", ex.Message);
        AssertNoHostEscape();
    }

    [Fact]
    public void Apply_AbsolutePath_LandsInsideRoot()
    {
        Apply(new TestTar().File("/" + _hostName, "in").File("/../../tmp/" + _hostName, "in2"));
        Assert.Equal("in", File.ReadAllText(Path.Combine(_box.Root, _hostName)));
        Assert.Equal("in2", File.ReadAllText(Path.Combine(_box.Root, "tmp", _hostName)));
        AssertNoHostEscape();
    }

    [Fact]
    public void Apply_SymlinkToSlash_ThenFileUnderIt_StaysInRoot()
    {
        Apply(new TestTar().Symlink("link", "/").File($"link/{_hostName}", "x").File("link/tmp/" + _hostName, "y"));
        Assert.Equal("x", File.ReadAllText(Path.Combine(_box.Root, _hostName)));
        Assert.Equal("y", File.ReadAllText(Path.Combine(_box.Root, "tmp", _hostName)));
        AssertNoHostEscape();
    }

    [Fact]
    public void Apply_SymlinkToDotDots_ThenFileUnderIt_StaysInRoot()
    {
        Apply(new TestTar()
            .Dir("d/")
            .Symlink("d/up", "../../../..")
            .File("d/up/sentinel", "overwritten?")
            .File("d/up/" + _hostName, "z"));
        Assert.Equal("overwritten?", File.ReadAllText(Path.Combine(_box.Root, "sentinel")));
        Assert.Equal("z", File.ReadAllText(Path.Combine(_box.Root, _hostName)));
        AssertNoHostEscape();
    }

    [Fact]
    public void Apply_SymlinkChainAndHostAbsoluteTarget_StayInRoot()
    {
        // A link whose text is the sandbox's real sentinel path must resolve to <root>/<that path>.
        Apply(new TestTar()
            .Symlink("a", "b")
            .Symlink("b", "c/../../..")
            .Dir("c/")
            .File("a/" + _hostName, "chain")
            .Symlink("abs", _box.Parent)
            .File("abs/sentinel", "owned?"));
        Assert.Equal("chain", File.ReadAllText(Path.Combine(_box.Root, _hostName)));
        Assert.Equal("owned?", File.ReadAllText(_box.Root + _box.Parent + "/sentinel"));
        AssertNoHostEscape();
    }

    [Fact]
    public void Apply_ExistingSymlinkAtFinalPath_IsReplacedNotFollowed()
    {
        Apply(new TestTar().Symlink("f", _box.Sentinel).Symlink("g", "../../../sentinel"));
        Apply(new TestTar().File("f", "replaced").File("g", "replaced too"));
        Assert.Equal("replaced", File.ReadAllText(Path.Combine(_box.Root, "f")));
        Assert.Null(new FileInfo(Path.Combine(_box.Root, "f")).LinkTarget);
        Assert.Null(new FileInfo(Path.Combine(_box.Root, "g")).LinkTarget);
        AssertNoHostEscape();
    }

    [Fact]
    public void Apply_HardLinkEscape_IsRejected()
    {
        var ex = Assert.Throws<BerthException>(() => Apply(new TestTar().HardLink("h", "../../../sentinel")));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("escapes", ex.Message);

        // Through a symlink to /: the target resolves inside the root, where no such file exists.
        var ex2 = Assert.Throws<BerthException>(() => Apply(new TestTar().Symlink("s", "/").HardLink("h2", $"s{_box.Sentinel}")));
        Assert.Equal(ErrorKind.InvalidArgument, ex2.Kind);

        // A hard link to a symlink that points outside links the symlink itself, not the host file.
        Apply(new TestTar().Symlink("out", _box.Sentinel).HardLink("h3", "out"));
        Assert.Equal(_box.Sentinel, new FileInfo(Path.Combine(_box.Root, "h3")).LinkTarget);
        AssertNoHostEscape();
        Assert.Equal(1u, Fs.LStat(_box.Sentinel)!.Value.Nlink);
    }

    [Fact]
    public void Apply_DeleteWhiteouts_RemoveAndEmpty()
    {
        Apply(new TestTar().Dir("d/").File("d/f1", "1").File("d/f2", "2").File("g", "g").Dir("keep/").File("keep/x", "x"));
        var stats = Apply(new TestTar()
            .File("d/f3", "3")
            .File("d/.wh..wh..opq", "")
            .File(".wh.g", "")
            .File("keep/.wh.missing", ""));
        Assert.Equal(3, stats.Whiteouts);
        Assert.Equal(["f3"], Directory.EnumerateFileSystemEntries(Path.Combine(_box.Root, "d")).Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(_box.Root, "g")));
        Assert.False(File.Exists(Path.Combine(_box.Root, ".wh.g")));
        Assert.True(File.Exists(Path.Combine(_box.Root, "keep/x")));
        AssertNoHostEscape();
    }

    [Fact]
    public unsafe void Apply_OverlayWhiteouts_WriteDevicesAndOpaqueXattr()
    {
        Apply(new TestTar().Dir("d/").File("d/.wh..wh..opq", "").File("d/new", "n").File(".wh.g", "").File("sub/.wh.gone", ""), WhiteoutMode.Overlay);
        var g = Fs.LStat(Path.Combine(_box.Root, "g"))!.Value;
        Assert.Equal(Fs.S_IFCHR, g.Mode & Fs.S_IFMT);
        Assert.Equal((0u, 0u), (g.RdevMajor, g.RdevMinor));
        Assert.Equal(Fs.S_IFCHR, Fs.LStat(Path.Combine(_box.Root, "sub/gone"))!.Value.Mode & Fs.S_IFMT);
        var buf = stackalloc byte[8];
        var n = Sys.Lgetxattr(Path.Combine(_box.Root, "d"), "trusted.overlay.opaque", buf, 8);
        Assert.Equal(1, n);
        Assert.Equal((byte)'y', buf[0]);
        Assert.Equal("n", File.ReadAllText(Path.Combine(_box.Root, "d/new")));
        AssertNoHostEscape();
    }

    [Fact]
    public unsafe void Apply_OverlayWhiteoutThenDirectory_BecomesOpaque()
    {
        Apply(new TestTar().File(".wh.d", "").Dir("d/").File("d/x", "x"), WhiteoutMode.Overlay);
        Assert.Equal(Fs.S_IFDIR, Fs.LStat(Path.Combine(_box.Root, "d"))!.Value.Mode & Fs.S_IFMT);
        var buf = stackalloc byte[8];
        Assert.Equal(1, Sys.Lgetxattr(Path.Combine(_box.Root, "d"), "trusted.overlay.opaque", buf, 8));
    }

    [Fact]
    public void Apply_WhiteoutThroughSymlink_CannotDeleteOutside()
    {
        Apply(new TestTar().Symlink("l", _box.Parent).File("l/.wh.sentinel", "").Symlink("u", "../../..").File("u/.wh.sentinel", ""));
        AssertNoHostEscape();
    }
}
