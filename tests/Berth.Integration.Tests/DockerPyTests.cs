namespace Berth.Integration.Tests;

/// <summary>
/// docker-py (Debian's python3-docker, which speaks only the legacy build protocol) against berthd: builds from a
/// directory and from a lone Dockerfile, a failing build, and the JSON streams it decodes itself (build, events, stats).
/// </summary>
public sealed class DockerPyTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    /// <summary>Runs <paramref name="script"/> with Debian's python3 and docker-py, <c>c</c> a client of the test daemon.</summary>
    private async Task<CommandResult> PyAsync(string script)
    {
        var file = Path.Combine(d.Root, $"py-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(file, $"import docker, io, sys, time\nc = docker.DockerClient(base_url=\"unix://{d.Socket}\", version=\"auto\", timeout=120)\n{script}");
        try { return await d.RunAsync("/usr/bin/python3", [file], null); }
        finally { File.Delete(file); }
    }

    [Fact]
    public async Task BuildsRunsAndReportsFailures()
    {
        string tag = "py-build-" + d.Tag, lone = "py-lone-" + d.Tag, failed = "py-failed-" + d.Tag;
        var dir = d.NewContext(
            ("Dockerfile", "FROM busybox AS base\nARG WHO=nobody\nRUN echo \"hi $WHO\" > /greet\nFROM base AS final\nLABEL kind=final\nCOPY f /f\nCMD [\"cat\", \"/greet\", \"/f\"]\nFROM final AS never\nRUN exit 9\n"),
            ("f", "from the context\n"));
        try
        {
            var r = await PyAsync($$"""
                img, logs = c.images.build(path="{{dir}}", tag="{{tag}}", buildargs={"WHO": "py"}, labels={"by": "docker-py"},
                                           target="final", rm=True, forcerm=True, nocache=True)
                out = "".join(l.get("stream", "") for l in logs)
                assert "Step 1/" in out and "Successfully built" in out, out
                print(img.tags, img.labels["kind"], img.labels["by"])
                # containers.run reads HostConfig.LogConfig back to fetch the output.
                print(c.containers.run("{{tag}}", remove=True).decode(), end="")
                img, _ = c.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN echo lone > /x\n"), tag="{{lone}}")
                print(c.containers.run("{{lone}}", "cat /x", remove=True).decode(), end="")
                try:
                    c.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN echo failing && exit 7\n"), tag="{{failed}}")
                    print("no error")
                except docker.errors.BuildError as e:
                    print("BuildError:", e.msg)
                    # The step's own output is in the log the error carries.
                    print("log:", "".join(l.get("stream", "") for l in e.build_log).splitlines().count("failing"))
                """);
            Assert.True(r.ExitCode == 0, r.ToString() + d.DaemonLog);
            Assert.Equal(
                $"['{tag}:latest'] final docker-py\nhi py\nfrom the context\nlone\n" +
                "BuildError: The command '/bin/sh -c echo failing && exit 7' returned a non-zero code: 7\nlog: 1\n", r.Stdout);
            Assert.Equal(1, (await d.DockerAsync("image", "inspect", failed)).ExitCode);
            Assert.Equal("", (await d.DockerAsync("ps", "-aq", "--filter", "ancestor=busybox", "--filter", "status=exited")).Stdout.Trim());
        }
        finally
        {
            await d.DockerAsync("rmi", tag, lone);
        }
    }

    [Fact]
    public async Task BuildOptionsAsDockerPySendsThem()
    {
        // A gzipped context, quiet, the RUN containers' limits, hosts, /dev/shm and network.
        var tag = "py-opts-" + d.Tag;
        var dir = d.NewContext(("Dockerfile", $"FROM busybox\nRUN ({BuildSupport.LimitsScript}; ls /sys/class/net | tr '\\n' ' ') > /limits\n"));
        try
        {
            var r = await PyAsync($$"""
                img, logs = c.images.build(path="{{dir}}", tag="{{tag}}", gzip=True, quiet=True, nocache=True,
                                           container_limits={"memory": 64 * 1024 * 1024, "cpushares": 512},
                                           extra_hosts={"myhost": "10.1.2.3"}, shmsize=16 * 1024 * 1024, network_mode="none")
                logs = list(logs)
                print(len(logs) <= 2, img.id in "".join(l.get("stream", "") for l in logs))
                print(c.containers.run("{{tag}}", "cat /limits", remove=True, network_mode="none").decode(), end="")
                """);
            Assert.True(r.ExitCode == 0, r.ToString() + d.DaemonLog);
            var lines = r.Stdout.Split('\n');
            Assert.Equal("True True", lines[0]);
            // memory, cpu quota (none asked), the host entry, the open-files limits, /dev/shm in kB, and only loopback.
            Assert.Matches(@"^67108864\n(-1|max)\n10\.1\.2\.3\tmyhost\n\d+\n\d+\n16384\nlo \n?$", string.Join('\n', lines[1..]));
        }
        finally
        {
            await d.DockerAsync("rmi", tag);
        }
    }

    [Fact]
    public async Task DecodedStreamsEndCleanly()
    {
        // Each JSON line is one chunk: docker-py's decoder fails on a last chunk holding only a line's end.
        var name = "py-streams-" + d.Tag;
        try
        {
            var r = await PyAsync($$"""
                since = int(time.time()) - 1
                ct = c.containers.run("busybox", "sleep 30", detach=True, name="{{name}}")
                stats = ct.stats(stream=True, decode=True)
                print("stats", "memory_stats" in next(stats))
                ct.stop(timeout=1)
                events = list(c.events(since=since, until=int(time.time()) + 1, decode=True, filters={"container": "{{name}}"}))
                print("events", [e["Action"] for e in events if e["Action"] in ("create", "start", "die", "stop")])
                """);
            Assert.Contains("stats True\nevents ['create', 'start', 'die', 'stop']\n", r.Stdout);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task ContainersVolumesAndNetworksThroughDockerPy()
    {
        string name = "py-c-" + d.Tag, vol = "py-vol-" + d.Tag, net = "py-net-" + d.Tag;
        try
        {
            var r = await PyAsync($$$"""
                import tarfile
                v = c.volumes.create("{{{vol}}}")
                n = c.networks.create("{{{net}}}")
                ct = c.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2; sleep 300"], detach=True, name="{{{name}}}",
                                      volumes={"{{{vol}}}": {"bind": "/data", "mode": "rw"}}, network="{{{net}}}", ports={"80/tcp": ("127.0.0.1", None)},
                                      # docker-py sends the fields left out as nulls, which dockerd reads as zeros.
                                      healthcheck={"test": ["CMD", "true"], "interval": 200000000})
                for _ in range(50):
                    ct.reload()
                    if ct.logs() == b"out\nerr\n" and ct.attrs["State"]["Health"]["Status"] == "healthy": break
                    time.sleep(0.1)
                print("health", ct.attrs["State"]["Health"]["Status"], ct.attrs["Config"]["Healthcheck"])
                print(ct.status, ct.logs(stderr=False).decode().strip(), ct.logs(stdout=False).decode().strip())
                print("port", ct.ports["80/tcp"][0]["HostIp"], int(ct.ports["80/tcp"][0]["HostPort"]) > 0)
                r = ct.exec_run(["sh", "-c", "echo hi > /data/f; echo o; echo e >&2; exit 3"], demux=True)
                print("exec", r.exit_code, r.output)
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode="w") as t:
                    data = b"put"; ti = tarfile.TarInfo("put.txt"); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
                print("put", ct.put_archive("/tmp", buf.getvalue()))
                bits, stat = ct.get_archive("/tmp/put.txt")
                with tarfile.open(fileobj=io.BytesIO(b"".join(bits))) as t:
                    print("get", stat["name"], t.extractfile("put.txt").read())
                print("top", "PID" in ct.top()["Titles"])
                print("net", list(c.networks.get("{{{net}}}").attrs["Containers"]) == [ct.id])
                ct.stop(timeout=1)
                print("wait", ct.wait()["StatusCode"])
                ct.remove()
                print("data", c.containers.run("busybox", "cat /data/f", volumes={"{{{vol}}}": {"bind": "/data"}}, remove=True))
                n.remove(); v.remove()
                """);
            Assert.True(r.ExitCode == 0, r.ToString() + d.DaemonLog);
            Assert.Equal(
                "health healthy {'Test': ['CMD', 'true'], 'Interval': 200000000}\n" +
                "running out err\nport 127.0.0.1 True\nexec 3 (b'o\\n', b'e\\n')\nput True\nget put.txt b'put'\ntop True\nnet True\n" +
                "wait 137\ndata b'hi\\n'\n", r.Stdout);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", name);
            await d.DockerAsync("network", "rm", net);
            await d.DockerAsync("volume", "rm", vol);
        }
    }
}
