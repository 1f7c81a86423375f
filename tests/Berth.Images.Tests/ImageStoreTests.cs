using Berth.Content;
using Berth.Core;
using Berth.Storage;

namespace Berth.Images.Tests;

public sealed class ImageStoreTests : IDisposable
{
    private readonly StoreFixture _f = new();
    private static readonly byte[] RootfsTar = StoreFixture.Tar(("bin/", null), ("bin/hello", "#!/bin/sh\necho hi\n"), ("etc/", null), ("etc/motd", "welcome"));

    public void Dispose() => _f.Dispose();

    private static IEnumerable<ImageUse> NoUsers(string _) => [];

    [Fact]
    public async Task Import_AppliesChanges_AndIsInspectable()
    {
        var img = await _f.Import(RootfsTar, "myimg:1",
            "CMD [\"/bin/hello\", \"--flag\"]",
            "ENTRYPOINT /bin/sh -c",
            "ENV A=1 B=\"two words\"",
            "ENV LEGACY some value",
            "WORKDIR /app",
            "WORKDIR sub",
            "EXPOSE 80 53/udp",
            "USER nobody",
            "LABEL com.example.k=v other=\"x y\"",
            "VOLUME [\"/data\"]",
            "STOPSIGNAL SIGTERM",
            "ONBUILD run echo hi",
            "HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/");
        Assert.Matches("^sha256:[0-9a-f]{64}$", img.Id);
        Assert.Equal(["myimg:1"], img.RepoTags);
        Assert.Single(img.Layers);
        Assert.Equal(img.Layers[0].ToString(), img.ChainId);
        Assert.Equal("#!/bin/sh\necho hi\n".Length + "welcome".Length, img.Size); // its files' bytes, as dockerd counts a layer
        Assert.Equal(Digest.FromBytes(RootfsTar), img.Layers[0]);
        Assert.Equal("linux", img.Os);
        Assert.Equal("Imported from -", Assert.Single(img.History).Comment);

        var cfg = _f.Store.GetConfig(img).Config!;
        Assert.Equal(["/bin/hello", "--flag"], cfg.Cmd!);
        Assert.Equal(["/bin/sh", "-c", "/bin/sh -c"], cfg.Entrypoint!);
        Assert.Equal(["A=1", "B=two words", "LEGACY=some value"], cfg.Env!);
        Assert.Equal("/app/sub", cfg.WorkingDir);
        Assert.Equal(["53/udp", "80/tcp"], cfg.ExposedPorts!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("nobody", cfg.User);
        Assert.Equal("v", cfg.Labels!["com.example.k"]);
        Assert.Equal("x y", img.Labels["other"]);
        Assert.True(cfg.Volumes!.ContainsKey("/data"));
        Assert.Equal("SIGTERM", cfg.StopSignal);
        Assert.Equal(["RUN echo hi"], cfg.OnBuild!);
        Assert.Equal(["CMD-SHELL", "curl -f http://localhost/"], cfg.Healthcheck!.Test!);
        Assert.Equal(30_000_000_000, cfg.Healthcheck.Interval);
        Assert.Equal(3, cfg.Healthcheck.Retries);

        // The ID is the digest of the config blob; the blobs are in the content store.
        Assert.True(_f.Content.Exists(img.ConfigDigest));
        Assert.Equal(img.Id, img.ConfigDigest.ToString());
        Assert.True(_f.Content.Exists(img.ManifestDigest));
        Assert.True(_f.Content.Exists(img.Layers[0]));
        var manifest = ImageManifest.Parse(File.ReadAllBytes(_f.Content.BlobPath(img.ManifestDigest)));
        Assert.Equal(MediaTypes.OciLayer, Assert.Single(manifest.Layers).MediaType);
    }

    [Fact]
    public async Task Import_Gzip_YieldsSameLayer_DifferentIdPerImport()
    {
        var a = await _f.Import(RootfsTar, "a");
        _f.Time.Advance(TimeSpan.FromSeconds(1));
        var b = await _f.Import(StoreFixture.Gzip(RootfsTar), "b");
        Assert.Equal(a.Layers, b.Layers);
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(2, _f.Store.List().Count);
    }

    [Fact]
    public async Task Import_Rejects_BadChangesAndTags_AndGarbage()
    {
        var ex = await Assert.ThrowsAsync<BerthException>(() => _f.Import(RootfsTar, null, "RUN echo hi"));
        Assert.Equal("run is not a valid change command", ex.Message); // dockerd names it in lower case
        var tagEx = await Assert.ThrowsAsync<BerthException>(() => _f.Import(RootfsTar, "Bad:Tag"));
        Assert.Equal(ErrorKind.InvalidArgument, tagEx.Kind);
        var garbage = Enumerable.Repeat((byte)'x', 2048).ToArray();
        var gEx = await Assert.ThrowsAsync<BerthException>(() => _f.Import(garbage));
        Assert.Equal(ErrorKind.InvalidArgument, gEx.Kind);
        Assert.Empty(_f.Store.List());
        Assert.Empty(_f.Content.List());
    }

    [Fact]
    public async Task Resolve_ByNameIdAndPrefix_AndSurvivesRestart()
    {
        var img = await _f.Import(RootfsTar, "busybox");
        var hex = img.Id[7..];
        foreach (var q in new[] { "busybox", "busybox:latest", "docker.io/library/busybox:latest", "library/busybox", img.Id, hex, hex[..12], hex[..5], "sha256:" + hex[..12] })
            Assert.Equal(img.Id, _f.Store.Resolve(q)?.Id);
        Assert.Null(_f.Store.Resolve("busybox:other"));
        Assert.Null(_f.Store.Resolve("nothing"));

        _f.Store.Tag("busybox", "localhost:5000/mirror/bb:v2");
        _f.Reopen();
        var again = _f.Store.Resolve("localhost:5000/mirror/bb:v2");
        Assert.Equal(img.Id, again?.Id);
        Assert.Equal(["busybox:latest", "localhost:5000/mirror/bb:v2"], again!.RepoTags);
        Assert.Equal(img.Layers[0].ToString(), Assert.Single(_f.Store.GetConfig(again).RootFs.DiffIds));
    }

    [Fact]
    public async Task Tag_MovesName_AndRejectsDigestAndMissingSource()
    {
        var a = await _f.Import(RootfsTar, "app:1");
        _f.Time.Advance(TimeSpan.FromSeconds(1));
        var b = await _f.Import(RootfsTar, "app:2");
        _f.Store.Tag(b.Id, "app:1");
        Assert.Empty(_f.Store.Resolve(a.Id)!.RepoTags);
        Assert.Equal(["app:1", "app:2"], _f.Store.Resolve(b.Id)!.RepoTags);
        Assert.Equal(ErrorKind.NotFound, Assert.Throws<BerthException>(() => _f.Store.Tag("nope", "x")).Kind);
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<BerthException>(() => _f.Store.Tag("app:1", "x@sha256:" + new string('a', 64))).Kind);
    }

