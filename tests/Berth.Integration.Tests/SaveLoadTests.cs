using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Integration.Tests;

/// <summary>
/// docker save / docker load against berthd with the real docker CLI and with berth; an archive written by skopeo's
/// docker-archive transport; bad archives refused cleanly with the store unchanged. Each test has its own daemon.
/// </summary>
public sealed class SaveLoadTests : IAsyncLifetime
{
    private readonly DaemonFixture d = new();

    public Task InitializeAsync() => d.InitializeAsync();

    public Task DisposeAsync() => d.DisposeAsync();

    private string File(string name) => Path.Combine(d.Root, name);

    private async Task<CommandResult> Ok(Task<CommandResult> run, string what)
    {
        var r = await run;
        Assert.True(r.ExitCode == 0, $"{what}: {r}\n{d.DaemonLog[^Math.Min(4000, d.DaemonLog.Length)..]}");
        return r;
    }

    private Task<CommandResult> Docker(params string[] args) => Ok(d.DockerAsync(args), "docker " + string.Join(' ', args));

    /// <summary>An image with a layer of its own (made by commit), so removing it really removes its blobs.</summary>
    private async Task<string> CommitImageAsync(string name, string marker)
    {
        await Docker("run", "--name", "src", "busybox", "sh", "-c", $"echo {marker} > /marker");
        await Docker("commit", "src", name);
        await Docker("rm", "src");
        return (await Docker("image", "inspect", "-f", "{{.Id}}", name)).Stdout.Trim();
    }

    private string[] Blobs() => Directory.GetFiles(Path.Combine(d.DataRoot, "content", "blobs", "sha256")).Select(Path.GetFileName).Order().ToArray()!;

