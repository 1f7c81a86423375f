using System.Formats.Tar;
using Berth.Cli.Commands;

namespace Berth.Cli.Tests;

/// <summary>`berth cp CONTAINER:SRC DEST`'s extraction: an archive from the daemon must not reach outside DEST.</summary>
public sealed class UntarTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "berth-untar-" + Guid.NewGuid().ToString("N")[..8]);

    public UntarTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MemoryStream Tar(params TarEntry[] entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var e in entries) w.WriteEntry(e);
        ms.Position = 0;
        return ms;
    }

    [Fact]
    public async Task HardLinkToAPlantedSymlinkDoesNotCopyTheFileItPointsAt()
    {
        // A host file the user can read, outside the destination.
        var secret = Path.Combine(_dir, "secret");
        File.WriteAllText(secret, "host-secret");
        var dst = Path.Combine(_dir, "out");
        Directory.CreateDirectory(dst);
        var tar = Tar(
            new PaxTarEntry(TarEntryType.SymbolicLink, "d/f") { LinkName = secret },
            new PaxTarEntry(TarEntryType.HardLink, "d/h") { LinkName = "d/f" });

        try
        {
            await Untar.ExtractAsync(tar, dst, []);
        }
        catch (ExitException)
        {
            // Refusing the archive is fine too; copying the secret is not.
        }

        var h = new FileInfo(Path.Combine(dst, "d", "h"));
        // Either absent, or a link (link(2) of the symlink itself): never a regular file holding the host's content.
        Assert.True(!h.Exists || h.LinkTarget is not null, "the hard link became a copy of the file outside the destination");
    }

    [Fact]
    public async Task HardLinkToARegularFileIsALink()
    {
        var dst = Path.Combine(_dir, "out2");
        Directory.CreateDirectory(dst);
        var data = new MemoryStream("content"u8.ToArray());
        var tar = Tar(
            new PaxTarEntry(TarEntryType.RegularFile, "a") { DataStream = data, Mode = (UnixFileMode)Convert.ToInt32("644", 8) },
            new PaxTarEntry(TarEntryType.HardLink, "b") { LinkName = "a" });
        await Untar.ExtractAsync(tar, dst, []);
        Assert.Equal("content", File.ReadAllText(Path.Combine(dst, "b")));
        File.AppendAllText(Path.Combine(dst, "a"), "+");
        Assert.Equal("content+", File.ReadAllText(Path.Combine(dst, "b"))); // one inode, not a copy
    }

    [Fact]
    public async Task NoEntryIsWrittenThroughAPlantedSymlink()
    {
        var outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(outside);
        var dst = Path.Combine(_dir, "out3");
        Directory.CreateDirectory(dst);
        var tar = Tar(
            new PaxTarEntry(TarEntryType.SymbolicLink, "l") { LinkName = outside },
            new PaxTarEntry(TarEntryType.RegularFile, "l/x") { DataStream = new MemoryStream("x"u8.ToArray()) });
        await Assert.ThrowsAsync<ExitException>(() => Untar.ExtractAsync(tar, dst, []));
        Assert.False(File.Exists(Path.Combine(outside, "x")));
    }
}