    [Fact]
    public async Task Delete_ByName_WithOtherNames_OnlyUntags()
    {
        var img = await _f.Import(RootfsTar, "one");
        _f.Store.Tag("one", "two");
        var items = await _f.Store.DeleteAsync("one", false, false, NoUsers, CancellationToken.None);
        Assert.Equal([new ImageDeleteItem("Untagged", "one:latest")], items);
        Assert.Equal(["two:latest"], _f.Store.Resolve(img.Id)!.RepoTags);

        var last = await _f.Store.DeleteAsync("two", false, false, NoUsers, CancellationToken.None);
        Assert.Equal(new ImageDeleteItem("Untagged", "two:latest"), last[0]);
        Assert.Contains(new ImageDeleteItem("Deleted", img.Id), last);
        Assert.Null(_f.Store.Resolve(img.Id));
        Assert.Empty(_f.Content.List());
    }

    [Fact]
    public async Task Delete_ById_ManyRepos_NeedsForce()
    {
        var img = await _f.Import(RootfsTar, "repo1");
        _f.Store.Tag("repo1", "repo2:x");
        var ex = await Assert.ThrowsAsync<BerthException>(() => _f.Store.DeleteAsync(img.Id[7..19], false, false, NoUsers, CancellationToken.None));
        Assert.Equal(ErrorKind.Conflict, ex.Kind);
        Assert.Equal($"conflict: unable to delete {img.Id[7..19]} (must be forced) - image is referenced in multiple repositories", ex.Message);

        var items = await _f.Store.DeleteAsync(img.Id[7..19], true, false, NoUsers, CancellationToken.None);
        Assert.Equal(
            [new("Untagged", "repo1:latest"), new("Untagged", "repo2:x"), new("Deleted", img.Id)],
            items.Where(i => i.Kind == "Untagged" || i.Value == img.Id));
        Assert.Empty(_f.Store.List());
    }

