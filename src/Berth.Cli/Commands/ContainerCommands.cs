using System.Globalization;
using System.Text.Json.Nodes;
using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;
using Berth.Cli.Templates;
using Berth.Client;

namespace Berth.Cli.Commands;

internal static class ContainerCommands
{
    public static async Task<int> StartAsync(CliContext ctx, ParsedArgs args)
    {
        var attach = args.GetBool("attach");
        var interactive = args.GetBool("interactive");
        if (!attach && !interactive)
        {
            return await Support.ForEachAsync(ctx, args.Positionals, id => ctx.Client.ContainerStartAsync(id)).ConfigureAwait(false);
        }
        if (args.Positionals.Count > 1)
        {
            throw new ExitException(1, "you cannot start and attach multiple containers at once");
        }
        var name = args.Positionals[0];
        var info = (await ctx.Client.ContainerInspectAsync(name).ConfigureAwait(false)).Raw;
        var tty = info["Config"]?["Tty"]?.GetValue<bool>() ?? false;
        var id = info["Id"]?.GetValue<string>() ?? name;
        TtySession.Require(ctx, tty, interactive);
        var detachKeys = args.Get("detach-keys");
        using var terminal = TtySession.Begin(ctx, tty, interactive);
        var session = await AttachSession.OpenAsync(ctx, id, stdin: interactive, stdout: true, stderr: true, tty, detachKeys).ConfigureAwait(false);
        await using (session.ConfigureAwait(false))
        {
            var wait = await ctx.Client.ContainerWaitAsync(id, new ContainerWaitOptions { Condition = "next-exit", RegistrationTimeout = RunCommand.WaitRegistrationTimeout }).ConfigureAwait(false);
            await ctx.Client.ContainerStartAsync(id).ConfigureAwait(false);
            using var proxy = SignalProxy.Start(ctx, id, !tty);
            terminal.FollowSize((h, w) => ctx.Client.ContainerResizeAsync(id, h, w));
            if (await session.WaitOutputAsync().ConfigureAwait(false))
            {
                return 0;
            }
            var exit = await wait.Exit.ConfigureAwait(false);
            return (int)exit.StatusCode;
        }
    }

    public static async Task<int> AttachAsync(CliContext ctx, ParsedArgs args)
    {
        var info = (await ctx.Client.ContainerInspectAsync(args.Positionals[0]).ConfigureAwait(false)).Raw;
        var id = info["Id"]?.GetValue<string>() ?? args.Positionals[0];
        if (info["State"]?["Running"] is not JsonValue running || !running.GetValue<bool>())
        {
            throw new ExitException(1, "You cannot attach to a stopped container, start it first");
        }
        var tty = info["Config"]?["Tty"] is JsonValue t && t.GetValue<bool>();
        var openStdin = info["Config"]?["OpenStdin"] is JsonValue o && o.GetValue<bool>();
        var attachStdin = openStdin && !args.GetBool("no-stdin");
        TtySession.Require(ctx, tty, attachStdin);
        var detachKeys = args.Get("detach-keys");
        var wait = await ctx.Client.ContainerWaitAsync(id, new ContainerWaitOptions { RegistrationTimeout = RunCommand.WaitRegistrationTimeout }).ConfigureAwait(false);
        using var terminal = TtySession.Begin(ctx, tty, attachStdin);
        var session = await AttachSession.OpenAsync(ctx, id, stdin: attachStdin, stdout: true, stderr: true, tty, detachKeys).ConfigureAwait(false);
        await using (session.ConfigureAwait(false))
        {
            using var proxy = SignalProxy.Start(ctx, id, args.GetBool("sig-proxy", fallback: true) && !tty);
            terminal.FollowSize((h, w) => ctx.Client.ContainerResizeAsync(id, h, w));
            if (await session.WaitOutputAsync().ConfigureAwait(false))
            {
                return 0;
            }
            var exit = await wait.Exit.ConfigureAwait(false);
            return (int)exit.StatusCode;
        }
    }

    public static Task<int> StopAsync(CliContext ctx, ParsedArgs args)
    {
        var timeout = args.GetInt("timeout");
        var signal = args.Get("signal");
        return Support.ForEachAsync(ctx, args.Positionals, id => ctx.Client.ContainerStopAsync(id, new ContainerStopOptions { Signal = signal, Timeout = timeout }));
    }

    public static Task<int> RestartAsync(CliContext ctx, ParsedArgs args)
    {
        var timeout = args.GetInt("timeout");
        var signal = args.Get("signal");
        return Support.ForEachAsync(ctx, args.Positionals, id => ctx.Client.ContainerRestartAsync(id, new ContainerRestartOptions { Signal = signal, Timeout = timeout }));
    }

    public static Task<int> KillAsync(CliContext ctx, ParsedArgs args)
    {
        var signal = args.Get("signal");
        return Support.ForEachAsync(ctx, args.Positionals, id => ctx.Client.ContainerKillAsync(id, new ContainerKillOptions { Signal = signal }));
    }

