using System.Text;
using Berth.Cli.CommandLine;
using Berth.Cli.Commands;
using Berth.Cli.Templates;
using Berth.Client;

namespace Berth.Cli;

internal delegate Task<int> CommandHandler(CliContext ctx, ParsedArgs args);

internal sealed record Command(CommandSpec Spec, CommandHandler Handler);

internal static class App
{
    public const string Name = "berth";

    private static readonly CommandSpec GlobalSpec = new("", "berth [OPTIONS] COMMAND", "A self-sufficient runtime for containers",
    [
        FlagSpec.Str("config", null, "Location of client config files"),
        FlagSpec.Str("context", 'c', "Name of the context to use to connect to the daemon"),
        FlagSpec.Bool("debug", 'D', "Enable debug mode"),
        FlagSpec.Bool("help", 'h', "Print usage", hidden: true),
        FlagSpec.List("host", 'H', "Daemon socket to connect to"),
        FlagSpec.Str("log-level", 'l', "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\")", defaultValue: "info"),
        FlagSpec.Bool("tls", null, "Use TLS; implied by --tlsverify"),
        FlagSpec.Bool("tlsverify", null, "Use TLS and verify the remote"),
        FlagSpec.Bool("version", 'v', "Print version information and quit"),
    ], Interspersed: false);

    public static async Task<int> RunAsync(CliContext ctx, string[] args)
    {
        try
        {
            return await DispatchAsync(ctx, args).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            WriteUsageError(ctx, e);
            return e.ExitCode;
        }
        catch (ExitException e)
        {
            if (e.HasMessage)
            {
                ctx.Err.WriteLine(e.Message);
            }
            return e.Code;
        }
        catch (DaemonUnreachableException e)
        {
            ctx.Err.WriteLine(e.Message);
            return 1;
        }
        catch (DockerApiException e)
        {
            ctx.Err.WriteLine($"Error response from daemon: {e.Message}");
            return 1;
        }
        catch (TemplateException e)
        {
            ctx.Err.WriteLine($"template parsing error: {e.Message}");
            return 1;
        }
    }

    private static async Task<int> DispatchAsync(CliContext ctx, string[] args)
    {
        var global = ArgParser.Parse(GlobalSpec, args);
        if (global.GetAll("host") is { Count: > 0 } hosts)
        {
            ctx.HostFlag = hosts[^1];
        }
        if (global.GetBool("version"))
        {
            ctx.Out.WriteLine("Berth version 0.1.0");
            return 0;
        }
        var rest = global.Positionals;
        if (rest.Count == 0 || global.GetBool("help") || global.HelpRequested)
        {
            WriteTopHelp(ctx.Out);
            return 0;
        }
        if (rest[0] == "help")
        {
            rest.RemoveAt(0);
            rest.Add("--help");
        }
        var (command, consumed) = CommandTable.Find(rest);
        if (command is null)
        {
            var group = CommandTable.Groups.FirstOrDefault(g => g.Name == rest[0]);
            if (group is not null)
            {
                if (rest.Count == 1 || rest[1] is "--help" or "-h")
                {
                    WriteGroupHelp(ctx.Out, group);
                    return 0;
                }
                ctx.Err.WriteLine($"{Name}: unknown command: {Name} {rest[0]} {rest[1]}\n\nRun '{Name} {rest[0]} --help' for more information");
                return 1;
            }
            ctx.Err.WriteLine($"{Name}: unknown command: {Name} {rest[0]}\n\nRun '{Name} --help' for more information");
            return 1;
        }
        var parsed = ArgParser.Parse(command.Spec, rest.Skip(consumed).ToList());
        if (parsed.HelpRequested)
        {
            ctx.Out.Write(HelpText(command.Spec));
            return 0;
        }
        CheckArgCount(command.Spec, parsed.Positionals.Count);
        return await command.Handler(ctx, parsed).ConfigureAwait(false);
    }

    // docker's cli.NoArgs/ExactArgs/RequiresMinArgs/RequiresMaxArgs texts; only "at least" says "See", the rest "Run".
    private static void CheckArgCount(CommandSpec spec, int count)
    {
        string? problem = null;
        var verb = "Run";
        if (spec.MinArgs == spec.MaxArgs && count != spec.MinArgs)
        {
            problem = spec.MinArgs == 0 ? "accepts no arguments" : $"requires {spec.MinArgs} argument{(spec.MinArgs == 1 ? "" : "s")}";
        }
        else if (count < spec.MinArgs)
        {
            problem = $"requires at least {spec.MinArgs} argument{(spec.MinArgs == 1 ? "" : "s")}";
            verb = "See";
        }
        else if (count > spec.MaxArgs)
        {
            problem = spec.MaxArgs == 0 ? "accepts no arguments" : $"requires at most {spec.MaxArgs} argument{(spec.MaxArgs == 1 ? "" : "s")}";
        }
        if (problem is not null)
        {
            throw new ExitException(1, $"{Name}: '{Name} {spec.Path}' {problem}\n\nUsage:  {spec.Usage}\n\n{verb} '{Name} {spec.Path} --help' for more information");
        }
    }

