using System.Runtime.InteropServices;
using System.Text;
using Berth.Core;
using Berth.Core.Interop;
using Berth.Runtime.Shim;

namespace Berth.Runtime.Tests;

/// <summary>
/// The shim's warm exec gate: after an exec, the next exec of the same kind runs on a process runc has already set
/// up inside the container, and must behave exactly like a runc exec (output, environment, HOME, stdin, exit code,
/// runc's error texts), leave with the container, and never be a way to alter the gate program.
/// </summary>
public sealed partial class ExecGateTests
{
    private const string GateCmdline = "/proc/self/fd/5\0berth-exec-gate\0";

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, int arg);

    private static bool GateBuilt => File.Exists(Path.Combine(Path.GetDirectoryName(TestEnv.ShimPath)!, "berth-exec-gate"));

    /// <summary>The waiting gate among the shim's children, if any.</summary>
    private static int? FindGate(int shimPid)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")) != GateCmdline) continue;
                var ppid = File.ReadLines(Path.Combine(dir, "status")).First(l => l.StartsWith("PPid:", StringComparison.Ordinal))[5..].Trim();
                if (ppid == shimPid.ToString(System.Globalization.CultureInfo.InvariantCulture)) return pid;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException) { }
        }
        return null;
    }

    private static async Task<int> WaitForGateAsync(int shimPid)
    {
        for (int i = 0; i < 200; i++)
        {
            if (FindGate(shimPid) is { } pid) return pid;
            await Task.Delay(50);
        }
        throw new TimeoutException("no exec gate appeared");
    }

    private static async Task<(string Out, string Err, int Code, int Pid)> ExecAsync(ShimClient shim, ExecRequest req, string? stdin = null)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var exec = await shim.ExecAsync(req, cts.Token);
        if (stdin is not null)
        {
            await exec.WriteStdinAsync(Encoding.UTF8.GetBytes(stdin), cts.Token);
            await exec.CloseStdinAsync(ct: cts.Token);
        }
        var streams = new StringBuilder[3] { new(), new(), new() };
        await foreach (var chunk in exec.ReadOutputAsync(cts.Token)) streams[chunk.Stream].Append(Encoding.UTF8.GetString(chunk.Data.Span));
        return (streams[1].ToString(), streams[2].ToString(), exec.Exit!.ExitCode, exec.Pid);
    }

    [Fact]
    public async Task SecondExecOfAKind_RunsOnTheGate_ExactlyLikeRunc()
    {
        if (!TestEnv.CanRunContainers || !GateBuilt) return;
        await using var c = TestContainer.Prepare(edit: s => s with { Args = ["sleep", "100"], Env = ["FROM_IMAGE=1"] });
        var shim = await c.LaunchAsync();
        await shim.StartAsync();
        // Fields 19 and 41 of stat are the nice value and the scheduling policy: gates are prepared at a lower
        // priority, commands run at the ordinary one (0 0), as with runc.
        const string Script = "echo $HOME $FROM_IMAGE $EXTRA; pwd; id -u; readlink /proc/self/fd/0; cut -d' ' -f19,41 /proc/self/stat; echo err >&2; exit 7";

        // The first exec runs runc; the gate for the next one appears as the shim's child, running the sealed program.
        var cold = await ExecAsync(shim, new ExecRequest { ExecId = "c1", Args = ["sh", "-c", Script], Env = ["EXTRA=a"] });
        int gate = await WaitForGateAsync(shim.ShimPid);
        Assert.NotEqual(cold.Pid, gate);
        using (var exe = File.OpenHandle($"/proc/{gate}/exe", FileMode.Open, FileAccess.Read))
        {
            // F_GET_SEALS: seal, shrink, grow and write, the set runc itself trusts as an unalterable copy.
            Assert.Equal(15, Fcntl((int)exe.DangerousGetHandle(), 1034, 0));
        }
        Assert.ThrowsAny<Exception>(() => File.OpenHandle($"/proc/{gate}/exe", FileMode.Open, FileAccess.Write).Dispose());

        var warm = await ExecAsync(shim, new ExecRequest { ExecId = "w1", Args = ["sh", "-c", Script], Env = ["EXTRA=a"] });
        Assert.Equal(gate, warm.Pid);
        Assert.Equal(cold with { Pid = 0 }, warm with { Pid = 0 });
        Assert.Equal("/root 1 a\n/\n0\n/dev/null\n0 0\n", warm.Out);
        Assert.Equal("err\n", warm.Err);
        Assert.Equal(7, warm.Code);

        // The gate left a successor (its clone, with all of runc's set-up) as the next gate: ready at once, no runc run.
        var successor = FindGate(shim.ShimPid);
        Assert.NotNull(successor);
        Assert.NotEqual(gate, successor);

        // Stdin, an environment override of HOME, on the successor.
        gate = successor.Value;
        var cat = await ExecAsync(shim, new ExecRequest { ExecId = "w2", Args = ["sh", "-c", "cat; echo $HOME"], Env = ["HOME=/elsewhere"], Stdin = true }, "piped\n");
        Assert.Equal(gate, cat.Pid);
        Assert.Equal(("piped\n/elsewhere\n", 0), (cat.Out, cat.Code));

        // Many in a row, each on the previous one's successor.
        for (int i = 0; i < 25; i++)
        {
            var next = FindGate(shim.ShimPid);
            var r = await ExecAsync(shim, new ExecRequest { ExecId = $"n{i}", Args = ["sh", "-c", $"echo {i}; exit {i}"] });
            Assert.Equal(($"{i}\n", i, next), (r.Out, r.Code, (int?)r.Pid));
        }

        // runc's own error texts, from runc (a new kind of exec: another working directory) and then from the gate.
        foreach (var (cmd, cwd) in new[] { ("nosuch", "/tmp"), ("/nosuch", "/bin"), ("/etc/passwd", "/root"), ("/etc", "/tmp") })
        {
            var byRunc = await Assert.ThrowsAsync<BerthException>(() => shim.ExecAsync(new ExecRequest { ExecId = "r" + cmd.Length, Args = [cmd], Cwd = cwd }));
            await WaitForGateAsync(shim.ShimPid);
            var byGate = await Assert.ThrowsAsync<BerthException>(() => shim.ExecAsync(new ExecRequest { ExecId = "g" + cmd.Length, Args = [cmd], Cwd = cwd }));
            Assert.Equal((byRunc.Kind, byRunc.Message), (byGate.Kind, byGate.Message));
            Assert.StartsWith("exec failed: unable to start container process: exec", byGate.Message);
        }

        // A gate killed inside the container is no loss: the exec runs through runc.
        gate = await WaitForGateAsync(shim.ShimPid);
        Assert.Equal(0, Sys.Kill(gate, 9));
        var afterKill = await ExecAsync(shim, new ExecRequest { ExecId = "k1", Args = ["pwd"], Cwd = "/tmp" });
        Assert.Equal(("/tmp\n", 0), (afterKill.Out, afterKill.Code));
        Assert.NotEqual(gate, afterKill.Pid);

        // The gate leaves with the container.
        gate = await WaitForGateAsync(shim.ShimPid);
        await shim.KillAsync(9);
        Assert.Equal(137, (await TestContainer.WaitAsync(shim)).ExitCode);
        for (int i = 0; i < 100 && Directory.Exists($"/proc/{gate}"); i++) await Task.Delay(50);
        Assert.False(Directory.Exists($"/proc/{gate}"), "the gate outlived its container");
    }

    [Fact]
    public async Task TerminalAndPrivilegedExecs_NeverUseAGate()
    {
        if (!TestEnv.CanRunContainers || !GateBuilt) return;
        await using var c = TestContainer.Prepare(edit: s => s with { Args = ["sleep", "100"] });
        var shim = await c.LaunchAsync();
        await shim.StartAsync();
        var first = await ExecAsync(shim, new ExecRequest { ExecId = "p1", Args = ["true"], Privileged = true });
        Assert.Equal(0, first.Code);
        await Task.Delay(300);
        Assert.Null(FindGate(shim.ShimPid));
        var second = await ExecAsync(shim, new ExecRequest { ExecId = "p2", Args = ["true"], Privileged = true });
        Assert.NotEqual(first.Pid, second.Pid);
        Assert.Equal(0, second.Code);
        Assert.Null(FindGate(shim.ShimPid));
        await shim.KillAsync(9);
        await TestContainer.WaitAsync(shim);
    }
}