    [Fact]
    public async Task Delete_ById_SingleRepo_UntagsAll()
    {
        var img = await _f.Import(RootfsTar, "r:1");
        _f.Store.Tag("r:1", "r:2");
        var items = await _f.Store.DeleteAsync(img.Id, false, false, NoUsers, CancellationToken.None);
        Assert.Equal([new("Untagged", "r:1"), new("Untagged", "r:2"), new("Deleted", img.Id)], items.Take(3));
    }

    [Fact]
    public async Task Delete_UsedByContainers_FollowsDockerRules()
    {
        var img = await _f.Import(RootfsTar, "used");
        var ctr = new string('c', 64);
        IEnumerable<ImageUse> Stopped(string id) => id == img.Id ? [new ImageUse(ctr, false)] : [];
        IEnumerable<ImageUse> Running(string id) => id == img.Id ? [new ImageUse(ctr, true)] : [];

        var byName = await Assert.ThrowsAsync<BerthException>(() => _f.Store.DeleteAsync("used", false, false, Stopped, CancellationToken.None));
        Assert.Equal($"conflict: unable to remove repository reference \"used\" (must force) - container cccccccccccc is using its referenced image {img.Id[7..19]}", byName.Message);

        var byId = await Assert.ThrowsAsync<BerthException>(() => _f.Store.DeleteAsync(img.Id, false, false, Stopped, CancellationToken.None));
        Assert.Equal($"conflict: unable to delete {img.Id[7..19]} (must be forced) - image is being used by stopped container cccccccccccc", byId.Message);

        var running = await Assert.ThrowsAsync<BerthException>(() => _f.Store.DeleteAsync(img.Id, true, false, Running, CancellationToken.None));
        Assert.Equal($"conflict: unable to delete {img.Id[7..19]} (cannot be forced) - image is being used by running container cccccccccccc", running.Message);

        // Forced by name while a container uses it: untagged, but the image stays for the container.
        var forced = await _f.Store.DeleteAsync("used", true, false, Running, CancellationToken.None);
        Assert.Equal([new ImageDeleteItem("Untagged", "used:latest")], forced);
        Assert.NotNull(_f.Store.Resolve(img.Id));

        // Forced by ID with only a stopped container: deleted.
        var gone = await _f.Store.DeleteAsync(img.Id, true, false, Stopped, CancellationToken.None);
        Assert.Contains(new ImageDeleteItem("Deleted", img.Id), gone);
        Assert.Equal(ErrorKind.NotFound, (await Assert.ThrowsAsync<BerthException>(() => _f.Store.DeleteAsync(img.Id, true, false, Stopped, CancellationToken.None))).Kind);
    }

    [Fact]
    public async Task Prune_DanglingOnly_ThenAll_WithLabels()
    {
        var tagged = await _f.Import(RootfsTar, "keep", "LABEL tier=web");
        _f.Time.Advance(TimeSpan.FromSeconds(1));
        var dangling = await _f.Import(StoreFixture.Tar(("x", "1")));
        _f.Time.Advance(TimeSpan.FromSeconds(1));
        var used = await _f.Import(StoreFixture.Tar(("y", "2")));

        var r1 = await _f.Store.PruneAsync(new PruneOptions(), id => id == used.Id, CancellationToken.None);
        Assert.Equal([new("Deleted", dangling.Id)], r1.Deleted.Where(d => d.Value == dangling.Id || d.Kind == "Untagged"));
        // dockerd's figure: the bytes of the files of the layers that went (one file of one byte), not the blobs'.
        Assert.Equal(1, r1.SpaceReclaimed);

        var r2 = await _f.Store.PruneAsync(new PruneOptions { DanglingOnly = false, NotLabels = ["tier=web"] }, id => id == used.Id, CancellationToken.None);
        Assert.Empty(r2.Deleted);

        var r3 = await _f.Store.PruneAsync(new PruneOptions { DanglingOnly = false, Labels = ["tier"] }, id => id == used.Id, CancellationToken.None);
        Assert.Contains(new ImageDeleteItem("Untagged", "keep:latest"), r3.Deleted);
        Assert.Contains(new ImageDeleteItem("Deleted", tagged.Id), r3.Deleted);
        Assert.Equal([used.Id], _f.Store.List().Select(i => i.Id));
    }

