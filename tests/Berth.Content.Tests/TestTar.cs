using System.Formats.Tar;
using System.Text;

namespace Berth.Content.Tests;

/// <summary>Builds crafted layer tars in memory.</summary>
internal sealed class TestTar
{
    private readonly MemoryStream _ms = new();
    private readonly TarWriter _w;

    public TestTar() => _w = new TarWriter(_ms, TarEntryFormat.Pax, leaveOpen: true);

    public TestTar Dir(string name, UnixFileMode mode = (UnixFileMode)0b111_101_101)
    {
        _w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode, ModificationTime = T0 });
        return this;
    }

    public TestTar File(string name, string content, UnixFileMode mode = (UnixFileMode)0b110_100_100, int uid = 0, int gid = 0)
    {
        var e = new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Mode = mode, Uid = uid, Gid = gid, ModificationTime = T0,
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
        };
        _w.WriteEntry(e);
        return this;
    }

    public TestTar Symlink(string name, string target)
    {
        _w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, ModificationTime = T0, Mode = (UnixFileMode)0b111_111_111 });
        return this;
    }

    public TestTar HardLink(string name, string target)
    {
        _w.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target, ModificationTime = T0 });
        return this;
    }

    public TestTar Fifo(string name)
    {
        _w.WriteEntry(new PaxTarEntry(TarEntryType.Fifo, name) { Mode = (UnixFileMode)0b110_100_100, ModificationTime = T0 });
        return this;
    }

    public TestTar CharDevice(string name, int major, int minor)
    {
        _w.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, name) { Mode = (UnixFileMode)0b110_110_110, DeviceMajor = major, DeviceMinor = minor, ModificationTime = T0 });
        return this;
    }

    public static readonly DateTimeOffset T0 = new(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public byte[] Build()
    {
        _w.Dispose();
        return _ms.ToArray();
    }

    public MemoryStream Stream() => new(Build());
}

/// <summary>A temp dir <c>/tmp/berth-test-*</c> holding a sentinel file next to the extraction root.</summary>
internal sealed class Sandbox : IDisposable
{
    public Sandbox()
    {
        Parent = Path.Combine(Path.GetTempPath(), $"berth-test-{Guid.NewGuid():N}");
        Root = Path.Combine(Parent, "a", "b", "root");
        Directory.CreateDirectory(Root);
        Sentinel = Path.Combine(Parent, "sentinel");
        System.IO.File.WriteAllText(Sentinel, "untouched");
    }

    public string Parent { get; }
    public string Root { get; }
    public string Sentinel { get; }

    /// <summary>Everything under Parent that is not under Root (never descending into Root or through symlinks).</summary>
    public IReadOnlyList<string> OutsideRoot()
    {
        var found = new List<string>();
        var pending = new Stack<string>();
        pending.Push(Parent);
        for (int guard = 0; pending.Count > 0 && guard < 10_000; guard++)
        {
            foreach (var p in Directory.EnumerateFileSystemEntries(pending.Pop()))
            {
                if (p == Root) continue;
                found.Add(p);
                var fi = new FileInfo(p);
                if (fi.LinkTarget is null && fi.Attributes.HasFlag(FileAttributes.Directory)) pending.Push(p);
            }
        }
        return found.Order(StringComparer.Ordinal).ToList();
    }

    public void AssertHostUntouched()
    {
        Assert.Equal("untouched", System.IO.File.ReadAllText(Sentinel));
        Assert.Equal(
            new[] { Path.Combine(Parent, "a"), Path.Combine(Parent, "a", "b"), Sentinel }.Order(StringComparer.Ordinal),
            OutsideRoot());
    }

    public void Dispose()
    {
        try { Directory.Delete(Parent, recursive: true); } catch (IOException) { }
    }
}
