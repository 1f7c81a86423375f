using System.Text;
using Berth.Core;

namespace Berth.Registry.Tests;

/// <summary>The collector over real stores in a temp root, with a clock the test moves.</summary>
public sealed class GarbageCollectorTests : IDisposable
{
    private readonly TempRoot _root = new();
    private readonly ManualTime _time = new(DateTimeOffset.UnixEpoch.AddYears(56));
    private readonly BlobStore _blobs;
    private readonly MetadataStore _meta;
    private readonly GarbageCollector _gc;
    private static readonly GcOptions Collect = new() { Grace = TimeSpan.FromMinutes(10), DeleteUntagged = true };

    public GarbageCollectorTests()
    {
        _blobs = new BlobStore(_root.Path);
        _meta = new MetadataStore(Path.Combine(_root.Path, "registry.db"), _time);
        _gc = new GarbageCollector(_blobs, _meta, _time);
    }

    public void Dispose() => _root.Dispose();

    private Digest Put(string repo, string content)
    {
        var data = Encoding.UTF8.GetBytes(content);
        var d = Digest.FromBytes(data);
        _meta.LinkBlob(repo, d, data.Length);
        _blobs.WriteBlob(d, data);
        return d;
    }

    private ParsedManifest PutManifest(string repo, string? tag, string body, IEnumerable<ManifestReference> refs, Digest? subject = null, string media = "application/vnd.oci.image.manifest.v1+json")
    {
        var data = Encoding.UTF8.GetBytes(body);
        var m = new ParsedManifest(media, Digest.FromBytes(data), data.Length, refs.ToList(), subject, null, null);
        _meta.PutManifest(repo, m, tag);
        _blobs.WriteBlob(m.Digest, data);
        return m;
    }

    private void Later() => _time.Now += TimeSpan.FromMinutes(11);

    [Fact]
    public void UnreferencedBlobsGoOnlyAfterTheGracePeriod()
    {
        var d = Put("r", "loose");
        Assert.Empty(_gc.Collect(Collect).Blobs);
        Assert.True(_blobs.Exists(d));
        Later();
        var report = _gc.Collect(Collect);
        Assert.Equal(d, Assert.Single(report.Blobs).Digest);
        Assert.False(_blobs.Exists(d));
        Assert.Null(_meta.LinkedBlobSize("r", d));
    }

    [Fact]
    public void TaggedImagesStayAndDeletedTagsFreeTheirBlobs()
    {
        var shared = Put("r", "shared layer");
        var onlyOld = Put("r", "old layer");
        var onlyNew = Put("r", "new layer");
        var old = PutManifest("r", "old", "m-old", [new(shared, false), new(onlyOld, false)]);
        var cur = PutManifest("r", "new", "m-new", [new(shared, false), new(onlyNew, false)]);
        Later();
        Assert.Empty(_gc.Collect(Collect).Blobs);

        Assert.True(_meta.DeleteTag("r", "old"));
        var report = _gc.Collect(Collect);
        Assert.Equal([$"r@{old.Digest}"], report.Manifests);
        Assert.Equal(new[] { onlyOld, old.Digest }.Select(d => d.ToString()).Order(), report.Blobs.Select(b => b.Digest.ToString()).Order());
        Assert.False(_blobs.Exists(onlyOld));
        Assert.True(_blobs.Exists(shared));
        Assert.True(_blobs.Exists(onlyNew));
        Assert.True(_blobs.Exists(cur.Digest));
        Assert.NotNull(_meta.GetManifest("r", "new"));
    }

    [Fact]
    public void IndexesKeepTheirChildrenAndSubjectsKeepTheirReferrers()
    {
        var layer = Put("r", "layer");
        var child = PutManifest("r", null, "child", [new(layer, false)]);
        var index = PutManifest("r", "list", "index", [new(child.Digest, true)], media: "application/vnd.oci.image.index.v1+json");
        var sig = PutManifest("r", null, "signature", [], subject: index.Digest);
        Later();
        var report = _gc.Collect(Collect);
        Assert.Empty(report.Manifests);
        Assert.Empty(report.Blobs);

        _meta.DeleteTag("r", "list");
        report = _gc.Collect(Collect);
        // The index goes, then its child (next round), then the referrer whose subject is gone.
        Assert.Equal(new[] { index.Digest, child.Digest, sig.Digest }.Select(d => $"r@{d}").Order(), report.Manifests.Order());
        Assert.False(_blobs.Exists(layer));
    }

    [Fact]
    public void UntaggedManifestsStayUnlessAskedOrYoung()
    {
        var layer = Put("r", "layer");
        var m = PutManifest("r", null, "untagged", [new(layer, false)]);
        Later();
        Assert.Empty(_gc.Collect(Collect with { DeleteUntagged = false }).Manifests);
        Assert.True(_blobs.Exists(layer));
        var fresh = PutManifest("r", null, "untagged-young", []);
        var report = _gc.Collect(Collect);
        Assert.Equal([$"r@{m.Digest}"], report.Manifests);
        Assert.NotNull(_meta.GetManifest("r", fresh.Digest.ToString()));
    }

    [Fact]
    public void DryRunReportsAndKeepsEverything()
    {
        var d = Put("r", "loose");
        Later();
        var report = _gc.Collect(Collect with { DryRun = true });
        Assert.Equal(d, Assert.Single(report.Blobs).Digest);
        Assert.True(_blobs.Exists(d));
        Assert.Equal(report.Blobs, _gc.Collect(Collect).Blobs);
    }

    [Fact]
    public void OldStrayFilesGoAndFilesMovedAsideForLiveDigestsComeBack()
    {
        var strayData = "stray"u8.ToArray();
        var stray = Digest.FromBytes(strayData);
        _blobs.WriteBlob(stray, strayData); // a file with no row
        File.SetLastWriteTimeUtc(_blobs.BlobPath(stray), _time.GetUtcNow().UtcDateTime);
        Assert.Empty(_gc.Collect(Collect).StrayFiles);
        Later();

        // A collection that crashed after moving a live blob aside: the next one puts it back.
        var live = Put("r", "live");
        PutManifest("r", "v1", "m", [new(live, false)]);
        Directory.CreateDirectory(Path.Combine(_root.Path, "trash"));
        File.Move(_blobs.BlobPath(live), Path.Combine(_root.Path, "trash", $"{live.Hex}.0123"));

        var report = _gc.Collect(Collect);
        Assert.Equal([stray.ToString()], report.StrayFiles);
        Assert.False(_blobs.Exists(stray));
        Assert.True(_blobs.Exists(live));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root.Path, "trash")));
    }
}