    /// <summary>A build's chain as the legacy builder leaves it: base, then one image per step, each on the one before.</summary>
    private async Task<(ImageRecord Base, List<ImageRecord> Steps)> BuildChainAsync(string baseName, string? tag, int steps)
    {
        var img = await _f.Import(RootfsTar, baseName);
        var chain = new List<ImageRecord>();
        var parent = img;
        for (int i = 0; i < steps; i++)
        {
            _f.Time.Advance(TimeSpan.FromSeconds(1));
            var layer = i % 2 == 0 ? new MemoryStream(StoreFixture.Tar(($"step{i}", $"{baseName} {i}"))) : null;
            parent = await _f.Store.CommitAsync(parent, layer, new CommitOptions
            {
                Tag = i == steps - 1 ? tag : null,
                CreatedBy = $"step {i}",
                Config = new ContainerConfig { Env = [$"STEP={i}"] },
            }, CancellationToken.None);
            chain.Add(parent);
        }
        return (img, chain);
    }

    [Fact]
    public async Task LayerSizes_AreContentSizes_ZeroForEmptyDirectories_AcrossARestart_AndForAnOlderStore()
    {
        var img = await _f.Import(RootfsTar, "base");
        var dirs = await _f.Store.CommitAsync(img, new MemoryStream(StoreFixture.Tar(("made/", null), ("made/deeper/", null))),
            new CommitOptions { Tag = "dirs", CreatedBy = "mkdir", Config = new ContainerConfig() }, CancellationToken.None);
        var files = await _f.Store.CommitAsync(dirs, new MemoryStream(StoreFixture.Tar(("made/a", "12345"), ("made/b", "678")))
            , new CommitOptions { Tag = "files", CreatedBy = "write", Config = new ContainerConfig() }, CancellationToken.None);
        const long Base = 25; // the base's two files
        Assert.Equal([Base, 0L], dirs.LayerSizes);
        Assert.Equal(Base, dirs.Size);
        Assert.Equal([Base, 0L, 8L], files.LayerSizes);
        Assert.Equal(Base + 8, files.Size);

        _f.Reopen();
        Assert.Equal([Base, 0L, 8L], _f.Store.Resolve("files")!.LayerSizes);

        // A store from before content sizes were kept (only the old tar-size file): its layers are sized at start.
        var dir = Path.Combine(_f.DataRoot, "images");
        File.Delete(Path.Combine(dir, "layer-content-sizes.json"));
        File.WriteAllText(Path.Combine(dir, "layer-sizes.json"), "{}");
        _f.Reopen();
        Assert.Equal([Base, 0L, 8L], _f.Store.Resolve("files")!.LayerSizes);
        Assert.False(File.Exists(Path.Combine(dir, "layer-sizes.json")));
    }

    [Fact]
    public async Task Commit_RecordsItsParent_AndTheParentKnowsItHasChildren_AcrossARestart()
    {
        var (b, steps) = await BuildChainAsync("base", "app:1", 3);
        Assert.Equal(b.Id, steps[0].Parent);
        Assert.Equal(steps[1].Id, steps[2].Parent);
        Assert.Null(b.Parent);
        _f.Reopen();
        var byId = _f.Store.List().ToDictionary(i => i.Id);
        Assert.Equal(steps[1].Id, byId[steps[2].Id].Parent);
        Assert.True(byId[b.Id].HasChildren);
        Assert.True(byId[steps[1].Id].HasChildren);
        Assert.False(byId[steps[2].Id].HasChildren);
    }

    [Fact]
    public async Task Delete_TakesTheUntaggedParents_DownToANamedOne_UnlessNoPrune()
    {
        var (b, steps) = await BuildChainAsync("base", "app:1", 3);
        var items = await _f.Store.DeleteAsync("app:1", false, false, NoUsers, CancellationToken.None);
        Assert.Equal(steps.Select(s => s.Id).Reverse(), items.Where(i => i.Kind == "Deleted" && steps.Any(s => s.Id == i.Value)).Select(i => i.Value));
        Assert.Equal([b.Id], _f.Store.List().Select(i => i.Id));

        var (_, kept) = await BuildChainAsync("base", "app:2", 2);
        var only = await _f.Store.DeleteAsync("app:2", false, true, NoUsers, CancellationToken.None);
        Assert.Contains(new ImageDeleteItem("Deleted", kept[1].Id), only);
        Assert.NotNull(_f.Store.Resolve(kept[0].Id));
    }

