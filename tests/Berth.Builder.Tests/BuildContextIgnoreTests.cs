using System.Formats.Tar;

namespace Berth.Builder.Tests;

/// <summary>The build context as the executor sees it: bad tars refused with a clear message, .dockerignore applied.</summary>
public sealed class BuildContextIgnoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "berth-bctx-" + Guid.NewGuid().ToString("N")[..8]);

    public BuildContextIgnoreTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MemoryStream Tar(params (string Name, string Content)[] files)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in files)
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)) });
        }
        ms.Position = 0;
        return ms;
    }

    [Fact]
    public void GarbageIsRefusedAsNotATar()
    {
        var body = new MemoryStream(Enumerable.Repeat((byte)'g', 4096).ToArray());
        var e = Assert.Throws<BuildFailedException>(() => BuildContext.Extract(body, Path.Combine(_dir, "ctx"), CancellationToken.None));
        Assert.StartsWith("invalid build context: not a valid tar archive", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "ctx")));
    }

    [Fact]
    public void DotDotEntryFailsAndWritesNothingOutside()
    {
        var ctx = Path.Combine(_dir, "sub", "ctx");
        var e = Assert.Throws<BuildFailedException>(() =>
            BuildContext.Extract(Tar(("Dockerfile", "FROM busybox\n"), ("../evil", "EVIL")), ctx, CancellationToken.None));
        Assert.Contains("../evil", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "sub", "evil")));
        Assert.False(Directory.Exists(ctx));
    }

    [Fact]
    public void IgnoreRulesFollowDockers()
    {
        var ctx = Path.Combine(_dir, "ctx");
        using var c = BuildContext.Extract(Tar(
            ("Dockerfile", "FROM busybox\n"), ("a.log", "a"), ("keep.log", "k"), ("logs/sub/x.log", "x"), ("logs/t.txt", "t"),
            ("dir/f", "f"), ("#hash", "h"), ("secret", "s")), ctx, CancellationToken.None);
        var ignore = DockerIgnore.Parse("# comment\n**/*.log\n!keep.log\ndir/\nsecret\nDockerfile\n");
        c.ApplyIgnore(ignore, new HashSet<string> { "Dockerfile" });
        var left = Directory.EnumerateFiles(ctx, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(ctx, p)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["#hash", "Dockerfile", "keep.log", "logs/t.txt"], left);
        Assert.False(Directory.Exists(Path.Combine(ctx, "dir")));
    }
}
