namespace Berth.Integration.Tests;

/// <summary>COPY/ADD details where berthd must match Docker's classic builder (checked side by side with dockerd).</summary>
public sealed class BuildCopyParityTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private async Task<string> RunAsync(string image, string script)
    {
        var r = await d.DockerAsync("run", "--rm", "--network", "none", image, "sh", "-c", script);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout;
    }

    [Fact]
    public async Task CopiedTreesKeepTheirTimes_AndLoseSetUidAsDockersChownTakesIt()
    {
        // dockerd's builder writes what it copies, then chowns it: directories keep the context's times (filling them
        // does not count), and the kernel's chown takes set-user-ID (and set-group-ID with group execute) from files.
        var tag = "bcp-times-" + d.Tag;
        var dir = d.NewContext(("Dockerfile", "FROM busybox\nCOPY d /d\nCOPY s g /bin/\n"), ("d/sub/f", "x\n"), ("s", "s\n"), ("g", "g\n"));
        var prep = await d.ShellAsync($"cd {dir} && chmod 4755 s && chmod 2755 g && touch -d @1609459200 d/sub/f d/sub");
        Assert.True(prep.ExitCode == 0, prep.ToString());
        var b = await d.DockerBuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        Assert.Equal("1609459200 755\n1609459200 644\n755\n755\n",
            await RunAsync(tag, "stat -c '%Y %a' /d/sub /d/sub/f; stat -c '%a' /bin/s /bin/g"));
        await d.DockerAsync("rmi", tag);
    }

    [Fact]
    public async Task AddUnpacksXzAndBzip2Archives()
    {
        // ADD rootfs.tar.xz / is how base images are built; dockerd unpacks xz and bzip2 as it does gzip.
        var tag = "bcp-xz-" + d.Tag;
        var dir = d.NewContext(("Dockerfile", "FROM busybox\nADD a.tar.xz /x3/\nADD b.tbz2 /x4/\n"), ("src/u", "from xz\n"), ("src/v", "from bzip2\n"));
        var prep = await d.ShellAsync($"cd {dir} && tar -C src -cf - u | xz -c > a.tar.xz && tar -C src -cf - v | bzip2 -c > b.tbz2 && rm -r src");
        Assert.True(prep.ExitCode == 0, prep.ToString());
        var b = await d.DockerBuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);
        Assert.Equal("from xz\nfrom bzip2\n", await RunAsync(tag, "cat /x3/u /x4/v"));
        await d.DockerAsync("rmi", tag);
    }

    [Fact]
    public async Task OwnersNamesAndArchivesFollowDocker()
    {
        var tag = "bcp-own-" + d.Tag;
        var dir = d.NewContext(
            ("Dockerfile", """
                FROM busybox
                COPY passwd group /etc/
                COPY link /t1/
                COPY --chown=1000:1000 a.txt /t2/new/
                COPY --chown=bob a.txt /t3
                ADD --chown=1000:1000 t.tar /t4/
                """),
            ("a.txt", "hello\n"),
            ("passwd", "root:x:0:0:root:/root:/bin/sh\nbob:x:1234:2345::/home/bob:/bin/sh\n"),
            ("group", "root:x:0:\nbobprimary:x:2345:\nbob:x:777:\n"));
        File.CreateSymbolicLink(Path.Combine(dir, "link"), "a.txt");
        var r0 = await d.ShellAsync($"mkdir -p {dir}/tsrc && echo in > {dir}/tsrc/f && tar --owner=0 --group=0 -cf {dir}/t.tar -C {dir}/tsrc f && rm -r {dir}/tsrc");
        Assert.True(r0.ExitCode == 0, r0.ToString());
        var b = await d.DockerBuildAsync(dir, "-t", tag);
        Assert.True(b.ExitCode == 0, b.ToString() + d.DaemonLog);

        var o = await RunAsync(tag, "for f in /t1/link /t2 /t2/new /t2/new/a.txt /t3 /t4 /t4/f; do echo \"$f $(stat -c '%u:%g %F' $f)\"; done; cat /t1/link");
        Assert.Equal("""
            /t1/link 0:0 regular file
            /t2 1000:1000 directory
            /t2/new 1000:1000 directory
            /t2/new/a.txt 1000:1000 regular file
            /t3 1234:777 regular file
            /t4 0:0 directory
            /t4/f 0:0 regular file
            hello

            """.Replace("\r", ""), o);
        await d.DockerAsync("rmi", tag);
    }

    [Fact]
    public async Task WildcardsNeverWalkThroughALinkToTheHost()
    {
        var dir = d.NewContext(("Dockerfile", "FROM busybox\nCOPY sysetc/host* /x/\n"));
        File.CreateSymbolicLink(Path.Combine(dir, "sysetc"), "/etc");
        var b = await d.DockerBuildAsync(dir);
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains("COPY failed: no source files were specified", b.Stdout);

        // A non-wildcard path through the same link resolves inside the context, where there is no etc/hostname.
        File.WriteAllText(Path.Combine(dir, "Dockerfile"), "FROM busybox\nCOPY sysetc/hostname /x\n");
        var b2 = await d.DockerBuildAsync(dir);
        Assert.NotEqual(0, b2.ExitCode);
        Assert.Contains("COPY failed: file not found in build context or excluded by .dockerignore: stat sysetc/hostname: file does not exist", b2.Stdout);
    }

    [Fact]
    public async Task ErrorsReadLikeDockers()
    {
        var dir = d.NewContext(("Dockerfile", "FROM busybox\nCOPY --from=busybox /nothere /p\n"), ("a", "a"));
        var b = await d.DockerBuildAsync(dir);
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains("\nCOPY failed: stat nothere: file does not exist", b.Stdout);

        File.WriteAllText(Path.Combine(dir, "Dockerfile"), "FROM busybox\nCOPY --chown=nobody2 a /p\n");
        b = await d.DockerBuildAsync(dir);
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains("\nunable to convert uid/gid chown string to host mapping: can't find uid for user nobody2: no such user: nobody2", b.Stdout);

        File.WriteAllText(Path.Combine(dir, "Dockerfile"), "FROM busybox\nCOPY a Dockerfile /p\n");
        b = await d.DockerBuildAsync(dir);
        Assert.NotEqual(0, b.ExitCode);
        Assert.Contains("\nWhen using COPY with more than one source file, the destination must be a directory and end with a /", b.Stdout);
    }
}