    [Fact]
    public async Task Delete_StopsAtAParentWithAnotherChild_OrAContainer()
    {
        var (b, steps) = await BuildChainAsync("base", "app:1", 2);
        // A second build from the first step on: that step now has two children.
        var sibling = await _f.Store.CommitAsync(steps[0], null, new CommitOptions { Tag = "app:2", CreatedBy = "other", Config = new ContainerConfig { Env = ["X=1"] } }, CancellationToken.None);
        await _f.Store.DeleteAsync("app:1", false, false, NoUsers, CancellationToken.None);
        Assert.NotNull(_f.Store.Resolve(steps[0].Id));
        Assert.Null(_f.Store.Resolve(steps[1].Id));

        // With app:2 gone, steps[0] would follow, but a container runs on it.
        IEnumerable<ImageUse> OnStep(string id) => id == steps[0].Id ? [new ImageUse(new string('c', 64), true)] : [];
        await _f.Store.DeleteAsync("app:2", false, false, OnStep, CancellationToken.None);
        Assert.Null(_f.Store.Resolve(sibling.Id));
        Assert.NotNull(_f.Store.Resolve(steps[0].Id));
        Assert.NotNull(_f.Store.Resolve(b.Id));
    }

    [Fact]
    public async Task Delete_AnImageWithChildren_ById_IsAHardConflict_ByName_OnlyUntags()
    {
        var (b, steps) = await BuildChainAsync("base", "app:1", 1);
        var ex = await Assert.ThrowsAsync<BerthException>(() => _f.Store.DeleteAsync(b.Id, true, false, NoUsers, CancellationToken.None));
        Assert.Equal(ErrorKind.Conflict, ex.Kind);
        Assert.Equal($"conflict: unable to delete {b.Id[7..19]} (cannot be forced) - image has dependent child images", ex.Message);
        Assert.Equal(["base:latest"], _f.Store.Resolve(b.Id)!.RepoTags);

        var items = await _f.Store.DeleteAsync("base", false, false, NoUsers, CancellationToken.None);
        Assert.Equal([new ImageDeleteItem("Untagged", "base:latest")], items);
        Assert.NotNull(_f.Store.Resolve(b.Id));
        // Its last child gone, the untagged base goes with it.
        var last = await _f.Store.DeleteAsync("app:1", false, false, NoUsers, CancellationToken.None);
        Assert.Contains(new ImageDeleteItem("Deleted", b.Id), last);
        Assert.Empty(_f.Store.List());
        Assert.Empty(_f.Content.List());
    }

    [Fact]
    public async Task Prune_LeavesIntermediateImages_UntilTheImageMadeOnThemGoes()
    {
        var (b, steps) = await BuildChainAsync("base", "app:1", 3);
        // Nothing is dangling: the steps' images are intermediate ones.
        Assert.Empty((await _f.Store.PruneAsync(new PruneOptions(), _ => false, CancellationToken.None)).Deleted);

        // Rebuilt with a new last step: the old last image is dangling, and goes alone (its parent has the new one).
        _f.Time.Advance(TimeSpan.FromSeconds(1));
        var rebuilt = await _f.Store.CommitAsync(steps[1], null, new CommitOptions { Tag = "app:1", CreatedBy = "new", Config = new ContainerConfig { Env = ["NEW=1"] } }, CancellationToken.None);
        var r = await _f.Store.PruneAsync(new PruneOptions(), _ => false, CancellationToken.None);
        Assert.Equal([steps[2].Id], r.Deleted.Where(d => d.Kind == "Deleted" && steps.Any(st => st.Id == d.Value)).Select(d => d.Value));
        Assert.NotNull(_f.Store.Resolve(steps[1].Id));

        // prune -a: the named image and its chain go; a named base with a child left would only lose its name.
        var all = await _f.Store.PruneAsync(new PruneOptions { DanglingOnly = false }, id => id == b.Id, CancellationToken.None);
        Assert.Contains(new ImageDeleteItem("Deleted", rebuilt.Id), all.Deleted);
        Assert.Contains(new ImageDeleteItem("Deleted", steps[0].Id), all.Deleted);
        Assert.Equal([b.Id], _f.Store.List().Select(i => i.Id));
    }

    [Fact]
    public async Task Prune_DanglingOnly_LeavesAParentKnownByDigestAlone()
    {
        var (b, _) = await BuildChainAsync("base", "app:1", 1);
        _f.Store.AddRepoDigest(b.Id, ImageReference.Parse("mirror/base@sha256:" + new string('d', 64)));
        await _f.Store.DeleteAsync("base:latest", false, false, NoUsers, CancellationToken.None);
        Assert.Equal(["mirror/base@sha256:" + new string('d', 64)], _f.Store.Resolve(b.Id)!.RepoDigests);

        // Untagged but named by digest, with a child: neither dangling nor intermediate, and prune leaves its name.
        var r = await _f.Store.PruneAsync(new PruneOptions(), _ => false, CancellationToken.None);
        Assert.Empty(r.Deleted);
        Assert.Single(_f.Store.Resolve(b.Id)!.RepoDigests);
    }
}
