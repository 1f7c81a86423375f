using System.Net;
using System.Text;

namespace Berth.Integration.Tests;

/// <summary>docker cp, diff, export and commit with the real docker CLI against a private berthd.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FilesTests(DaemonFixture d) : IClassFixture<DaemonFixture>, IDisposable
{
    private readonly string _work = Path.Combine(d.Root, "files-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly EngineApi _api = new(d.Socket);

    public void Dispose()
    {
        _api.Dispose();
        try { Directory.Delete(_work, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    private string Name(string what) => $"{what}{d.Tag}{Guid.NewGuid().ToString("N")[..4]}";

    private static void Ok(CommandResult r) => Assert.True(r.ExitCode == 0, r.ToString());

    private static string Modes(string root) =>
        string.Join('\n', Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => (Rel: Path.GetRelativePath(root, p), Info: new FileInfo(p)))
            .OrderBy(x => x.Rel, StringComparer.Ordinal)
            .Select(x => $"{x.Rel} {(x.Info.LinkTarget is { } l ? "-> " + l : Convert.ToString((int)File.GetUnixFileMode(x.Rel.Length > 0 ? Path.Combine(root, x.Rel) : root), 8))} {(x.Info.LinkTarget is null && x.Info.Exists ? File.ReadAllText(x.Info.FullName) : "")}"));

    [Fact]
    public async Task CopyRoundTripKeepsTreeModesAndContent()
    {
        var src = Path.Combine(_work, "src", "tree");
        Directory.CreateDirectory(Path.Combine(src, "sub", "deeper"));
        File.WriteAllText(Path.Combine(src, "a.txt"), "alpha\n");
        File.WriteAllText(Path.Combine(src, "sub", "run.sh"), "#!/bin/sh\necho run\n");
        File.WriteAllText(Path.Combine(src, "sub", "deeper", "secret"), "s3cret");
        File.SetUnixFileMode(Path.Combine(src, "sub", "run.sh"), (UnixFileMode)Convert.ToInt32("750", 8));
        File.SetUnixFileMode(Path.Combine(src, "sub", "deeper", "secret"), (UnixFileMode)Convert.ToInt32("600", 8));
        File.SetUnixFileMode(Path.Combine(src, "sub", "deeper"), (UnixFileMode)Convert.ToInt32("700", 8));
        File.CreateSymbolicLink(Path.Combine(src, "link"), "a.txt");

        var c = Name("cp");
        Ok(await d.DockerAsync("run", "-d", "--name", c, "busybox", "sleep", "300"));
        Ok(await d.DockerAsync("cp", src, $"{c}:/data"));
        // The container sees the tree with the same modes.
        var inside = await d.DockerAsync("exec", c, "sh", "-c", "stat -c '%a %n' /data/sub/run.sh /data/sub/deeper /data/sub/deeper/secret; cat /data/a.txt; readlink /data/link");
        Ok(inside);
        Assert.Equal("750 /data/sub/run.sh\n700 /data/sub/deeper\n600 /data/sub/deeper/secret\nalpha\na.txt\n", inside.Stdout);

        var back = Path.Combine(_work, "back");
        Ok(await d.DockerAsync("cp", $"{c}:/data", back));
        Assert.Equal(Modes(src), Modes(back));

        // A single file to a new name, and the archive to stdout.
        var one = Path.Combine(_work, "one.txt");
        Ok(await d.DockerAsync("cp", $"{c}:/data/sub/run.sh", one));
        Assert.Equal("#!/bin/sh\necho run\n", File.ReadAllText(one));
        var listing = await d.ShellAsync($"DOCKER_HOST={d.DockerHost} docker cp {c}:/data - | tar t");
        Ok(listing);
        Assert.Contains("data/sub/deeper/secret", listing.Stdout.Split('\n'));
        Ok(await d.DockerAsync("rm", "-f", c));
    }

    [Fact]
    public async Task SymlinkToRootStaysInsideTheContainer()
    {
        var c = Name("evil");
        Ok(await d.DockerAsync("run", "-d", "--name", c, "busybox", "sh", "-c", "ln -s / /evil && ln -s ../../../.. /evil2 && exec sleep 300"));
        await WaitForAsync(c, "/evil2");
        var hostFile = Path.Combine(_work, "host.txt");
        Directory.CreateDirectory(_work);
        File.WriteAllText(hostFile, "payload\n");
        var marker = $"berth-cp-escape-{d.Tag}-{Guid.NewGuid():N}";
        var hostTarget = Path.Combine("/tmp", marker);
        try
        {
            Ok(await d.DockerAsync("cp", hostFile, $"{c}:/evil/tmp/{marker}"));
            Ok(await d.DockerAsync("cp", hostFile, $"{c}:/evil2/tmp/{marker}-2"));
            Assert.False(File.Exists(hostTarget), "docker cp wrote through the container's symlink onto the host");
            Assert.False(File.Exists(hostTarget + "-2"), "docker cp wrote through the container's symlink onto the host");
            var inside = await d.DockerAsync("exec", c, "cat", $"/tmp/{marker}", $"/tmp/{marker}-2");
            Ok(inside);
            Assert.Equal("payload\npayload\n", inside.Stdout);

            // Reading through the link stays inside too: /evil/etc/passwd is the container's.
            var passwd = Path.Combine(_work, "passwd");
            Ok(await d.DockerAsync("cp", $"{c}:/evil2/etc/passwd", passwd));
            Assert.Equal((await d.DockerAsync("exec", c, "cat", "/etc/passwd")).Stdout, File.ReadAllText(passwd));
        }
        finally
        {
            File.Delete(hostTarget);
            File.Delete(hostTarget + "-2");
            await d.DockerAsync("rm", "-f", c);
        }
    }

    [Fact]
    public async Task CopyWorksOnStoppedAndCreatedContainers()
    {
        var c = Name("stopped");
        Ok(await d.DockerAsync("run", "--name", c, "busybox", "sh", "-c", "echo written-while-running > /note"));
        var note = Path.Combine(_work, "note");
        Directory.CreateDirectory(_work);
        Ok(await d.DockerAsync("cp", $"{c}:/note", note));
        Assert.Equal("written-while-running\n", File.ReadAllText(note));

        var created = Name("created");
        Ok(await d.DockerAsync("create", "--name", created, "busybox", "cat", "/in/file"));
        var input = Path.Combine(_work, "in");
        Directory.CreateDirectory(input);
        File.WriteAllText(Path.Combine(input, "file"), "copied before start\n");
        Ok(await d.DockerAsync("cp", input, $"{created}:/in"));
        var start = await d.DockerAsync("start", "-a", created);
        Ok(start);
        Assert.Equal("copied before start\n", start.Stdout);
        // The copy's mount of the stopped container is gone afterwards.
        var id = (await d.DockerAsync("inspect", "-f", "{{.Id}}", c)).Stdout.Trim();
        Assert.DoesNotContain(Path.Combine(d.DataRoot, "containers", id), File.ReadAllText("/proc/mounts"));

        var missing = await d.DockerAsync("cp", $"{c}:/no/such/file", Path.Combine(_work, "x"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("Could not find the file /no/such/file", missing.Stderr);
        Ok(await d.DockerAsync("rm", "-f", c, created));
    }

    [Fact]
    public async Task DiffShowsAddedChangedDeleted()
    {
        var c = Name("diff");
        Ok(await d.DockerAsync("run", "--name", c, "busybox", "sh", "-c", "echo x > /added && echo extra >> /etc/passwd && rm /etc/group"));
        var r = await d.DockerAsync("diff", c);
        Ok(r);
        Assert.Equal("A /added\nC /etc\nD /etc/group\nC /etc/passwd\n", r.Stdout);
        Ok(await d.DockerAsync("rm", c));
    }

    [Fact]
    public async Task CommitKeepsChangesDeletionsAndChangeLines()
    {
        var c = Name("commit");
        var image = $"committed{d.Tag}:v1";
        var since = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        Ok(await d.DockerAsync("run", "--name", c, "busybox", "sh", "-c", "echo committed > /hello && rm /etc/group && mkdir -p /opt/app && echo 1 > /opt/app/v"));
        var commit = await d.DockerAsync("commit", "-a", "Tester <t@example.com>", "-m", "a message", "--change", "CMD [\"cat\", \"/hello\"]", "--change", "ENV MODE=committed", c, image);
        Ok(commit);
        Assert.Matches("^sha256:[0-9a-f]{64}$", commit.Stdout.Trim());

        var run = await d.DockerAsync("run", "--rm", image);
        Ok(run);
        Assert.Equal("committed\n", run.Stdout);
        var check = await d.DockerAsync("run", "--rm", image, "sh", "-c", "cat /opt/app/v; echo $MODE; test -e /etc/group && echo group-present || echo group-deleted");
        Ok(check);
        Assert.Equal("1\ncommitted\ngroup-deleted\n", check.Stdout);

        var meta = await d.DockerAsync("inspect", "-f", "{{.Author}}|{{.Comment}}|{{len .RootFS.Layers}}", image);
        Ok(meta);
        Assert.Equal("Tester <t@example.com>|a message|2", meta.Stdout.Trim());
        // dockerd's events: the new name's tag, then the container's commit naming the image.
        var events = await d.DockerAsync("events", "--since", since.ToString(), "--until", (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1).ToString(),
            "--filter", "event=commit", "--filter", "event=tag", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.imageRef}}");
        Ok(events);
        var seen = events.Stdout.Replace("<no value>", "");
        int tagAt = seen.IndexOf($"image tag {image} \n", StringComparison.Ordinal), commitAt = seen.IndexOf($"container commit {c} {image}\n", StringComparison.Ordinal);
        Assert.True(tagAt >= 0 && commitAt > tagAt, seen);
        Ok(await d.DockerAsync("rm", c));
        Ok(await d.DockerAsync("rmi", image));

        // An untouched container's commit adds no layer, only an empty history entry, as dockerd's.
        var untouched = Name("untouched");
        Ok(await d.DockerAsync("create", "--name", untouched, "busybox", "true"));
        Ok(await d.DockerAsync("commit", untouched, image));
        Assert.Equal("1", (await d.DockerAsync("inspect", "-f", "{{len .RootFS.Layers}}", image)).Stdout.Trim());
        Assert.Equal("0B", (await d.DockerAsync("history", "--format", "{{.Size}}", image)).Stdout.Split('\n')[0]);
        Ok(await d.DockerAsync("rm", untouched));
        Ok(await d.DockerAsync("rmi", image));
    }

    [Fact]
    public async Task ExportListsTheRootfs()
    {
        var c = Name("export");
        Ok(await d.DockerAsync("run", "--name", c, "-v", "/data", "busybox", "sh", "-c", "echo e > /exported && echo v > /data/in-volume"));
        var r = await d.ShellAsync($"DOCKER_HOST={d.DockerHost} docker export {c} | tar t");
        Ok(r);
        var names = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("bin/busybox", names);
        Assert.Contains("etc/passwd", names);
        Assert.Contains("exported", names);
        Assert.DoesNotContain("data/in-volume", names); // volumes are not part of the container's filesystem

        var file = Path.Combine(_work, "export.tar");
        Directory.CreateDirectory(_work);
        Ok(await d.DockerAsync("export", "-o", file, c));
        var t = await d.ShellAsync($"tar tf {file} | grep -c .");
        Assert.Equal(names.Length.ToString(), t.Stdout.Trim());
        Ok(await d.DockerAsync("rm", "-v", c));
    }

    [Fact]
    public async Task BadArchiveInputIs400AndTheDaemonKeepsServing()
    {
        var c = Name("bad");
        Ok(await d.DockerAsync("create", "--name", c, "busybox", "true"));
        var notTar = new ByteArrayContent(Encoding.UTF8.GetBytes(new string('x', 3000)));
        var put = await _api.SendAsync(HttpMethod.Put, $"/containers/{c}/archive?path=/tmp", content: notTar);
        Assert.Contains("invalid tar", EngineApi.AssertError(put, HttpStatusCode.BadRequest));

        EngineApi.AssertError(await _api.GetAsync($"/containers/{c}/archive?path=/tmp%00x"), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.GetAsync($"/containers/{c}/archive?path="), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.GetAsync($"/containers/{c}/archive"), HttpStatusCode.BadRequest);
        EngineApi.AssertError(await _api.GetAsync($"/containers/{c}/archive?path=/nope"), HttpStatusCode.NotFound);
        EngineApi.AssertError(await _api.GetAsync($"/containers/nosuch{d.Tag}/archive?path=/"), HttpStatusCode.NotFound);
        var head = await _api.SendAsync(HttpMethod.Head, $"/containers/{c}/archive?path=/etc/passwd");
        Assert.Equal(HttpStatusCode.OK, head.Status);
        var stat = Encoding.UTF8.GetString(Convert.FromBase64String(head.Headers.GetValues("X-Docker-Container-Path-Stat").Single()));
        Assert.Contains("\"name\":\"passwd\"", stat);
        Assert.Contains("\"mode\":420", stat); // 0644, no type bits: a regular file
        var dir = await _api.SendAsync(HttpMethod.Head, $"/containers/{c}/archive?path=/etc");
        Assert.Contains($"\"mode\":{(1u << 31) | 0x1ED}", Encoding.UTF8.GetString(Convert.FromBase64String(dir.Headers.GetValues("X-Docker-Container-Path-Stat").Single())));
        await _api.AssertAliveAsync();

        // Nothing of the bad body landed in the container.
        var diff = await d.DockerAsync("diff", c);
        Ok(diff);
        Assert.Equal("", diff.Stdout);
        Ok(await d.DockerAsync("rm", c));
    }

    [Fact]
    public async Task BerthCliCopiesDiffsExportsAndCommits()
    {
        var c = Name("berth");
        Ok(await d.BerthAsync("run", "--name", c, "busybox", "sh", "-c", "echo from-berth > /b && rm /etc/group"));
        var src = Path.Combine(_work, "bsrc");
        Directory.CreateDirectory(Path.Combine(src, "inner"));
        File.WriteAllText(Path.Combine(src, "inner", "f"), "berth-cp\n");
        Ok(await d.BerthAsync("cp", src, $"{c}:/copied"));
        var back = Path.Combine(_work, "bback");
        Ok(await d.BerthAsync("cp", $"{c}:/copied", back));
        Assert.Equal("berth-cp\n", File.ReadAllText(Path.Combine(back, "inner", "f")));
        var one = Path.Combine(_work, "b.txt");
        Ok(await d.BerthAsync("cp", $"{c}:/b", one));
        Assert.Equal("from-berth\n", File.ReadAllText(one));

        var diff = await d.BerthAsync("diff", c);
        Ok(diff);
        Assert.Equal("A /b\nA /copied\nA /copied/inner\nA /copied/inner/f\nC /etc\nD /etc/group\n", diff.Stdout);

        var tar = Path.Combine(_work, "b.tar");
        Ok(await d.BerthAsync("export", "-o", tar, c));
        Assert.Contains("copied/inner/f", (await d.ShellAsync($"tar tf {tar}")).Stdout.Split('\n'));

        var image = $"berthcommit{d.Tag}";
        var commit = await d.BerthAsync("commit", "-c", "CMD [\"cat\", \"/b\"]", c, image);
        Ok(commit);
        Assert.Matches("^sha256:[0-9a-f]{64}$", commit.Stdout.Trim());
        var run = await d.DockerAsync("run", "--rm", image);
        Ok(run);
        Assert.Equal("from-berth\n", run.Stdout);
        Ok(await d.DockerAsync("rm", c));
        Ok(await d.DockerAsync("rmi", image));
    }

    private async Task WaitForAsync(string c, string path)
    {
        for (int i = 0; i < 100; i++)
        {
            if ((await d.DockerAsync("exec", c, "test", "-e", path)).ExitCode == 0) return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"{path} did not appear in {c}");
    }
}