    private async Task<string> ImagesAsync() => (await Docker("images", "-a", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}")).Stdout;

    [Fact]
    public async Task DockerSave_Rmi_DockerLoad_AndRun()
    {
        var id = await CommitImageAsync("sl/img:1", "saved-by-docker");
        var archive = File("img.tar");
        await Docker("save", "-o", archive, "sl/img:1");

        var names = new List<string>();
        using (var r = new TarReader(System.IO.File.OpenRead(archive)))
            while (r.GetNextEntry() is { } e) names.Add(e.Name);
        Assert.Contains("manifest.json", names);
        Assert.Contains("index.json", names);
        Assert.Contains("oci-layout", names);
        Assert.Contains("repositories", names);
        Assert.Contains($"blobs/sha256/{id[7..]}", names);

        var blobsBefore = Blobs();
        var rmi = await Docker("rmi", "sl/img:1");
        Assert.Contains($"Deleted: {id}", rmi.Stdout);
        Assert.True(Blobs().Length < blobsBefore.Length, "rmi removed the image's blobs");

        var load = await Docker("load", "-i", archive);
        Assert.Equal("Loaded image: sl/img:1\n", load.Stdout);
        Assert.Equal(id, (await Docker("image", "inspect", "-f", "{{.Id}}", "sl/img:1")).Stdout.Trim());
        var run = await Docker("run", "--rm", "sl/img:1", "cat", "/marker");
        Assert.Equal("saved-by-docker\n", run.Stdout);

        // From stdin, gzip-compressed, and once more: the image is there already, so only the name is (re)set.
        var again = await Ok(d.ShellAsync($"gzip -c {archive} | DOCKER_HOST={d.DockerHost} /usr/local/bin/docker load"), "docker load (gzip, stdin)");
        Assert.Equal("Loaded image: sl/img:1\n", again.Stdout);
        // xz and bzip2 too, as dockerd loads them (docker save | xz is a common way to ship an image).
        await Ok(Docker("rmi", "sl/img:1"), "docker rmi");
        var xz = await Ok(d.ShellAsync($"xz -1 -c {archive} | DOCKER_HOST={d.DockerHost} /usr/local/bin/docker load"), "docker load (xz, stdin)");
        Assert.Equal("Loaded image: sl/img:1\n", xz.Stdout);
        Assert.Equal("saved-by-docker\n", (await Docker("run", "--rm", "sl/img:1", "cat", "/marker")).Stdout);
        var bz = await Ok(d.ShellAsync($"bzip2 -c {archive} | DOCKER_HOST={d.DockerHost} /usr/local/bin/docker load"), "docker load (bzip2, stdin)");
        Assert.Equal("Loaded image: sl/img:1\n", bz.Stdout);
    }

    [Fact]
    public async Task BerthSave_PipedTo_BerthLoad_ById_AndSeveralNames()
    {
        var id = await CommitImageAsync("sl/a:1", "a");
        await Docker("tag", "sl/a:1", "sl/a:2");
        var b = await CommitImageAsync("sl/b:1", "b");
        var archive = File("two.tar");
        await Ok(d.ShellAsync($"{d.Out}/berth save sl/a sl/b:1 > {archive}"), "berth save");
        using (var r = new TarReader(System.IO.File.OpenRead(archive)))
        {
            while (r.GetNextEntry() is { } e)
            {
                if (e.Name != "manifest.json") continue;
                var m = JsonNode.Parse(e.DataStream!)!.AsArray();
                Assert.Equal(["sl/a:1", "sl/a:2"], m[0]!["RepoTags"]!.AsArray().Select(x => x!.ToString()));
                Assert.Equal(["sl/b:1"], m[1]!["RepoTags"]!.AsArray().Select(x => x!.ToString()));
            }
        }
        await Docker("rmi", "sl/a:1", "sl/a:2", "sl/b:1");
        var load = await Ok(d.BerthAsync("load", "-i", archive), "berth load");
        Assert.Equal("Loaded image: sl/a:1\nLoaded image: sl/a:2\nLoaded image: sl/b:1\n", load.Stdout);
        Assert.Equal("b\n", (await Docker("run", "--rm", "sl/b:1", "cat", "/marker")).Stdout);

        // By ID: no names in the archive, so the load reports the ID.
        var piped = await Ok(d.ShellAsync($"{d.Out}/berth save {id} | {d.Out}/berth load"), "berth save | berth load");
        Assert.Equal($"Loaded image ID: {id}\n", piped.Stdout);

        var missing = await d.BerthAsync("save", "sl/nosuch:1");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("No such image: sl/nosuch:1", missing.Stderr);
        var bad = await d.BerthAsync("save", "-o", File("nodir/x.tar"), "sl/a:1");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("invalid output path", bad.Stderr);
        Assert.Equal(b, (await Docker("image", "inspect", "-f", "{{.Id}}", "sl/b:1")).Stdout.Trim());
    }

    [Fact]
    public async Task SaveByNameUrl_AndLoadProgressStream_OverTheApi()
    {
        await CommitImageAsync("sl/api:1", "api");
        var archive = File("api.tar");
        await Ok(d.ShellAsync($"curl -sf --unix-socket {d.Socket} -o {archive} 'http://x/v1.45/images/sl/api:1/get'"), "GET /images/{name}/get");
        await Docker("rmi", "sl/api:1");
        var load = await Ok(d.ShellAsync($"curl -sf --unix-socket {d.Socket} -X POST -H 'Content-Type: application/x-tar' --data-binary @{archive} 'http://x/v1.45/images/load?quiet=0'"), "POST /images/load");
        var lines = load.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Contains(lines, l => l["status"]?.ToString() == "Loading layer" && l["progressDetail"]?["total"] is not null);
        Assert.Equal("Loaded image: sl/api:1\n", lines[^1]["stream"]!.ToString());

        var unknown = await d.ShellAsync($"curl -s -o /dev/null -w '%{{http_code}}' --unix-socket {d.Socket} 'http://x/images/get?names=sl/nosuch:1'");
        Assert.Equal("404", unknown.Stdout);
    }

    [Fact]
    public async Task SkopeoDockerArchive_FromAHandMadeOciLayout_LoadsAndRuns()
    {
        // An OCI layout made here from the busybox root filesystem, gzip-compressed, then turned into a
        // docker-archive by skopeo: Docker's legacy layout, written by someone else's code.
        var rootfs = File("rootfs.tar");
        await Ok(d.ShellAsync($"{d.RepoRoot}/scripts/mkbusybox.sh > {rootfs}"), "mkbusybox");
        var layer = System.IO.File.ReadAllBytes(rootfs);
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(layer);
        var layerGz = gz.ToArray();
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Cmd\":[\"sh\"]}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{Sha(layer)}\"]}}}}");
        var manifest = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{Sha(config)}\",\"size\":{config.Length}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{Sha(layerGz)}\",\"size\":{layerGz.Length}}}]}}");
        var layout = File("layout");
        Directory.CreateDirectory(Path.Combine(layout, "blobs", "sha256"));
        foreach (var blob in new[] { layerGz, config, manifest })
            System.IO.File.WriteAllBytes(Path.Combine(layout, "blobs", "sha256", Sha(blob)[7..]), blob);
        System.IO.File.WriteAllText(Path.Combine(layout, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        System.IO.File.WriteAllText(Path.Combine(layout, "index.json"),
            $"{{\"schemaVersion\":2,\"manifests\":[{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"{Sha(manifest)}\",\"size\":{manifest.Length},\"annotations\":{{\"org.opencontainers.image.ref.name\":\"v1\"}}}}]}}");
        var archive = File("skopeo.tar");
        // skopeo keeps its temporary files in TMPDIR: the test's own directory, not /var/tmp.
        await Ok(d.ShellAsync($"TMPDIR={d.Root} /usr/bin/skopeo copy --insecure-policy oci:{layout}:v1 docker-archive:{archive}:sk/busybox:v1"), "skopeo copy");

        var load = await Docker("load", "-i", archive);
        Assert.Equal("Loaded image: sk/busybox:v1\n", load.Stdout);
        Assert.Equal(Sha(config), (await Docker("image", "inspect", "-f", "{{.Id}}", "sk/busybox:v1")).Stdout.Trim());
        Assert.Equal("hi\n", (await Docker("run", "--rm", "sk/busybox:v1", "echo", "hi")).Stdout);

        // The layout itself, tarred, loads too (pure OCI: no manifest.json, the name is only a tag, so no name).
        var oci = File("oci.tar");
        await Ok(d.ShellAsync($"tar -C {layout} -cf {oci} ."), "tar layout");
        await Docker("rmi", "sk/busybox:v1");
        var ociLoad = await Docker("load", "-i", oci);
        Assert.Equal($"Loaded image ID: {Sha(config)}\n", ociLoad.Stdout);
    }

    [Fact]
    public async Task BadArchives_AreRefusedCleanly_AndTheStoreIsUnchanged()
    {
        await CommitImageAsync("sl/good:1", "good");
        var good = File("good.tar");
        await Docker("save", "-o", good, "sl/good:1");
        await Docker("rmi", "sl/good:1");
        var images = await ImagesAsync();
        var blobs = Blobs();

        var entries = new List<(string Name, byte[] Data)>();
        using (var r = new TarReader(System.IO.File.OpenRead(good)))
        {
            while (r.GetNextEntry() is { } e)
            {
                if (e.EntryType != TarEntryType.RegularFile) continue;
                var ms = new MemoryStream();
                e.DataStream!.CopyTo(ms);
                entries.Add((e.Name, ms.ToArray()));
            }
        }
        var manifestJson = JsonNode.Parse(entries.Single(e => e.Name == "manifest.json").Data)!.AsArray();
        // The top layer: the commit's own, which the rmi removed from the store (the base layer is busybox's).
        var layerName = manifestJson[0]!["Layers"]!.AsArray()[^1]!.ToString();

        var cases = new (string File, byte[] Data, string Message)[]
        {
            ("truncated.tar", System.IO.File.ReadAllBytes(good)[..(int)(new FileInfo(good).Length / 2)], "unexpected EOF"),
            ("traversal.tar", Tar(entries.Select(e => e.Name == layerName ? ("../../" + e.Name, e.Data) : e)), "points outside the archive"),
            ("missing-layer.tar", Tar(entries.Where(e => e.Name != layerName)), "is not in the archive"),
        };
        foreach (var (name, data, message) in cases)
        {
            System.IO.File.WriteAllBytes(File(name), data);
            var r = await d.DockerAsync("load", "-i", File(name));
            Assert.True(r.ExitCode == 1, $"{name}: {r}");
            Assert.Contains(message, r.Stderr);
            Assert.DoesNotContain("Exception", r.Stderr);
            Assert.Equal(images, await ImagesAsync());
            Assert.Equal(blobs, Blobs());
        }
        // The traversal entry's bytes went nowhere: the layer (removed by rmi) is in no file under the daemon's root.
        var layerHex = Path.GetFileName(layerName);
        Assert.Empty(Directory.EnumerateFiles(d.Root, layerHex + "*", SearchOption.AllDirectories));
        var tmp = Path.Combine(d.DataRoot, "tmp");
        if (Directory.Exists(tmp)) Assert.Empty(Directory.EnumerateFiles(tmp, "*", SearchOption.AllDirectories));
        // The good archive still loads after all that.
        Assert.Equal("Loaded image: sl/good:1\n", (await Docker("load", "-i", good)).Stdout);
    }

    private static string Sha(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    private static byte[] Tar(IEnumerable<(string Name, byte[] Data)> files)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var (name, data) in files)
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = (UnixFileMode)0b110_100_100 });
        return ms.ToArray();
    }
}
