using System.Text;
using Berth.Core;
using Berth.Runtime.Logs;
using Berth.Runtime.Shim;
using Berth.Runtime.Spec;

namespace Berth.Runtime.Tests;

/// <summary>Real containers: runc + berth-shim + a busybox rootfs, as root.</summary>
public sealed class ContainerTests
{
    private static async Task<(ExitStatus Exit, string Log)> RunAsync(params string[] args) =>
        await RunAsync(s => s with { Args = args });

    private static async Task<(ExitStatus Exit, string Log)> RunAsync(Func<ContainerProcessSpec, ContainerProcessSpec> edit)
    {
        await using var c = TestContainer.Prepare(edit: edit);
        var exit = await c.RunAsync();
        return (exit, c.ReadLog());
    }

    private static string Output(string log)
    {
        var sb = new StringBuilder();
        foreach (var line in log.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (JsonFileLog.Parse(Encoding.UTF8.GetBytes(line)) is { } e) sb.Append(Encoding.UTF8.GetString(e.Log));
        return sb.ToString();
    }

    [Fact]
    public async Task EchoHi_WritesDockerJsonLine_AndExitsZero()
    {
        if (!TestEnv.CanRunContainers) return;
        var (exit, log) = await RunAsync("echo", "hi");
        Assert.Equal(0, exit.ExitCode);
        Assert.False(exit.OomKilled);
        Assert.Matches("""^\{"log":"hi\\n","stream":"stdout","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"\}\n$""", log);
    }

    [Fact]
    public async Task ExitCode_IsRecorded()
    {
        if (!TestEnv.CanRunContainers) return;
        await using var c = TestContainer.Prepare(args: ["sh", "-c", "echo oops >&2; exit 7"]);
        var exit = await c.RunAsync();
        Assert.Equal(7, exit.ExitCode);
        Assert.Contains("\"stream\":\"stderr\"", c.ReadLog());
        // The record on disk outlives the shim.
        Assert.Equal(7, ShimClient.ReadExitStatus(c.StateDir)!.ExitCode);
    }

    [Fact]
    public async Task MissingExecutable_FailsLaunch_WithRuncMessage()
    {
        if (!TestEnv.CanRunContainers) return;
        await using var c = TestContainer.Prepare(args: ["nosuch"]);
        var e = await Assert.ThrowsAsync<BerthException>(() => c.LaunchAsync());
        Assert.Contains("exec: \"nosuch\": executable file not found in $PATH", e.Message);
    }

    [Fact]
    public async Task Stdin_IsPipedToCat_AndAttachSeesOutputFromStart()
    {
        if (!TestEnv.CanRunContainers) return;
        await using var c = TestContainer.Prepare(args: ["cat"]);
        var shim = await c.LaunchAsync(openStdin: true, stdinOnce: true);
        await using var attach = await shim.AttachAsync(stdin: true, stdout: true, stderr: true);
        await shim.StartAsync();
        await attach.WriteStdinAsync("hello berth\n"u8.ToArray());
        await attach.CloseStdinAsync();
        var got = new StringBuilder();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var chunk in attach.ReadOutputAsync(cts.Token))
        {
            Assert.Equal(1, chunk.Stream);
            got.Append(Encoding.UTF8.GetString(chunk.Data.Span));
        }
        Assert.Equal("hello berth\n", got.ToString());
        Assert.Equal(0, attach.Exit!.ExitCode);
        Assert.Equal(0, (await TestContainer.WaitAsync(shim)).ExitCode);
        Assert.Contains("hello berth\\n", c.ReadLog());
    }

    [Fact]
    public async Task LargeOutput_ReachesAttachAndLog_Completely()
    {
        if (!TestEnv.CanRunContainers) return;
        // 20000 lines of 100 bytes, on both streams at once.
        await using var c = TestContainer.Prepare(args: ["sh", "-c",
            "head -c 1000000 /dev/zero | tr '\\0' x | fold -w 99 & head -c 1000000 /dev/zero | tr '\\0' y | fold -w 99 >&2; wait"]);
        var shim = await c.LaunchAsync();
        await using var attach = await shim.AttachAsync(stdin: false, stdout: true, stderr: true);
        await shim.StartAsync();
        long[] bytes = new long[3];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await foreach (var chunk in attach.ReadOutputAsync(cts.Token)) bytes[chunk.Stream] += chunk.Data.Length;
        Assert.Equal(0, attach.Exit!.ExitCode);
        Assert.Equal(1_010_101, bytes[1]);
        Assert.Equal(1_010_101, bytes[2]);
        var entries = new List<Berth.Runtime.Logs.LogEntry>();
        await foreach (var e in JsonFileLog.ReadAsync(c.LogPath, new LogReadOptions(), cts.Token)) entries.Add(e);
        Assert.Equal(1_010_101, entries.Where(e => e.Stream == "stdout").Sum(e => (long)e.Log.Length));
        Assert.Equal(1_010_101, entries.Where(e => e.Stream == "stderr").Sum(e => (long)e.Log.Length));
        Assert.All(entries, e => Assert.True(e.Log.Length <= 100));
    }

