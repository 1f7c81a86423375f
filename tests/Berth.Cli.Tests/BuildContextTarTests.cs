using System.Formats.Tar;
using Berth.Cli.Commands;

namespace Berth.Cli.Tests;

/// <summary>`berth build DIR`'s context tar: .dockerignore rules, symlinks kept as links, -f inside and outside.</summary>
public sealed class BuildContextTarTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "berth-buildctx-" + Guid.NewGuid().ToString("N")[..8]);

    public BuildContextTarTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Ctx(params (string Name, string Content)[] files)
    {
        var ctx = Path.Combine(_dir, "ctx");
        foreach (var (name, content) in files)
        {
            var p = Path.Combine(ctx, name);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            File.WriteAllText(p, content);
        }
        return ctx;
    }

    private static (string Name, Dictionary<string, TarEntry> Entries, Dictionary<string, string> Texts) Tar(string ctx, string? dockerfile = null)
    {
        var ms = new MemoryStream();
        var name = BuildContextTar.Write(ctx, dockerfile, ms);
        ms.Position = 0;
        var entries = new Dictionary<string, TarEntry>(StringComparer.Ordinal);
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        using var r = new TarReader(ms);
        while (r.GetNextEntry(copyData: true) is { } e)
        {
            entries[e.Name.TrimEnd('/')] = e;
            if (e.DataStream is { } d)
            {
                texts[e.Name] = new StreamReader(d).ReadToEnd();
            }
        }
        return (name, entries, texts);
    }

    [Fact]
    public void IgnoreRulesLeaveFilesOutButAlwaysSendTheDockerfileAndDockerignore()
    {
        var ctx = Ctx(
            ("Dockerfile", "FROM busybox\n"),
            (".dockerignore", "# comment\nsecret.txt\n**/*.log\nDockerfile\n.dockerignore\nbuild\n!build/keep.txt\n"),
            ("secret.txt", "password"),
            ("keep.txt", "ok"),
            ("sub/deep/x.log", "log"),
            ("sub/y.txt", "y"),
            ("build/drop.o", "o"),
            ("build/keep.txt", "k"));
        var (name, entries, texts) = Tar(ctx);
        Assert.Equal("Dockerfile", name);
        Assert.Contains("Dockerfile", entries.Keys);
        Assert.Contains(".dockerignore", entries.Keys);
        Assert.Contains("keep.txt", entries.Keys);
        Assert.Contains("sub/y.txt", entries.Keys);
        Assert.Contains("build/keep.txt", entries.Keys);
        Assert.DoesNotContain("secret.txt", entries.Keys);
        Assert.DoesNotContain("sub/deep/x.log", entries.Keys);
        Assert.DoesNotContain("build/drop.o", entries.Keys);
        Assert.Equal("ok", texts["keep.txt"]);
        Assert.All(entries.Values, e => Assert.Equal((0, 0), (e.Uid, e.Gid)));
    }

    [Theory]
    [InlineData("*.txt", "a.txt", true)]
    [InlineData("*.txt", "d/a.txt", false)]
    [InlineData("**/*.txt", "d/e/a.txt", true)]
    [InlineData("d", "d/e/a.txt", true)]
    [InlineData("/d/./e/../e", "d/e/a.txt", true)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "a/c", false)]
    [InlineData("[a-c].md", "b.md", true)]
    [InlineData("[!a-c].md", "b.md", false)]
    public void PatternsFollowDockersRules(string pattern, string path, bool excluded) =>
        Assert.Equal(excluded, IgnoreRules.Parse(pattern, []).Excludes(path));

    [Fact]
    public void LaterExceptionWinsAndEarlierLinesLose()
    {
        var rules = IgnoreRules.Parse("*.md\n!README.md\n", []);
        Assert.True(rules.Excludes("CHANGES.md"));
        Assert.False(rules.Excludes("README.md"));
        rules = IgnoreRules.Parse("!README.md\n*.md\n", []);
        Assert.True(rules.Excludes("README.md"));
    }

    [Fact]
    public void SymlinksAreSentAsLinksAndNeverFollowed()
    {
        var outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "host-secret"), "do not send");
        var ctx = Ctx(("Dockerfile", "FROM busybox\n"), ("real.txt", "r"));
        File.CreateSymbolicLink(Path.Combine(ctx, "link-out"), outside);
        File.CreateSymbolicLink(Path.Combine(ctx, "file-out"), Path.Combine(outside, "host-secret"));
        File.CreateSymbolicLink(Path.Combine(ctx, "rel"), "real.txt");
        var (_, entries, texts) = Tar(ctx);
        Assert.Equal(TarEntryType.SymbolicLink, entries["link-out"].EntryType);
        Assert.Equal(outside, entries["link-out"].LinkName);
        Assert.Equal(TarEntryType.SymbolicLink, entries["file-out"].EntryType);
        Assert.Equal(TarEntryType.SymbolicLink, entries["rel"].EntryType);
        Assert.Equal("real.txt", entries["rel"].LinkName);
        Assert.DoesNotContain("link-out/host-secret", entries.Keys);
        Assert.DoesNotContain(texts.Values, t => t.Contains("do not send", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildArgWithoutValueComesFromTheEnvironmentOrStaysANameOnly()
    {
        using var ctx = new CliContext(Stream.Null, Stream.Null, Stream.Null, k => k == "FROM_ENV" ? "env-value" : null);
        var map = BuildCommand.BuildArgs(ctx, ["A=1=2", "FROM_ENV", "UNSET", "EMPTY="]);
        Assert.Equal("1=2", map["A"]);
        Assert.Equal("env-value", map["FROM_ENV"]);
        Assert.True(map.ContainsKey("UNSET"));
        Assert.Null(map["UNSET"]);
        Assert.Equal("", map["EMPTY"]);
    }

    [Fact]
    public void FifosAreLeftOutWithoutBlocking()
    {
        var ctx = Ctx(("Dockerfile", "FROM busybox\n"), ("a.txt", "a"));
        using (var p = System.Diagnostics.Process.Start("mkfifo", Path.Combine(ctx, "pipe")))
        {
            p.WaitForExit(10_000);
            Assert.Equal(0, p.ExitCode);
        }
        var (_, entries, _) = Tar(ctx);
        Assert.DoesNotContain("pipe", entries.Keys);
        Assert.Contains("a.txt", entries.Keys);
    }

    [Fact]
    public void DockerfileInsideTheContextIsNamedByItsPathInIt()
    {
        var ctx = Ctx(("docker/app.Dockerfile", "FROM busybox\n"), ("a.txt", "a"));
        var (name, entries, _) = Tar(ctx, Path.Combine(ctx, "docker", "app.Dockerfile"));
        Assert.Equal("docker/app.Dockerfile", name);
        Assert.Contains("docker/app.Dockerfile", entries.Keys);
    }

    [Fact]
    public void DockerfileOutsideTheContextIsAddedUnderAGeneratedNameAndIgnored()
    {
        var ctx = Ctx(("a.txt", "a"), (".dockerignore", "*.tmp"));
        var outsideFile = Path.Combine(_dir, "Other.Dockerfile");
        File.WriteAllText(outsideFile, "FROM busybox\nCOPY a.txt /\n");
        var (name, entries, texts) = Tar(ctx, outsideFile);
        Assert.Matches("^\\.dockerfile\\.[0-9a-f]{20}$", name);
        Assert.Equal("FROM busybox\nCOPY a.txt /\n", texts[name]);
        Assert.Equal("*.tmp\n" + name + "\n", texts[".dockerignore"]);
        Assert.Single(entries.Keys, k => k == ".dockerignore");
        Assert.DoesNotContain("Other.Dockerfile", entries.Keys);
    }

    [Fact]
    public void MissingDockerfileOrContextIsAClearError()
    {
        var ctx = Ctx(("a.txt", "a"));
        var e = Assert.Throws<ExitException>(() => Tar(ctx));
        Assert.Contains("Dockerfile", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ExitException>(() => Tar(Path.Combine(_dir, "nope")));
        Assert.Contains("not found", e.Message, StringComparison.Ordinal);
    }
}
