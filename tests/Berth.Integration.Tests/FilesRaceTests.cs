namespace Berth.Integration.Tests;

/// <summary>
/// docker cp against a container that races it: it keeps swapping a path between a real entry and a symlink that
/// leads out of its root (dockerd's CVE-2018-15664). Whatever the timing, nothing may be written to or read from the
/// host; and entries below a volume land in the volume.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FilesRaceTests(DaemonFixture d) : IClassFixture<DaemonFixture>, IDisposable
{
    private const int Rounds = 50;
    private readonly string _work = Path.Combine(d.Root, "race-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    private string Name(string what) => $"{what}{d.Tag}{Guid.NewGuid().ToString("N")[..4]}";

    private static void Ok(CommandResult r) => Assert.True(r.ExitCode == 0, r.ToString());

    // Swaps two paths atomically with renameat2(RENAME_EXCHANGE) (busybox has no such tool; its mv/ln loop leaves a
    // gap between states far wider than the daemon's check-then-use windows), every PAUSE microseconds (0: as fast as
    // it can), bounded by count and by time. Usage: swap A B SECONDS PAUSE.
    private const string SwapSource = """
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <time.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            if (argc != 5) return 2;
            time_t end = time(NULL) + atoi(argv[3]);
            int pause = atoi(argv[4]);
            for (long i = 0; i < 500000000L; i++) {
                renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE);
                if (pause > 0) usleep(pause);
                if ((i & 4095) == 0 && time(NULL) >= end) break;
            }
            return 0;
        }
        """;

    /// <summary>The swapper, built static (the container has no libc), mounted read-only at /swap.</summary>
    private async Task<string> SwapperAsync()
    {
        Directory.CreateDirectory(_work);
        var src = Path.Combine(_work, "swap.c");
        var bin = Path.Combine(_work, "swap");
        await File.WriteAllTextAsync(src, SwapSource);
        Ok(await d.RunAsync("gcc", ["-static", "-O2", "-o", bin, src], null));
        return bin;
    }

    /// <summary>
    /// A directory named uniquely, with many files: every entry is another chance for a racy extractor to follow the
    /// swapped path while it is the link to / (the old code created /&lt;marker&gt; on the host).
    /// </summary>
    private (string Src, string HostDir) MarkerTree()
    {
        var marker = $"berth-race-put-{d.Tag}-{Guid.NewGuid():N}";
        var src = Path.Combine(_work, marker);
        Directory.CreateDirectory(src);
        for (int i = 0; i < 64; i++) File.WriteAllText(Path.Combine(src, $"f{i:D2}"), $"payload {i}\n");
        return (src, Path.Combine("/", marker));
    }

    /// <summary>Rounds of <c>docker cp SRC DEST</c>; the host's /&lt;marker&gt; must never appear.</summary>
    private async Task CopyRoundsAsync(string src, string dest, string hostDir, int rounds = Rounds)
    {
        int copied = 0;
        for (int round = 0; round < rounds && !Directory.Exists(hostDir); round++)
        {
            // Failures are expected (the directory is gone at times); escapes are not.
            if ((await d.DockerAsync("cp", src, dest)).ExitCode == 0) copied++;
        }
        Assert.False(Directory.Exists(hostDir), $"docker cp followed the container's symlink and created {hostDir} on the host");
        Assert.False(File.Exists(Path.Combine("/tmp", Path.GetFileName(hostDir))), "docker cp wrote into the host's /tmp");
        Assert.True(copied > 0, "no copy succeeded: the race test exercised nothing");
    }

    [Fact]
    public async Task PutIntoADirectorySwappedWithALinkToRootNeverWritesOnTheHost()
    {
        var (src, hostDir) = MarkerTree();
        var swap = await SwapperAsync();
        var c = Name("putrace");
        // /tmp/up is a directory one moment and a link to / the next.
        Ok(await d.DockerAsync("run", "-d", "--name", c, "-v", $"{swap}:/swap:ro", "busybox", "sh", "-c",
            "mkdir -p /tmp/up && ln -s / /tmp/l && exec /swap /tmp/up /tmp/l 300 200"));
        try
        {
            await CopyRoundsAsync(src, $"{c}:/tmp/up/", hostDir);
        }
        finally
        {
            if (Directory.Exists(hostDir)) Directory.Delete(hostDir, recursive: true);
            await d.DockerAsync("rm", "-f", c);
        }
    }

    [Fact]
    public async Task PutIntoAStoppedContainersVolumeThatAnotherContainerRacesNeverWritesOnTheHost()
    {
        var (src, hostDir) = MarkerTree();
        var swap = await SwapperAsync();
        var vol = Name("racesh");
        var target = Name("stoppedtarget");
        var racer = Name("racer");
        try
        {
            Ok(await d.DockerAsync("volume", "create", vol));
            Ok(await d.DockerAsync("create", "--name", target, "-v", $"{vol}:/shared", "busybox", "true"));
            // The target never runs; a second container with the same volume does the swapping.
            Ok(await d.DockerAsync("run", "-d", "--name", racer, "-v", $"{vol}:/shared", "-v", $"{swap}:/swap:ro", "busybox", "sh", "-c",
                "mkdir -p /shared/up && ln -s / /shared/l && exec /swap /shared/up /shared/l 300 200"));
            // Twice the rounds: each mounts and unmounts the stopped target's root, and the old code escaped here
            // after 14 to 25 rounds where a running target took 3 or 4.
            await CopyRoundsAsync(src, $"{target}:/shared/up/", hostDir, 2 * Rounds);
        }
        finally
        {
            if (Directory.Exists(hostDir)) Directory.Delete(hostDir, recursive: true);
            await d.DockerAsync("rm", "-f", racer, target);
            await d.DockerAsync("volume", "rm", "-f", vol);
        }
    }

    [Fact]
    public async Task GetOfAFileSwappedWithALinkToAHostFileNeverReturnsItsContent()
    {
        var swap = await SwapperAsync();
        var secretText = $"host-secret-{Guid.NewGuid():N}";
        var secret = Path.Combine(_work, "secret");
        File.WriteAllText(secret, secretText + "\n");

        var c = Name("getrace");
        // /tmp/f is a regular file one moment and a link to the host's secret the next. The file is longer than
        // the secret, so the size in its tar header would let the secret through.
        Ok(await d.DockerAsync("run", "-d", "--name", c, "-v", $"{swap}:/swap:ro", "busybox", "sh", "-c",
            $"echo inside-inside-inside-inside-inside-inside-inside-inside > /tmp/f && ln -s {secret} /tmp/l && exec /swap /tmp/f /tmp/l 300 10"));
        try
        {
            int read = 0;
            for (int round = 0; round < Rounds; round++)
            {
                var r = await d.DockerAsync("cp", $"{c}:/tmp/f", "-");
                Assert.DoesNotContain(secretText, r.Stdout);
                if (r.ExitCode == 0) read++;
            }
            Assert.True(read > 0, "no copy succeeded: the race test exercised nothing");
        }
        finally
        {
            await d.DockerAsync("rm", "-f", c);
        }
    }

    [Fact]
    public async Task EntriesBelowAVolumeLandInTheVolumeAndReadOnlyOnesAreRefused()
    {
        var vol = Name("racevol");
        var ro = Name("racero");
        var c = Name("volcp");
        var src = Path.Combine(_work, "tree");
        Directory.CreateDirectory(Path.Combine(src, "vol"));
        File.WriteAllText(Path.Combine(src, "vol", "a"), "into the volume\n");
        File.WriteAllText(Path.Combine(src, "top"), "into the rootfs\n");
        var one = Path.Combine(_work, "one");
        File.WriteAllText(one, "direct\n");
        try
        {
            Ok(await d.DockerAsync("volume", "create", vol));
            Ok(await d.DockerAsync("volume", "create", ro));
            Ok(await d.DockerAsync("run", "-d", "--name", c, "-v", $"{vol}:/data/vol", "-v", $"{ro}:/data/ro:ro",
                "busybox", "sh", "-c", "ln -s /data /cur && exec sleep 300"));
            // A tree extracted at /data: its vol/a crosses into the volume mounted at /data/vol.
            Ok(await d.DockerAsync("cp", src + "/.", $"{c}:/data"));
            // Through the container's own absolute link: /cur -> /data, resolved in the container's root.
            Ok(await d.DockerAsync("cp", one, $"{c}:/cur/vol/b"));
            var inside = await d.DockerAsync("exec", c, "cat", "/data/vol/a", "/data/top", "/data/vol/b");
            Ok(inside);
            Assert.Equal("into the volume\ninto the rootfs\ndirect\n", inside.Stdout);

            // Stopped, the copies still go to the volume: another container sees them there.
            Ok(await d.DockerAsync("stop", "-t", "1", c));
            Ok(await d.DockerAsync("cp", one, $"{c}:/data/vol/c"));
            var other = await d.DockerAsync("run", "--rm", "-v", $"{vol}:/v", "busybox", "cat", "/v/a", "/v/b", "/v/c");
            Ok(other);
            Assert.Equal("into the volume\ndirect\ndirect\n", other.Stdout);

            // A read-only volume refuses, with Docker's message.
            var refused = await d.DockerAsync("cp", one, $"{c}:/data/ro/x");
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("marked read-only", refused.Stderr);
            var empty = await d.DockerAsync("run", "--rm", "-v", $"{ro}:/v", "busybox", "ls", "-A", "/v");
            Ok(empty);
            Assert.Equal("", empty.Stdout);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", c);
            await d.DockerAsync("volume", "rm", "-f", vol, ro);
        }
    }

    [Fact]
    public async Task CommitOfARunningContainerThawsItAfterwards()
    {
        var c = Name("commitrun");
        var image = $"berth-race-commit-{d.Tag}";
        try
        {
            Ok(await d.DockerAsync("run", "-d", "--name", c, "busybox", "sh", "-c", "echo layer > /made && exec sleep 300"));
            Ok(await d.DockerAsync("commit", c, image)); // pause=true, the CLI's default
            Ok(await d.DockerAsync("commit", "--pause=false", c, image + ":nopause"));
            // Not left frozen: it runs, and an exec in it completes.
            Assert.Equal("running", (await d.DockerAsync("inspect", "-f", "{{.State.Status}}", c)).Stdout.Trim());
            var exec = await d.DockerAsync("exec", c, "cat", "/made");
            Ok(exec);
            Assert.Equal("layer\n", exec.Stdout);
            var fromImage = await d.DockerAsync("run", "--rm", image, "cat", "/made");
            Ok(fromImage);
            Assert.Equal("layer\n", fromImage.Stdout);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", c);
            await d.DockerAsync("rmi", "-f", image, image + ":nopause");
        }
    }

    [Fact]
    public async Task AnEntryThroughAnAbsoluteLinkResolvesFromTheContainersRoot()
    {
        // As in dockerd (chrootarchive): /data/cur -> /data/v2 and the entry cur/f extracted at /data give
        // /data/v2/f, the link resolved from the container's root, not from the extraction directory.
        var c = Name("curlink");
        using var api = new EngineApi(d.Socket);
        try
        {
            Ok(await d.DockerAsync("run", "-d", "--name", c, "busybox", "sh", "-c", "mkdir -p /data/v2 && ln -s /data/v2 /data/cur && exec sleep 300"));
            var ms = new MemoryStream();
            using (var w = new System.Formats.Tar.TarWriter(ms, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
                w.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "cur/f")
                {
                    DataStream = new MemoryStream("through the link\n"u8.ToArray()),
                    Mode = (UnixFileMode)Convert.ToInt32("644", 8),
                });
            var put = await api.SendAsync(HttpMethod.Put, $"/containers/{c}/archive?path=/data", content: new ByteArrayContent(ms.ToArray()));
            Assert.True(put.Status == System.Net.HttpStatusCode.OK, put.Body);
            var inside = await d.DockerAsync("exec", c, "sh", "-c", "cat /data/v2/f; ls /data/data 2>&1 | head -1");
            Ok(inside);
            Assert.StartsWith("through the link\n", inside.Stdout);
            Assert.Contains("No such file", inside.Stdout); // nothing under /data/data/v2
        }
        finally
        {
            await d.DockerAsync("rm", "-f", c);
        }
    }

    [Fact]
    public async Task AReadOnlyRootfsRefusesButItsWritableVolumeAccepts()
    {
        var vol = Name("rwvol");
        var c = Name("rocp");
        Directory.CreateDirectory(_work);
        var one = Path.Combine(_work, "one");
        File.WriteAllText(one, "into the volume\n");
        try
        {
            Ok(await d.DockerAsync("run", "-d", "--name", c, "--read-only", "-v", $"{vol}:/data", "busybox", "sleep", "300"));
            var refused = await d.DockerAsync("cp", one, $"{c}:/tmp/x");
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("container rootfs is marked read-only", refused.Stderr);
            Ok(await d.DockerAsync("cp", one, $"{c}:/data/x"));
            var inside = await d.DockerAsync("exec", c, "cat", "/data/x");
            Ok(inside);
            Assert.Equal("into the volume\n", inside.Stdout);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", c);
            await d.DockerAsync("volume", "rm", "-f", vol);
        }
    }
}