    [Fact]
    public async Task Exec_RunsInTheContainer_WithItsOwnStreamsAndExitCode()
    {
        if (!TestEnv.CanRunContainers) return;
        await using var c = TestContainer.Prepare(edit: s => s with { Args = ["sleep", "100"], Env = ["FROM_IMAGE=1"] });
        var shim = await c.LaunchAsync();
        var notRunning = await Assert.ThrowsAsync<BerthException>(() => shim.ExecAsync(new ExecRequest { ExecId = "e0", Args = ["true"] }));
        Assert.Equal(ErrorKind.Conflict, notRunning.Kind);
        await shim.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        await using (var exec = await shim.ExecAsync(new ExecRequest
        {
            ExecId = "e1", Args = ["sh", "-c", "echo out $FROM_IMAGE $EXTRA $(hostname) $(pwd); echo err >&2; exit 3"],
            Env = ["EXTRA=2"], Cwd = "/tmp",
        }, cts.Token))
        {
            Assert.True(exec.Pid > 0);
            var streams = new StringBuilder[3] { new(), new(), new() };
            await foreach (var chunk in exec.ReadOutputAsync(cts.Token)) streams[chunk.Stream].Append(Encoding.UTF8.GetString(chunk.Data.Span));
            Assert.Equal("out 1 2 berthtest /tmp\n", streams[1].ToString());
            Assert.Equal("err\n", streams[2].ToString());
            Assert.Equal(3, exec.Exit!.ExitCode);
        }

        await using (var exec = await shim.ExecAsync(new ExecRequest { ExecId = "e2", Args = ["cat"], Stdin = true }, cts.Token))
        {
            await exec.WriteStdinAsync("piped\n"u8.ToArray(), cts.Token);
            await exec.CloseStdinAsync(ct: cts.Token);
            var got = new StringBuilder();
            await foreach (var chunk in exec.ReadOutputAsync(cts.Token)) got.Append(Encoding.UTF8.GetString(chunk.Data.Span));
            Assert.Equal("piped\n", got.ToString());
            Assert.Equal(0, exec.Exit!.ExitCode);
        }

        var missing = await Assert.ThrowsAsync<BerthException>(() => shim.ExecAsync(new ExecRequest { ExecId = "e3", Args = ["nosuch"] }, cts.Token));
        Assert.Contains("exec: \"nosuch\": executable file not found in $PATH", missing.Message);
        // Exec output stays out of the container's log.
        Assert.DoesNotContain("piped", c.ReadLog());

        await shim.KillAsync(9);
        Assert.Equal(137, (await TestContainer.WaitAsync(shim)).ExitCode);
    }

    [Fact]
    public async Task Terminal_ContainerAndExec_GetAPty_AndResize()
    {
        if (!TestEnv.CanRunContainers) return;
        await using var c = TestContainer.Prepare(edit: s => s with { Terminal = true, Args = ["sh", "-c", "tty; stty size; echo typed: $(head -n1)"] });
        var shim = await c.LaunchAsync(openStdin: true);
        await shim.ResizeAsync(30, 100);
        await using var attach = await shim.AttachAsync(stdin: true, stdout: true, stderr: true);
        await shim.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var got = new StringBuilder();
        bool typed = false;
        await foreach (var chunk in attach.ReadOutputAsync(cts.Token))
        {
            Assert.Equal(1, chunk.Stream);
            got.Append(Encoding.UTF8.GetString(chunk.Data.Span));
            // Type only once the prompt-less script is waiting, so the echo lands after its first lines.
            if (!typed && got.ToString().EndsWith("30 100\r\n", StringComparison.Ordinal))
            {
                typed = true;
                await attach.WriteStdinAsync("abc\n"u8.ToArray(), cts.Token);
            }
        }
        // The terminal echoes the input and turns \n into \r\n, as with docker run -t.
        Assert.Equal("/dev/pts/0\r\n30 100\r\nabc\r\ntyped: abc\r\n", got.ToString());
        Assert.Contains("{\"log\":\"/dev/pts/0\\r\\n\",\"stream\":\"stdout\"", c.ReadLog());

        await using var c2 = TestContainer.Prepare(args: ["sleep", "100"]);
        var shim2 = await c2.LaunchAsync();
        await Assert.ThrowsAsync<BerthException>(() => shim2.ResizeAsync(10, 10));
        await shim2.StartAsync();
        await using (var exec = await shim2.ExecAsync(new ExecRequest { ExecId = "t1", Args = ["sh", "-c", "tty; stty size"], Tty = true, Stdin = true, ConsoleHeight = 24, ConsoleWidth = 80 }, cts.Token))
        {
            var output = new StringBuilder();
            await foreach (var chunk in exec.ReadOutputAsync(cts.Token)) output.Append(Encoding.UTF8.GetString(chunk.Data.Span));
            Assert.Matches("^/dev/pts/\\d+\r\n24 80\r\n$", output.ToString());
            Assert.Equal(0, exec.Exit!.ExitCode);
        }
        await shim2.KillAsync(9);
        await TestContainer.WaitAsync(shim2);
    }

