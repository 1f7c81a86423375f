namespace Berth.Integration.Tests;

/// <summary>Warm exec gates (the shim's pre-started exec processes) through the real docker CLI.</summary>
public sealed class ExecGateTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private async Task<string> Ok(params string[] args)
    {
        var r = await d.DockerAsync(args);
        Assert.True(r.ExitCode == 0, $"docker {string.Join(' ', args)}: {r}");
        return r.Stdout;
    }

    [Fact]
    public async Task Execs_in_a_row_behave_like_runc_execs_and_a_pids_limited_container_gets_no_gate()
    {
        var free = (await Ok("run", "-d", "busybox", "sleep", "120")).Trim();
        var limited = (await Ok("run", "-d", "--pids-limit", "20", "busybox", "sleep", "120")).Trim();
        try
        {
            foreach (var c in new[] { free, limited })
            {
                for (int i = 0; i < 4; i++)
                {
                    Assert.Equal($"hi{i}", (await Ok("exec", "-e", $"V=hi{i}", c, "sh", "-c", "echo $V")).Trim());
                    var r = await d.DockerAsync("exec", c, "sh", "-c", $"exit {i + 3}");
                    Assert.Equal(i + 3, r.ExitCode);
                }
                Assert.Equal("65534", (await Ok("exec", "-u", "nobody", c, "id", "-u")).Trim());
                var missing = await d.DockerAsync("exec", c, "no-such-command");
                Assert.Equal(126, missing.ExitCode);
            }
            // Under a pids limit the container's processes are only its own: nothing waits in it between execs.
            var ps = await Ok("exec", limited, "ps", "-o", "args");
            Assert.DoesNotContain("berth-exec-gate", ps);
            var pids = (await Ok("exec", limited, "cat", "/sys/fs/cgroup/pids/pids.current")).Trim();
            Assert.True(int.Parse(pids) <= 3, $"{pids} processes in the limited container:\n{ps}");
        }
        finally
        {
            await d.DockerAsync("rm", "-f", free, limited);
        }
    }

    [Fact]
    public async Task A_gate_waits_after_an_exec_unless_the_daemon_runs_with_exec_gates_false()
    {
        var c = (await Ok("run", "-d", "busybox", "sleep", "120")).Trim();
        try
        {
            await Ok("exec", c, "true");
            // The gate is prepared in the background after the exec; bounded wait for it to show.
            string ps = "";
            for (int i = 0; i < 100 && !ps.Contains("berth-exec-gate", StringComparison.Ordinal); i++)
            {
                await Task.Delay(100);
                ps = await Ok("top", c);
            }
            Assert.Contains("berth-exec-gate", ps);
        }
        finally
        {
            await d.DockerAsync("rm", "-f", c);
        }

        var off = new DaemonFixture();
        off.ExtraArgs.Add("--exec-gates=false");
        try
        {
            await off.InitializeAsync();
            var r = await off.DockerAsync("run", "-d", "busybox", "sleep", "120");
            Assert.Equal(0, r.ExitCode);
            var id = r.Stdout.Trim();
            for (int i = 0; i < 3; i++) Assert.Equal(0, (await off.DockerAsync("exec", id, "true")).ExitCode);
            await Task.Delay(1000);
            Assert.DoesNotContain("berth-exec-gate", (await off.DockerAsync("top", id)).Stdout);
        }
        finally
        {
            await off.DisposeAsync();
        }
    }
}
