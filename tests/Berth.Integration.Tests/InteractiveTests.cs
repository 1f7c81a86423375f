using System.Net;

namespace Berth.Integration.Tests;

/// <summary>Issue 3: terminals (run -it, resize, detach, attach) and exec, through the real docker CLI and through berth.</summary>
public sealed class InteractiveTests(DaemonFixture d) : IClassFixture<DaemonFixture>
{
    private string Cli(string which) => which == "docker" ? "/usr/local/bin/docker" : Path.Combine(d.Out, "berth");

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task RunIt_TypesIntoAShell_FollowsTheWindowSize_DetachesAndReattaches(string cli)
    {
        var name = $"tty{cli[0]}{d.Tag}";
        await using var term = new TmuxTerminal(d, cli);
        var run = await term.OpenAsync($"{Cli(cli)} run -it --name {name} busybox sh", cols: 100, rows: 30);
        await term.WaitForAsync(run, "/ #");
        await term.TypeAsync(run, "stty size; echo typed-$((6*7))", "Enter");
        var screen = await term.WaitForAsync(run, "typed-42");
        Assert.Contains("30 100", screen);

        // The new size travels on its own (SIGWINCH, the CLI's resize request, the console): ask until it has landed.
        await term.ResizeAsync(run, 120, 40);
        for (int i = 0; i < 20 && !(await term.ScreenAsync(run)).Contains("40 120", StringComparison.Ordinal); i++)
        {
            await term.TypeAsync(run, "stty size", "Enter");
            await Task.Delay(250);
        }
        await term.WaitForAsync(run, "40 120");

        // Ctrl-P Ctrl-Q: the client leaves with 0, the shell runs on.
        await term.TypeAsync(run, "C-p", "C-q");
        await term.WaitForAsync(run, "EXITED=0");
        var state = await d.DockerAsync("inspect", "-f", "{{.State.Status}}", name);
        Assert.Equal("running", state.Stdout.Trim());

        var attach = await term.OpenAsync($"{Cli(cli)} attach {name}");
        await Task.Delay(500);
        await term.TypeAsync(attach, "echo back-$((2+3))", "Enter");
        await term.WaitForAsync(attach, "back-5");
        await term.TypeAsync(attach, "exit 3", "Enter");
        await term.WaitForAsync(attach, "EXITED=3");

        var exit = await DockerCliTests.PollAsync(() => d.DockerAsync("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name), r => r.Stdout.StartsWith("exited"));
        Assert.Equal("exited 3", exit.Stdout.Trim());
        var logs = await d.DockerAsync("logs", name);
        Assert.Contains("typed-42", logs.Stdout);
        await d.DockerAsync("rm", "-f", name);
    }

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task RunIt_WithoutATerminal_IsRefused(string cli)
    {
        var r = await d.RunAsync(Cli(cli), ["run", "-it", "--rm", "busybox", "true"], "", 60);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("the input device is not a TTY", r.Stderr);
    }

    [Theory]
    [InlineData("docker")]
    [InlineData("berth")]
    public async Task Exec_CodesStdinUserWorkdirEnvAndDetach(string cli)
    {
        var name = $"ex{cli[0]}{d.Tag}";
        Assert.Equal(0, (await d.DockerAsync("run", "-d", "--name", name, "busybox", "sleep", "300")).ExitCode);
        Task<CommandResult> Exec(params string[] args) => d.RunAsync(Cli(cli), ["exec", .. args], null, 60);

        Assert.Equal(4, (await Exec(name, "sh", "-c", "exit 4")).ExitCode);

        var cat = await d.RunAsync(Cli(cli), ["exec", "-i", name, "cat"], "hi\n", 60);
        Assert.True(cat.ExitCode == 0, cat.ToString());
        Assert.Equal("hi\n", cat.Stdout);

        Assert.Equal("65534", (await Exec("-u", "nobody", name, "id", "-u")).Stdout.Trim());
        Assert.Equal("/tmp", (await Exec("-w", "/tmp", name, "pwd")).Stdout.Trim());
        Assert.Equal("bar", (await Exec("-e", "FOO=bar", name, "sh", "-c", "echo $FOO")).Stdout.Trim());

        var err = await Exec(name, "sh", "-c", "echo out; echo err >&2");
        Assert.Equal("out\n", err.Stdout);
        Assert.Equal("err\n", err.Stderr);

        var missing = await Exec(name, "no-such-command");
        Assert.Equal(126, missing.ExitCode);
        Assert.Contains("executable file not found", missing.Stdout + missing.Stderr);

        Assert.Equal(0, (await Exec("-d", name, "sh", "-c", "echo detached > /tmp/d")).ExitCode);
        var written = await DockerCliTests.PollAsync(() => Exec(name, "cat", "/tmp/d"), r => r.Stdout.Contains("detached"));
        Assert.Equal("detached\n", written.Stdout);

        // Privileged exec gets every capability; a plain one Docker's default set.
        var priv = await Exec("--privileged", name, "sh", "-c", "grep CapEff /proc/self/status");
        var plain = await Exec(name, "sh", "-c", "grep CapEff /proc/self/status");
        Assert.NotEqual(priv.Stdout.Trim(), plain.Stdout.Trim());

        Assert.Equal(0, (await d.DockerAsync("stop", "-t", "1", name)).ExitCode);
        var stopped = await Exec(name, "true");
        Assert.NotEqual(0, stopped.ExitCode);
        Assert.Contains("is not running", stopped.Stderr);
        await d.DockerAsync("rm", "-f", name);
    }

    [Fact]
    public async Task ExecWithTerminal_HasAPtyOfTheWindowSize()
    {
        var name = $"ext{d.Tag}";
        Assert.Equal(0, (await d.DockerAsync("run", "-d", "--name", name, "busybox", "sleep", "300")).ExitCode);
        await using var term = new TmuxTerminal(d, "exec");
        var w = await term.OpenAsync($"docker exec -it {name} sh -c 'tty; stty size; exit 5'", cols: 90, rows: 25);
        var screen = await term.WaitForAsync(w, "EXITED=5");
        Assert.Contains("/dev/pts/", screen);
        Assert.Contains("25 90", screen);
        await d.DockerAsync("rm", "-f", name);
    }

    [Fact]
    public async Task Exec_IsRefusedWhilePaused_AndAFarFutureUntilIs400()
    {
        var name = $"exp{d.Tag}";
        Assert.Equal(0, (await d.DockerAsync("run", "-d", "--name", name, "busybox", "sleep", "300")).ExitCode);
        Assert.Equal(0, (await d.DockerAsync("pause", name)).ExitCode);
        var paused = await d.DockerAsync("exec", name, "true");
        Assert.NotEqual(0, paused.ExitCode);
        Assert.Contains("is paused, unpause the container before exec", paused.Stderr);
        Assert.Equal(0, (await d.DockerAsync("unpause", name)).ExitCode);
        Assert.Equal(0, (await d.DockerAsync("exec", name, "true")).ExitCode);

        using var api = new EngineApi(d.Socket);
        EngineApi.AssertError(await api.GetAsync("/events?until=999999999999"), HttpStatusCode.BadRequest);
        await api.AssertAliveAsync();
        await d.DockerAsync("rm", "-f", name);
    }

    [Fact]
    public async Task BadInput_ResizeAndExec_Get400_AndTheDaemonKeepsServing()
    {
        using var api = new EngineApi(d.Socket);
        var name = $"exb{d.Tag}";
        Assert.Equal(0, (await d.DockerAsync("run", "-d", "-t", "--name", name, "busybox", "sleep", "300")).ExitCode);

        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync($"/containers/{name}/resize?h=-1&w=80")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync($"/containers/{name}/resize?h=abc&w=80")).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/containers/{name}/resize?h=20&w=70")).Status);
        // The container's terminal is its /dev/console.
        Assert.Equal("20 70", (await d.DockerAsync("exec", name, "stty", "-F", "/dev/console", "size")).Stdout.Trim());

        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync($"/containers/{name}/exec", """{"Cmd":[]}""")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync($"/containers/{name}/exec", """{"Cmd":["true"],"DetachKeys":"ctrl-"}""")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsync($"/containers/{name}/exec", "{not json")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/exec/0123456789abcdef/json")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.PostAsync("/exec/0123456789abcdef/start", "{}")).Status);

        var created = await api.PostAsync($"/containers/{name}/exec", """{"Cmd":["sh","-c","exit 9"]}""");
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var execId = created.Json().GetProperty("Id").GetString();
        var before = (await api.GetAsync($"/exec/{execId}/json")).Json();
        Assert.False(before.GetProperty("Running").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, before.GetProperty("ExitCode").ValueKind);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/exec/{execId}/start", """{"Detach":true}""")).Status);
        var after = await DockerCliTests.PollAsync(
            async () => new CommandResult(0, (await api.GetAsync($"/exec/{execId}/json")).Body, ""),
            r => r.Stdout.Contains("\"ExitCode\":9"));
        Assert.Contains("\"ExitCode\":9", after.Stdout);
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync($"/exec/{execId}/start", """{"Detach":true}""")).Status);

        await api.AssertAliveAsync();
        await d.DockerAsync("rm", "-f", name);
    }
}