    [Fact]
    public async Task Kill_DeliversSignals_AndKillExitCodeIs128PlusSignal()
    {
        if (!TestEnv.CanRunContainers) return;
        // pid 1 only receives signals it handles, so SIGTERM needs a trap; SIGKILL always lands.
        await using (var c = TestContainer.Prepare(args: ["sh", "-c", "trap 'exit 143' TERM; echo ready; sleep 100 & wait"]))
        {
            var shim = await c.LaunchAsync();
            await shim.StartAsync();
            await WaitForLogAsync(c, "ready");
            await shim.KillAsync(15);
            Assert.Equal(143, (await TestContainer.WaitAsync(shim)).ExitCode);
        }
        await using (var c = TestContainer.Prepare(args: ["sleep", "100"]))
        {
            var shim = await c.LaunchAsync();
            await shim.StartAsync();
            await shim.KillAsync(9, all: true);
            Assert.Equal(137, (await TestContainer.WaitAsync(shim)).ExitCode);
            await Assert.ThrowsAsync<BerthException>(() => shim.KillAsync(9));
            await shim.DeleteAsync();
        }
    }

    [Fact]
    public async Task Shim_OutlivesItsClient_AndCanBeReadopted()
    {
        if (!TestEnv.CanRunContainers) return;
        await using var c = TestContainer.Prepare(args: ["sh", "-c", "read x; echo got $x"]);
        var first = await c.LaunchAsync(openStdin: true);
        Assert.True(first.Pid > 0);
        // Its own session: a signal to the launcher's process group does not reach it.
        var stat = File.ReadAllText($"/proc/{first.ShimPid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        Assert.Equal(first.ShimPid.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[3]);

        var again = ShimClient.TryConnect(c.SocketPath);
        Assert.NotNull(again);
        Assert.Equal(first.Pid, again.Pid);
        Assert.Equal("created", (await again.StateAsync()).Status);
        await again.StartAsync();
        Assert.Equal("running", (await again.StateAsync()).Status);
        var waiting = TestContainer.WaitAsync(again);

        var third = ShimClient.TryConnect(c.SocketPath)!;
        await using (var a = await third.AttachAsync(stdin: true, stdout: false, stderr: false))
            await a.WriteStdinAsync("42\n"u8.ToArray());
        var exit = await waiting;
        Assert.Equal(0, exit.ExitCode);
        Assert.Contains("got 42", Output(c.ReadLog()));
        await third.DeleteAsync();
        for (int i = 0; i < 100 && ShimClient.TryConnect(c.SocketPath) is not null; i++) await Task.Delay(50);
        Assert.Null(ShimClient.TryConnect(c.SocketPath));
        // Gone shim: the recorded status still answers.
        Assert.Equal(0, (await third.WaitAsync()).ExitCode);
    }

    [Fact]
    public async Task Shim_SurvivesKill9OfItsParent()
    {
        if (!TestEnv.CanRunContainers) return;
        await using var c = TestContainer.Prepare(args: ["sh", "-c", "for i in 1 2 3; do echo tick$i; sleep 0.1; done"]);
        // A throwaway parent stands in for the daemon; the shim must keep serving after it is SIGKILLed.
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("\"$0\" \"$@\" & wait");
        psi.ArgumentList.Add(TestEnv.ShimPath);
        foreach (var a in ShimClient.ShimArgs(c.Options())) psi.ArgumentList.Add(a);
        using var parent = System.Diagnostics.Process.Start(psi)!;
        Assert.StartsWith("ok ", await parent.StandardOutput.ReadLineAsync());
        parent.Kill();
        await parent.WaitForExitAsync();

        var shim = ShimClient.TryConnect(c.SocketPath);
        Assert.NotNull(shim);
        await shim.StartAsync();
        Assert.Equal(0, (await TestContainer.WaitAsync(shim)).ExitCode);
        Assert.Equal("tick1\ntick2\ntick3\n", Output(c.ReadLog()));
    }

    [Fact]
    public async Task DefaultSeccomp_IsActive_AndPrivilegedLiftsIt()
    {
        if (!TestEnv.CanRunContainers) return;
        var (exit, log) = await RunAsync("sh", "-c", "grep -E '^(Seccomp|CapEff):' /proc/self/status; unshare -U true && echo UNSHARED || echo DENIED");
        Assert.Equal(0, exit.ExitCode);
        var output = Output(log);
        Assert.Matches(@"Seccomp:\s+2", output);
        Assert.Matches(@"CapEff:\s+00000000a80425fb", output);
        Assert.Contains("DENIED", output);
        Assert.Contains("Operation not permitted", output);

        (exit, log) = await RunAsync(s => s with { Privileged = true, Args = ["sh", "-c", "grep -E '^Seccomp:' /proc/self/status"] });
        Assert.Matches(@"Seccomp:\s+0", Output(log));
    }

    [Fact]
    public async Task MaskedAndReadonlyPaths_Apply()
    {
        if (!TestEnv.CanRunContainers) return;
        // Masked files read as /dev/null, masked directories as an empty tmpfs (which of them exist depends on the kernel).
        var (exit, log) = await RunAsync("sh", "-c", "cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo WROTE || echo ROFS");
        var output = Output(log);
        Assert.Equal(0, exit.ExitCode);
        Assert.StartsWith("0\n0\n", output);
        Assert.Contains("ROFS", output);
    }

    [Fact]
    public async Task NewNetworkNamespace_HasOnlyLoopback()
    {
        if (!TestEnv.CanRunContainers) return;
        var (exit, log) = await RunAsync("ip", "-o", "link");
        Assert.Equal(0, exit.ExitCode);
        var links = Output(log).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(links);
        Assert.Contains(": lo:", links[0]);
    }

    [Fact]
    public async Task ReadonlyRootfs_RefusesWrites()
    {
        if (!TestEnv.CanRunContainers) return;
        var (exit, log) = await RunAsync(s => s with { ReadonlyRootfs = true, Args = ["touch", "/x"] });
        Assert.NotEqual(0, exit.ExitCode);
        Assert.Contains("Read-only file system", Output(log));
    }

    [Fact]
    public async Task Limits_LandInTheCgroup()
    {
        if (!TestEnv.CanRunContainers) return;
        await using var c = TestContainer.Prepare(edit: s => s with
        {
            Args = ["sleep", "100"],
            Memory = 64 * 1024 * 1024,
            PidsLimit = 42,
            NanoCpus = 500_000_000,
        });
        var shim = await c.LaunchAsync();
        var cg = c.CgroupsPath.TrimStart('/');
        Assert.Equal("67108864", File.ReadAllText($"/sys/fs/cgroup/memory/{cg}/memory.limit_in_bytes").Trim());
        Assert.Equal("42", File.ReadAllText($"/sys/fs/cgroup/pids/{cg}/pids.max").Trim());
        Assert.Equal("50000", File.ReadAllText($"/sys/fs/cgroup/cpu/{cg}/cpu.cfs_quota_us").Trim());
        Assert.Contains(shim.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            File.ReadAllText($"/sys/fs/cgroup/pids/{cg}/cgroup.procs"));
        // Never started: delete kills the waiting init and the shim records it.
        await shim.DeleteAsync();
        Assert.NotNull(ShimClient.ReadExitStatus(c.StateDir));
    }

    [Fact]
    public async Task MemoryLimit_OomKill_IsReported()
    {
        if (!TestEnv.CanRunContainers) return;
        await using var c = TestContainer.Prepare(edit: s => s with
        {
            // The shell keeps the whole 64 MiB in a variable: far over the 16 MiB limit.
            Args = ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived"],
            Memory = 16 * 1024 * 1024,
        });
        var exit = await c.RunAsync();
        Assert.Equal(137, exit.ExitCode);
        Assert.True(exit.OomKilled);
    }

    [Fact]
    public async Task LogFollow_EndsWhenContainerStops()
    {
        if (!TestEnv.CanRunContainers) return;
        await using var c = TestContainer.Prepare(args: ["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done"]);
        var shim = await c.LaunchAsync();
        await shim.StartAsync();
        var stop = TestContainer.WaitAsync(shim);
        var lines = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var e in JsonFileLog.ReadAsync(c.LogPath, new LogReadOptions { Follow = true, StopFollowing = stop }, cts.Token))
            lines.Add(Encoding.UTF8.GetString(e.Log));
        Assert.Equal(["line1\n", "line2\n", "line3\n"], lines);
    }

    private static async Task WaitForLogAsync(TestContainer c, string text)
    {
        for (int i = 0; i < 300 && !c.ReadLog().Contains(text, StringComparison.Ordinal); i++) await Task.Delay(50);
    }
}
