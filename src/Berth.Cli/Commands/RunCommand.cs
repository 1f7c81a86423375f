using Berth.Api;
using Berth.Cli.CommandLine;
using Berth.Client;

namespace Berth.Cli.Commands;

// run = create + attach + wait + start, like docker's runContainer.
internal static class RunCommand
{
    // Docker's daemon sends the wait response headers at once; a daemon that holds them until exit must not
    // block start forever.
    internal static readonly TimeSpan WaitRegistrationTimeout = TimeSpan.FromSeconds(5);

    internal static readonly TimeSpan StartFailureRemovalTimeout = TimeSpan.FromSeconds(10);

    public static async Task<int> CreateAsync(CliContext ctx, ParsedArgs args)
    {
        var options = RunOptions.Parse(args, ctx.Env, detached: true);
        var id = await CreateContainerAsync(ctx, args, options).ConfigureAwait(false);
        ctx.Out.WriteLine(id);
        return 0;
    }

    public static async Task<int> RunAsync(CliContext ctx, ParsedArgs args)
    {
        var detach = args.GetBool("detach");
        if (detach && args.GetAll("attach").Count > 0)
        {
            throw new ExitException(1, "conflicting options: cannot specify both --attach and --detach");
        }
        var options = RunOptions.Parse(args, ctx.Env, detach);
        TtySession.Require(ctx, options.Request.Tty, options.Request.AttachStdin);
        var detachKeys = args.Get("detach-keys");
        var keys = AttachSession.ParseKeys(detachKeys);
        if (!detach && TtySession.InitialSize(ctx, options.Request.Tty) is { } size && options.Request.HostConfig is { } hc)
        {
            options = options with { Request = options.Request with { HostConfig = hc with { ConsoleSize = size } } };
        }
        var id = await CreateContainerAsync(ctx, args, options).ConfigureAwait(false);
        var config = options.Request;
        try
        {
            if (detach)
            {
                await ctx.Client.ContainerStartAsync(id).ConfigureAwait(false);
                ctx.Out.WriteLine(id);
                return 0;
            }
            AttachSession? session = null;
            using var terminal = TtySession.Begin(ctx, config.Tty, config.AttachStdin);
            if (config.AttachStdin || config.AttachStdout || config.AttachStderr)
            {
                session = await AttachSession.OpenAsync(ctx, id, config.AttachStdin, config.AttachStdout, config.AttachStderr, config.Tty, detachKeys).ConfigureAwait(false);
            }
            try
            {
                // Registered before start so a fast exit cannot be missed; with --rm wait until it is gone.
                var wait = await ctx.Client.ContainerWaitAsync(id, new ContainerWaitOptions
                {
                    Condition = config.HostConfig?.AutoRemove == true ? "removed" : "next-exit",
                    RegistrationTimeout = WaitRegistrationTimeout,
                }).ConfigureAwait(false);
                try
                {
                    await ctx.Client.ContainerStartAsync(id).ConfigureAwait(false);
                }
                catch (DockerApiException) when (config.HostConfig?.AutoRemove == true)
                {
                    // Like docker: with --rm the daemon removes a container that failed to start; return once it is gone.
                    // Bounded, so a daemon that keeps it cannot hang the command.
                    await Task.WhenAny(wait.Exit, Task.Delay(StartFailureRemovalTimeout)).ConfigureAwait(false);
                    throw;
                }
                using var proxy = SignalProxy.Start(ctx, id, args.GetBool("sig-proxy", fallback: true) && !config.Tty);
                terminal.FollowSize((h, w) => ctx.Client.ContainerResizeAsync(id, h, w));
                if (session is not null && await session.WaitOutputAsync().ConfigureAwait(false))
                {
                    // Detached with the detach keys: the container runs on.
                    return 0;
                }
                var exit = await wait.Exit.ConfigureAwait(false);
                if (exit.Error?.Message is { Length: > 0 } message)
                {
                    ctx.Err.WriteLine($"{App.Name}: {message}");
                }
                return (int)exit.StatusCode;
            }
            finally
            {
                if (session is not null)
                {
                    await session.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
        catch (DockerApiException e)
        {
            throw RunError(args, e.Message);
        }
    }

    private static async Task<string> CreateContainerAsync(CliContext ctx, ParsedArgs args, RunOptions options)
    {
        var pull = args.Get("pull") ?? "missing";
        if (pull is not ("always" or "missing" or "never"))
        {
            throw new ExitException(125, $"{App.Name}: invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\"\n\nRun '{App.Name} {args.Command.Path} --help' for more information");
        }
        var reference = ImageReference.Parse(options.Request.Image ?? "");
        // docker pulls with progress on stderr, so the container's stdout stays clean.
        var progress = args.GetBool("quiet") ? null : ctx.Err;
        try
        {
            if (pull == "always")
            {
                await PullOrThrowAsync(ctx, args, reference, options, progress).ConfigureAwait(false);
            }
            try
            {
                return await CreateOnceAsync(ctx, options).ConfigureAwait(false);
            }
            catch (DockerApiException e) when (pull == "missing" && e.IsNotFound && e.Message.StartsWith("No such image", StringComparison.OrdinalIgnoreCase))
            {
                ctx.Err.WriteLine($"Unable to find image '{reference.Familiar}' locally");
            }
            await PullOrThrowAsync(ctx, args, reference, options, progress).ConfigureAwait(false);
            return await CreateOnceAsync(ctx, options).ConfigureAwait(false);
        }
        catch (DockerApiException e)
        {
            throw RunError(args, e.Message, createStage: true);
        }
        catch (DaemonUnreachableException e)
        {
            throw new ExitException(125, $"{App.Name}: {e.Message}\n\nRun '{App.Name} {args.Command.Path} --help' for more information");
        }
    }

    private static async Task PullOrThrowAsync(CliContext ctx, ParsedArgs args, ImageReference reference, RunOptions options, TextWriter? progress)
    {
        if (await ImageCommands.PullAsync(ctx, reference, options.Platform, progress).ConfigureAwait(false) is { } error)
        {
            // An error inside the pull stream is not a daemon error response: docker prints it bare.
            throw new ExitException(125, $"{App.Name}: {error}\n\nRun '{App.Name} {args.Command.Path} --help' for more information");
        }
    }

    private static async Task<string> CreateOnceAsync(CliContext ctx, RunOptions options)
    {
        var result = await ctx.Client.ContainerCreateAsync(new ContainerCreateOptions
        {
            Name = options.Name,
            Platform = options.Platform,
            Config = options.Request,
        }).ConfigureAwait(false);
        foreach (var w in result.Warnings)
        {
            ctx.Err.WriteLine($"WARNING: {w}");
        }
        if (options.CidFile is { } cidFile)
        {
            await File.WriteAllTextAsync(cidFile, result.Id).ConfigureAwait(false);
        }
        return result.Id;
    }

    // docker's runStartContainerErr: the daemon's message decides 125, 126 or 127.
    internal static ExitException RunError(ParsedArgs args, string message, bool createStage = false)
    {
        var code = createStage ? 125 : ExitCodeFor(message);
        return new ExitException(code, $"{App.Name}: Error response from daemon: {message}\n\nRun '{App.Name} {args.Command.Path} --help' for more information");
    }

    internal static int ExitCodeFor(string message)
    {
        if (message.Contains("executable file not found", StringComparison.Ordinal) ||
            message.Contains("no such file or directory", StringComparison.Ordinal) ||
            message.Contains("system cannot find the file specified", StringComparison.Ordinal))
        {
            return 127;
        }
        if (message.Contains("permission denied", StringComparison.Ordinal) || message.Contains("is a directory", StringComparison.Ordinal))
        {
            return 126;
        }
        return 125;
    }
}