    private static void WriteUsageError(CliContext ctx, UsageException e)
    {
        var sb = new StringBuilder(e.Message).Append('\n');
        if (e.Command is { Path.Length: > 0 } spec)
        {
            sb.Append("\nUsage:  ").Append(spec.Usage).Append("\n\nRun '").Append(Name).Append(' ').Append(spec.Path).Append(" --help' for more information\n");
        }
        else
        {
            sb.Append("\nRun '").Append(Name).Append(" --help' for more information\n");
        }
        ctx.Err.Write(sb.ToString());
    }

    // pflag's FlagUsages layout: names column padded to the longest + 3 spaces, then the help text.
    internal static string HelpText(CommandSpec spec)
    {
        var sb = new StringBuilder();
        sb.Append("Usage:  ").Append(spec.Usage).Append("\n\n").Append(spec.Description).Append('\n');
        if (spec.Aliases is { Count: > 0 } aliases)
        {
            sb.Append("\nAliases:\n  ").Append(string.Join(", ", aliases.Select(a => $"{Name} {a}"))).Append('\n');
        }
        // docker lists --help only where -h means something else (run/create: --hostname).
        var flags = spec.Flags.Where(f => !f.Hidden)
            .Concat(spec.FindShort('h') is { Name: not "help" } ? [FlagSpec.Bool("help", null, "Print usage")] : [])
            .OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        if (flags.Count > 0)
        {
            sb.Append("\nOptions:\n");
            var lines = flags.Select(f =>
            {
                var left = f.Short is { } s ? $"  -{s}, --{f.Name}" : $"      --{f.Name}";
                if (f.Kind != FlagKind.Bool)
                {
                    left += " " + (f.TypeName ?? "string");
                }
                var help = f.Help;
                if (f.Default is { } d)
                {
                    help += f.TypeName is "string" ? $" (default \"{d}\")" : $" (default {d})";
                }
                return (left, help);
            }).ToList();
            var width = lines.Max(l => l.left.Length);
            foreach (var (left, help) in lines)
            {
                sb.Append(left).Append(' ', width - left.Length + 3).Append(help.Replace("\n", "\n" + new string(' ', width + 3), StringComparison.Ordinal)).Append('\n');
            }
        }
        return sb.ToString();
    }

    private static void WriteTopHelp(TextWriter w)
    {
        var sb = new StringBuilder();
        sb.Append("Usage:  berth [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\nCommon Commands:\n");
        foreach (var c in CommandTable.TopLevel)
        {
            sb.Append("  ").Append(c.Spec.Path.PadRight(12)).Append(c.Spec.Description).Append('\n');
        }
        sb.Append("\nManagement Commands:\n");
        foreach (var g in CommandTable.Groups)
        {
            sb.Append("  ").Append(g.Name.PadRight(12)).Append(g.Description).Append('\n');
        }
        sb.Append("\nGlobal Options:\n");
        sb.Append(HelpText(GlobalSpec with { Usage = "", Description = "" }).Split("Options:\n", 2)[1]);
        sb.Append("\nRun 'berth COMMAND --help' for more information on a command.\n");
        w.Write(sb.ToString());
    }

    private static void WriteGroupHelp(TextWriter w, CommandGroup group)
    {
        var sb = new StringBuilder();
        sb.Append("Usage:  berth ").Append(group.Name).Append(" COMMAND\n\n").Append(group.Description).Append("\n\nCommands:\n");
        foreach (var c in CommandTable.All.Where(c => c.Spec.Path.StartsWith(group.Name + " ", StringComparison.Ordinal)))
        {
            sb.Append("  ").Append(c.Spec.Path[(group.Name.Length + 1)..].PadRight(12)).Append(c.Spec.Description).Append('\n');
        }
        sb.Append("\nRun 'berth ").Append(group.Name).Append(" COMMAND --help' for more information on a command.\n");
        w.Write(sb.ToString());
    }
}