    public static Task<int> RemoveAsync(CliContext ctx, ParsedArgs args)
    {
        var options = new ContainerRemoveOptions { Force = args.GetBool("force"), RemoveVolumes = args.GetBool("volumes"), RemoveLinks = args.GetBool("link") };
        return Support.ForEachAsync(ctx, args.Positionals, id => ctx.Client.ContainerRemoveAsync(id, options));
    }

    public static async Task<int> WaitAsync(CliContext ctx, ParsedArgs args)
    {
        var failed = false;
        foreach (var id in args.Positionals)
        {
            try
            {
                var wait = await ctx.Client.ContainerWaitAsync(id).ConfigureAwait(false);
                var exit = await wait.Exit.ConfigureAwait(false);
                ctx.Out.WriteLine(exit.StatusCode.ToString(CultureInfo.InvariantCulture));
            }
            catch (DockerApiException e)
            {
                ctx.Err.WriteLine($"Error response from daemon: {e.Message}");
                failed = true;
            }
        }
        return failed ? 1 : 0;
    }

    public static async Task<int> RenameAsync(CliContext ctx, ParsedArgs args)
    {
        var newName = args.Positionals[1].Trim();
        if (newName.Length == 0)
        {
            throw new ExitException(1, "Error: neither old nor new names may be empty");
        }
        try
        {
            await ctx.Client.ContainerRenameAsync(args.Positionals[0], new ContainerRenameOptions { NewName = newName }).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            // docker prints the daemon's answer, then its own summary line.
            ctx.Err.WriteLine($"Error response from daemon: {e.Message}");
            throw new ExitException(1, $"Error: failed to rename container named {args.Positionals[0]}");
        }
        return 0;
    }

    public static async Task<int> TopAsync(CliContext ctx, ParsedArgs args)
    {
        var top = await ctx.Client.ContainerTopAsync(args.Positionals[0], new ContainerTopOptions { Arguments = args.Positionals.Skip(1).ToList() }).ConfigureAwait(false);
        var text = string.Join("\t", top.Titles) + "\n" + string.Concat(top.Processes.Select(p => string.Join("\t", p) + "\n"));
        // docker's top uses a tabwriter with minwidth 20 and padding 3.
        ctx.Out.Write(TabWriter.Format(text, minWidth: 20, padding: 3));
        return 0;
    }

    public static async Task<int> PruneAsync(CliContext ctx, ParsedArgs args)
    {
        if (!args.GetBool("force") && !Confirm(ctx, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "))
        {
            return 0;
        }
        var r = (await ctx.Client.ContainerPruneAsync(new ContainerPruneOptions { Filters = Support.ParseFilters(args) }).ConfigureAwait(false)).Report;
        if (r.ContainersDeleted is { Count: > 0 } deleted)
        {
            ctx.Out.WriteLine("Deleted Containers:");
            foreach (var d in deleted)
            {
                ctx.Out.WriteLine(d);
            }
            ctx.Out.WriteLine();
        }
        ctx.Out.WriteLine($"Total reclaimed space: {Units.HumanSize(r.SpaceReclaimed)}");
        return 0;
    }

    internal static bool Confirm(CliContext ctx, string prompt)
    {
        ctx.Out.Write(prompt);
        var line = ReadLine(ctx.Stdin)?.Trim().ToLowerInvariant();
        return line is "y" or "yes";
    }

    private static string? ReadLine(Stream s)
    {
        var bytes = new List<byte>();
        var b = new byte[1];
        while (s.Read(b, 0, 1) == 1 && b[0] != '\n')
        {
            bytes.Add(b[0]);
        }
        return bytes.Count == 0 ? null : System.Text.Encoding.UTF8.GetString(bytes.ToArray());
    }

    public static async Task<int> LogsAsync(CliContext ctx, ParsedArgs args)
    {
        var name = args.Positionals[0];
        var info = (await ctx.Client.ContainerInspectAsync(name).ConfigureAwait(false)).Raw;
        var tty = info["Config"]?["Tty"] is JsonValue t && t.GetValue<bool>();
        var now = ctx.Time.GetUtcNow();
        var options = new ContainerLogsOptions
        {
            Follow = args.GetBool("follow"),
            Timestamps = args.GetBool("timestamps"),
            Details = args.GetBool("details"),
            Tail = args.Get("tail"),
            Since = args.Get("since") is { } since ? Units.ToApiTimestamp(since, now) : null,
            Until = args.Get("until") is { } until ? Units.ToApiTimestamp(until, now) : null,
        };
        var logs = await ctx.Client.ContainerLogsAsync(name, options).ConfigureAwait(false);
        await using (logs.Stream.ConfigureAwait(false))
        {
            if (tty)
            {
                await logs.Stream.CopyToAsync(ctx.StdoutStream).ConfigureAwait(false);
            }
            else
            {
                await StdCopy.DemultiplexAsync(logs.Stream, ctx.StdoutStream, ctx.StderrStream).ConfigureAwait(false);
            }
        }
        await ctx.StdoutStream.FlushAsync().ConfigureAwait(false);
        return 0;
    }
}
