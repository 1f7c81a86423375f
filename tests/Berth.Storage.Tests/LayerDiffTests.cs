using System.Formats.Tar;
using Berth.Content;
using Berth.Core;
using Berth.Core.Interop;
using Berth.Storage.Diff;

namespace Berth.Storage.Tests;

/// <summary>The writable-layer diff behind docker diff, docker commit and the builder, for both driver shapes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LayerDiffTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"berth-test-diff-{Guid.NewGuid():N}");

    public LayerDiffTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string Make(string name, params (string Path, string? Content)[] entries)
    {
        var root = Path.Combine(_dir, name);
        Directory.CreateDirectory(root);
        foreach (var (p, c) in entries)
        {
            var full = Path.Combine(root, p.TrimEnd('/'));
            if (c is null) Directory.CreateDirectory(full);
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                File.WriteAllText(full, c);
            }
        }
        return root;
    }

    private static string Lines(IEnumerable<LayerChange> changes) => string.Join("\n", changes.Select(c => $"{c.Letter} {c.Path}"));

    private static void Whiteout(string path) => Sys.CheckIo(Sys.Mknod(path, (uint)Fs.S_IFCHR, 0), $"mknod {path}");

    private static List<(string Name, TarEntryType Type)> Entries(byte[] tar)
    {
        var list = new List<(string, TarEntryType)>();
        using var r = new TarReader(new MemoryStream(tar));
        while (r.GetNextEntry() is { } e) list.Add((e.Name, e.EntryType));
        return list;
    }

    [Fact]
    public void VfsTreesReportAddedModifiedDeletedWithParentDirectories()
    {
        var parent = Make("parent", ("etc/", null), ("etc/passwd", "root\n"), ("etc/group", "g\n"), ("keep", "k"), ("old/", null), ("old/f", "x"), ("a/b/", null));
        var child = Path.Combine(_dir, "child");
        Directory.CreateDirectory(child);
        FsOps.CopyTree(parent, child);
        File.AppendAllText(Path.Combine(child, "etc/passwd"), "more\n");
        File.Delete(Path.Combine(child, "etc/group"));
        Directory.Delete(Path.Combine(child, "old"), recursive: true);
        File.WriteAllText(Path.Combine(child, "a/b/new"), "n");
        File.WriteAllText(Path.Combine(child, "added"), "a");

        var diff = LayerDiff.OfTrees(child, parent);
        Assert.Equal("C /a\nC /a/b\nA /a/b/new\nA /added\nC /etc\nD /etc/group\nC /etc/passwd\nD /old", Lines(diff.Changes()));
    }

    [Fact]
    public async Task NoChangeIsStillATar_DockersEmptyLayer()
    {
        var tree = Make("unchanged", ("d/", null), ("d/f", "x"));
        var copy = Path.Combine(_dir, "unchanged-copy");
        Directory.CreateDirectory(copy);
        FsOps.CopyTree(tree, copy);
        var diff = LayerDiff.OfTrees(copy, tree);
        Assert.Empty(diff.Changes());
        var tar = new MemoryStream();
        await diff.WriteTarAsync(tar);
        Assert.Equal(1024, tar.Length);
        Assert.Equal("5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(tar.ToArray())));
    }

    [Fact]
    public void VfsWithoutParentIsAllAdded()
    {
        var tree = Make("only", ("d/", null), ("d/f", "x"));
        Assert.Equal("A /d\nA /d/f", Lines(LayerDiff.OfTrees(tree, null).Changes()));
    }

    [Fact]
    public async Task OverlayUpperBecomesChangesAndAnOciLayer()
    {
        var lower = Make("lower", ("etc/", null), ("etc/passwd", "root\n"), ("etc/group", "g\n"), ("var/", null), ("var/cache/", null), ("var/cache/old", "o"), ("same/", null), ("same/x", "x"));
        var upper = Make("upper", ("etc/", null), ("etc/passwd", "root\nmore\n"), ("var/", null), ("var/cache/", null), ("var/cache/fresh", "f"), ("new", "n"));
        Whiteout(Path.Combine(upper, "etc/group"));
        Fs.SetXattr(Path.Combine(upper, "var/cache"), "trusted.overlay.opaque", "y"u8);
        // /var was copied up unchanged (same metadata as the lower one): not a change by itself.
        FsOps.CopyMetadata(Path.Combine(lower, "var"), Path.Combine(upper, "var"));

        var diff = LayerDiff.OfOverlay(upper, [lower]);
        Assert.Equal("C /etc\nD /etc/group\nC /etc/passwd\nA /new\nC /var\nD /var/cache\nA /var/cache/fresh", Lines(diff.Changes()));

        var ms = new MemoryStream();
        await diff.WriteTarAsync(ms);
        var entries = Entries(ms.ToArray());
        Assert.Contains(("etc/.wh.group", TarEntryType.RegularFile), entries);
        Assert.Contains(("var/cache/", TarEntryType.Directory), entries);
        Assert.Contains(("var/cache/.wh..wh..opq", TarEntryType.RegularFile), entries);
        Assert.DoesNotContain(entries, e => e.Name.Contains("old"));

        // Applied on a copy of the lower layer, the tar reproduces the merged view.
        var applied = Path.Combine(_dir, "applied");
        Directory.CreateDirectory(applied);
        FsOps.CopyTree(lower, applied);
        ms.Position = 0;
        LayerApplier.Apply(ms, applied, WhiteoutMode.Delete, CancellationToken.None);
        Assert.Equal("root\nmore\n", File.ReadAllText(Path.Combine(applied, "etc/passwd")));
        Assert.False(File.Exists(Path.Combine(applied, "etc/group")));
        Assert.False(File.Exists(Path.Combine(applied, "var/cache/old")));
        Assert.Equal("f", File.ReadAllText(Path.Combine(applied, "var/cache/fresh")));
        Assert.Equal("x", File.ReadAllText(Path.Combine(applied, "same/x")));
    }

    [Fact]
    public void IgnoredMountPointsAndTheirDirectoryAreNotChanges()
    {
        var lower = Make("lower2", ("etc/", null), ("etc/passwd", "root\n"));
        var upper = Make("upper2", ("etc/", null), ("etc/hosts", ""), ("proc/", null));
        var ignore = new HashSet<string>(["/etc/hosts", "/proc"], StringComparer.Ordinal);
        Assert.Equal("", Lines(LayerDiff.OfOverlay(upper, [lower], ignore).Changes()));
        File.WriteAllText(Path.Combine(upper, "etc/added"), "a");
        Assert.Equal("C /etc\nA /etc/added", Lines(LayerDiff.OfOverlay(upper, [lower], ignore).Changes()));
    }

    [Fact]
    public async Task TarKeepsModesLinksAndHardLinks()
    {
        var tree = Make("modes", ("bin/", null), ("bin/tool", "#!"));
        File.SetUnixFileMode(Path.Combine(tree, "bin/tool"), (UnixFileMode)Convert.ToInt32("4755", 8));
        File.CreateSymbolicLink(Path.Combine(tree, "bin/alias"), "tool");
        Fs.Link(Path.Combine(tree, "bin/tool"), Path.Combine(tree, "bin/hard"));
        var ms = new MemoryStream();
        await using (var w = new FsTarWriter(ms))
            await w.WriteTreeAsync([], p => tree + (p.Count == 0 ? "" : "/" + string.Join('/', p)), p => string.Join('/', p), null, default, includeStart: false);
        ms.Position = 0;
        using var r = new TarReader(ms);
        var byName = new Dictionary<string, TarEntry>();
        while (r.GetNextEntry(copyData: true) is { } e) byName[e.Name] = e;
        Assert.Equal(["bin/", "bin/alias", "bin/hard", "bin/tool"], byName.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(TarEntryType.SymbolicLink, byName["bin/alias"].EntryType);
        Assert.Equal("tool", byName["bin/alias"].LinkName);
        // The first name of the inode carries the content, the second links to it.
        Assert.Equal(TarEntryType.RegularFile, byName["bin/hard"].EntryType);
        Assert.Equal(TarEntryType.HardLink, byName["bin/tool"].EntryType);
        Assert.Equal("bin/hard", byName["bin/tool"].LinkName);
        Assert.Equal(Convert.ToInt32("4755", 8), (int)byName["bin/hard"].Mode);
    }
}
