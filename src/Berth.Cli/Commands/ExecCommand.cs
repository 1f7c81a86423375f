using Berth.Cli.CommandLine;
using Berth.Client;

namespace Berth.Cli.Commands;

// exec = create exec → start (hijacked, or detached) → exit with the exec's exit code, like docker.
internal static class ExecCommand
{
    public static async Task<int> RunAsync(CliContext ctx, ParsedArgs args)
    {
        var container = args.Positionals[0];
        var detach = args.GetBool("detach");
        var interactive = args.GetBool("interactive");
        var tty = args.GetBool("tty");
        var env = new List<string>();
        foreach (var file in args.GetAll("env-file"))
        {
            env.AddRange(RunOptions.ReadKeyValueFile(file, ctx.Env, args));
        }
        foreach (var e in args.GetAll("env"))
        {
            if (RunOptions.EnvEntry(e, ctx.Env) is { } entry)
            {
                env.Add(entry);
            }
        }
        TtySession.Require(ctx, tty, interactive && !detach);
        var detachKeys = args.Get("detach-keys");
        var keys = AttachSession.ParseKeys(detachKeys);
        var exec = await ctx.Client.ExecCreateAsync(container, new ExecCreateOptions
        {
            Cmd = args.Positionals.Skip(1).ToList(),
            AttachStdin = interactive && !detach,
            AttachStdout = !detach,
            AttachStderr = !detach,
            Tty = tty,
            Env = env.Count > 0 ? env : null,
            Privileged = args.GetBool("privileged"),
            User = args.Get("user"),
            WorkingDir = args.Get("workdir"),
            DetachKeys = detachKeys,
        }).ConfigureAwait(false);
        if (detach)
        {
            await ctx.Client.ExecStartAsync(exec.Id, new ExecStartOptions { Detach = true, Tty = tty }).ConfigureAwait(false);
            return 0;
        }
        using var terminal = TtySession.Begin(ctx, tty, interactive);
        var started = await ctx.Client.ExecStartAsync(exec.Id, new ExecStartOptions { Tty = tty }).ConfigureAwait(false);
        var session = AttachSession.Start(ctx, started.Connection!, interactive, tty, keys);
        await using (session.ConfigureAwait(false))
        {
            terminal.FollowSize((h, w) => ctx.Client.ExecResizeAsync(exec.Id, h, w));
            if (await session.WaitOutputAsync().ConfigureAwait(false))
            {
                return 0;
            }
        }
        // The stream can end a moment before the daemon records the exit code: poll briefly, bounded.
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var inspect = await ctx.Client.ExecInspectAsync(exec.Id).ConfigureAwait(false);
            if (!inspect.Running)
            {
                return inspect.ExitCode ?? 0;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
        }
        return 0;
    }
}
