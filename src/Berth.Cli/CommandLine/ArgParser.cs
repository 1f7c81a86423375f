namespace Berth.Cli.CommandLine;

// A pflag-compatible parser: --long, --long=value, --long value, -s, -sVALUE, -s=VALUE, -abc (bool
// shorthands combined), repeatable flags, bool --x=false, "--" terminator, and optional non-interspersed
// mode. System.CommandLine cannot stop at the first positional, which `run IMAGE sh -c ...` needs.
internal static class ArgParser
{
    private static readonly FlagSpec HelpFlag = FlagSpec.Bool("help", null, "Print usage");

    public static ParsedArgs Parse(CommandSpec command, IReadOnlyList<string> args)
    {
        var result = new ParsedArgs(command);
        var i = 0;
        while (i < args.Count)
        {
            var arg = args[i++];
            if (arg == "--")
            {
                for (; i < args.Count; i++)
                {
                    result.Positionals.Add(args[i]);
                }
                break;
            }
            if (arg.Length < 2 || arg[0] != '-')
            {
                result.Positionals.Add(arg);
                if (!command.Interspersed)
                {
                    for (; i < args.Count; i++)
                    {
                        result.Positionals.Add(args[i]);
                    }
                    break;
                }
                continue;
            }
            if (arg[1] == '-')
            {
                i = ParseLong(command, result, arg, args, i);
            }
            else
            {
                i = ParseShorts(command, result, arg, args, i);
            }
        }
        return result;
    }

    private static int ParseLong(CommandSpec command, ParsedArgs result, string arg, IReadOnlyList<string> args, int i)
    {
        var body = arg[2..];
        string? value = null;
        var eq = body.IndexOf('=');
        if (eq >= 0)
        {
            value = body[(eq + 1)..];
            body = body[..eq];
        }
        if (body.Length == 0 || body[0] == '-' || body[0] == '=')
        {
            throw new UsageException($"bad flag syntax: {arg}", command);
        }
        var flag = command.FindLong(body) ?? (body == "help" ? HelpFlag : null)
            ?? throw new UsageException($"unknown flag: --{body}", command);
        if (flag.Kind == FlagKind.Bool)
        {
            SetBool(command, result, flag, value ?? "true");
            return i;
        }
        if (value is null)
        {
            if (i >= args.Count)
            {
                throw new UsageException($"flag needs an argument: --{body}", command);
            }
            value = args[i++];
        }
        result.Add(flag.Name, value);
        return i;
    }

    private static int ParseShorts(CommandSpec command, ParsedArgs result, string arg, IReadOnlyList<string> args, int i)
    {
        var shorts = arg[1..];
        var pos = 0;
        while (pos < shorts.Length)
        {
            var c = shorts[pos];
            var flag = command.FindShort(c)
                ?? throw new UsageException($"unknown shorthand flag: '{c}' in -{shorts}", command);
            pos++;
            var rest = shorts[pos..];
            if (flag.Kind == FlagKind.Bool)
            {
                if (rest.StartsWith('='))
                {
                    SetBool(command, result, flag, rest[1..]);
                    return i;
                }
                SetBool(command, result, flag, "true");
                continue;
            }
            string value;
            if (rest.Length > 0)
            {
                // -eK=V and -e=K=V both mean K=V, as in pflag.
                value = rest.StartsWith('=') ? rest[1..] : rest;
            }
            else if (i < args.Count)
            {
                value = args[i++];
            }
            else
            {
                throw new UsageException($"flag needs an argument: '{c}' in -{shorts}", command);
            }
            result.Add(flag.Name, value);
            return i;
        }
        return i;
    }

    private static void SetBool(CommandSpec command, ParsedArgs result, FlagSpec flag, string value)
    {
        var b = value switch
        {
            "1" or "t" or "T" or "true" or "TRUE" or "True" => "true",
            "0" or "f" or "F" or "false" or "FALSE" or "False" => "false",
            _ => throw new UsageException($"invalid argument \"{value}\" for \"{FlagDisplay(flag)}\" flag: strconv.ParseBool: parsing \"{value}\": invalid syntax", command),
        };
        if (ReferenceEquals(flag, HelpFlag))
        {
            result.HelpRequested = b == "true";
            return;
        }
        result.Add(flag.Name, b);
    }

    private static string FlagDisplay(FlagSpec flag) => flag.Short is { } s ? $"-{s}, --{flag.Name}" : $"--{flag.Name}";
}
