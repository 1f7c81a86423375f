using Berth.Core;

namespace Berth.Storage.Tests;

public sealed class LocalVolumeStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"berth-test-vol-{Guid.NewGuid():N}");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Create_Get_List_Remove()
    {
        var store = new LocalVolumeStore(Path.Combine(_root, "volumes"));
        var v = store.Create("data", new Dictionary<string, string> { ["a"] = "b" }, null, anonymous: false);
        Assert.Equal("local", v.Driver);
        Assert.Equal("local", v.Scope);
        Assert.Equal(Path.Combine(_root, "volumes", "data", "_data"), v.Mountpoint);
        Assert.True(Directory.Exists(v.Mountpoint));
        Assert.Equal("b", v.Labels["a"]);

        // Same name again: the existing volume, unchanged (Docker).
        var again = store.Create("data", null, null, anonymous: false);
        Assert.Equal(v.CreatedAt, again.CreatedAt);
        Assert.Equal("b", again.Labels["a"]);

        var anon = store.Create(null, null, null, anonymous: true);
        Assert.Matches("^[0-9a-f]{64}$", anon.Name);
        Assert.True(anon.Anonymous);

        File.WriteAllText(Path.Combine(v.Mountpoint, "f"), "12345");
        Assert.Equal(5, store.Size("data"));

        // A new store on the same root loads the records.
        var reloaded = new LocalVolumeStore(Path.Combine(_root, "volumes"));
        Assert.Equal(new[] { anon.Name, "data" }.Order(StringComparer.Ordinal), reloaded.List().Select(x => x.Name));
        Assert.Equal("b", reloaded.Get("data")!.Labels["a"]);

        reloaded.Remove("data");
        Assert.Null(reloaded.Get("data"));
        Assert.False(Directory.Exists(Path.Combine(_root, "volumes", "data")));
        Assert.Equal(ErrorKind.NotFound, Assert.Throws<BerthException>(() => reloaded.Remove("data")).Kind);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("-bad")]
    [InlineData("has/slash")]
    [InlineData("..")]
    [InlineData("sp ace")]
    public void Create_InvalidName(string name)
    {
        var store = new LocalVolumeStore(_root);
        var ex = Assert.Throws<BerthException>(() => store.Create(name, null, null, false));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("includes invalid characters for a local volume name", ex.Message);
    }

    [Fact]
    public void Create_UnknownOption()
    {
        var store = new LocalVolumeStore(_root);
        var ex = Assert.Throws<BerthException>(() => store.Create("v1", null, new Dictionary<string, string> { ["bogus"] = "1" }, false));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
    }

    [Fact]
    public void CopyUp_PopulatesOnlyEmptyVolumes()
    {
        var store = new LocalVolumeStore(Path.Combine(_root, "volumes"));
        var src = Path.Combine(_root, "image-dir");
        Directory.CreateDirectory(Path.Combine(src, "sub"));
        File.WriteAllText(Path.Combine(src, "sub", "f"), "image content");
        File.SetUnixFileMode(src, (UnixFileMode)0b111_000_000);
        var v = store.Create("cu", null, null, false);
        Assert.True(store.CopyUp(src, "cu"));
        Assert.Equal("image content", File.ReadAllText(Path.Combine(v.Mountpoint, "sub", "f")));
        Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode(v.Mountpoint));
        Assert.False(store.CopyUp(src, "cu"));
    }
}
