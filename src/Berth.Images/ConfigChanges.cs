using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Content;
using Berth.Core;

namespace Berth.Images;

/// <summary>
/// Applies Dockerfile-style change lines (<c>docker import --change</c>, <c>docker commit --change</c>) to an
/// image's run-time config. Only the instructions that change config metadata are valid.
/// </summary>
public static class ConfigChanges
{
    public static ContainerConfig Apply(ContainerConfig config, IReadOnlyList<string> changes)
    {
        bool cmdSet = false;
        foreach (var raw in changes)
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            int sp = line.IndexOfAny([' ', '\t']);
            var instruction = (sp < 0 ? line : line[..sp]).ToUpperInvariant();
            var args = sp < 0 ? "" : line[(sp + 1)..].Trim();
            config = instruction switch
            {
                "CMD" => SetCmd(config, args, ref cmdSet),
                "ENTRYPOINT" => config with
                {
                    Entrypoint = args.Length == 0 ? null : CommandForm(args),
                    // Docker: a new ENTRYPOINT resets a CMD that was inherited rather than set alongside it.
                    Cmd = cmdSet ? config.Cmd : null,
                },
                "ENV" => config with { Env = MergeEnv(config.Env, KeyValues(args, "ENV")) },
                "LABEL" => config with { Labels = MergeLabels(config.Labels, KeyValues(args, "LABEL")) },
                "WORKDIR" => config with { WorkingDir = WorkDir(config.WorkingDir, args) },
                "USER" => config with { User = Required(args, "USER") },
                "STOPSIGNAL" => config with { StopSignal = Required(args, "STOPSIGNAL") },
                "EXPOSE" => config with { ExposedPorts = AddPorts(config.ExposedPorts, args) },
                "VOLUME" => config with { Volumes = AddVolumes(config.Volumes, args) },
                "ONBUILD" => config with { OnBuild = [.. config.OnBuild ?? [], OnBuildTrigger(args)] },
                "HEALTHCHECK" => config with { Healthcheck = Healthcheck(args) },
                _ => throw BerthException.Invalid($"{instruction.ToLowerInvariant()} is not a valid change command"),
            };
        }
        return config;
    }

    private static ContainerConfig SetCmd(ContainerConfig config, string args, ref bool cmdSet)
    {
        cmdSet = true;
        return config with { Cmd = args.Length == 0 ? null : CommandForm(args) };
    }

    /// <summary>JSON (exec) form when the argument is a JSON string array, otherwise shell form.</summary>
    private static IReadOnlyList<string> CommandForm(string args) =>
        JsonStringArray.TryParse(args) ?? ["/bin/sh", "-c", args];


    private static string Required(string args, string instruction) =>
        args.Length > 0 ? args : throw BerthException.Invalid($"{instruction} requires exactly one argument");

    /// <summary><c>k=v k2="v 2"</c>, or the legacy <c>k some value</c> form (one pair, value is the rest).</summary>
    private static List<KeyValuePair<string, string>> KeyValues(string args, string instruction)
    {
        var words = Words(args);
        if (words.Count == 0) throw BerthException.Invalid($"{instruction} requires at least one argument");
        var result = new List<KeyValuePair<string, string>>();
        if (!words[0].Contains('='))
        {
            int sp = args.IndexOfAny([' ', '\t']);
            if (sp < 0) throw BerthException.Invalid($"{instruction} must have two arguments");
            result.Add(new(Words(args[..sp])[0], Unquote(args[(sp + 1)..].Trim())));
            return result;
        }
        foreach (var w in words)
        {
            int eq = w.IndexOf('=');
            if (eq <= 0) throw BerthException.Invalid($"{instruction} names can not be blank");
            result.Add(new(w[..eq], w[(eq + 1)..]));
        }
        return result;
    }

    private static string Unquote(string s) => Words(s) is { Count: 1 } w && (s.StartsWith('"') || s.StartsWith('\'')) ? w[0] : s;

    /// <summary>Splits on whitespace, honouring double and single quotes and backslash escapes (shell-like).</summary>
    private static List<string> Words(string s)
    {
        var words = new List<string>();
        var cur = new StringBuilder();
        bool inWord = false;
        char quote = '\0';
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else if (c == '\\' && quote == '"' && i + 1 < s.Length) cur.Append(s[++i]);
                else cur.Append(c);
                continue;
            }
            if (char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(cur.ToString()); cur.Clear(); inWord = false; }
                continue;
            }
            inWord = true;
            if (c is '"' or '\'') quote = c;
            else if (c == '\\' && i + 1 < s.Length) cur.Append(s[++i]);
            else cur.Append(c);
        }
        if (inWord) words.Add(cur.ToString());
        return words;
    }

    private static List<string> MergeEnv(IReadOnlyList<string>? env, List<KeyValuePair<string, string>> pairs)
    {
        var list = env?.ToList() ?? [];
        foreach (var (k, v) in pairs)
        {
            int i = list.FindIndex(e => e == k || e.StartsWith(k + "=", StringComparison.Ordinal));
            if (i >= 0) list[i] = $"{k}={v}";
            else list.Add($"{k}={v}");
        }
        return list;
    }

    private static Dictionary<string, string> MergeLabels(IReadOnlyDictionary<string, string>? labels, List<KeyValuePair<string, string>> pairs)
    {
        var d = labels?.ToDictionary() ?? [];
        foreach (var (k, v) in pairs) d[k] = v;
        return d;
    }

    private static string WorkDir(string? current, string args)
    {
        var dir = Required(args, "WORKDIR");
        if (!dir.StartsWith('/')) dir = System.IO.Path.Combine(string.IsNullOrEmpty(current) ? "/" : current, dir);
        return System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(dir)) is { Length: > 0 } full ? full : "/";
    }

    private static Dictionary<string, EmptyObject> AddPorts(IReadOnlyDictionary<string, EmptyObject>? ports, string args)
    {
        var d = ports?.ToDictionary() ?? [];
        var words = Words(args);
        if (words.Count == 0) throw BerthException.Invalid("EXPOSE requires at least one argument");
        foreach (var w in words)
        {
            var parts = w.Split('/', 2);
            var proto = parts.Length == 2 ? parts[1].ToLowerInvariant() : "tcp";
            if (proto is not ("tcp" or "udp" or "sctp")) throw BerthException.Invalid($"invalid proto: {proto}");
            var range = parts[0].Split('-', 2);
            if (!ushort.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var lo) || lo == 0)
                throw BerthException.Invalid($"invalid containerPort: {parts[0]}");
            var hi = lo;
            if (range.Length == 2 && (!ushort.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out hi) || hi < lo))
                throw BerthException.Invalid($"invalid containerPort: {parts[0]}");
            for (int p = lo; p <= hi; p++) d[$"{p}/{proto}"] = EmptyObject.Instance;
        }
        return d;
    }

    private static Dictionary<string, EmptyObject> AddVolumes(IReadOnlyDictionary<string, EmptyObject>? volumes, string args)
    {
        var d = volumes?.ToDictionary() ?? [];
        var list = JsonStringArray.TryParse(args) ?? Words(args);
        if (list.Count == 0) throw BerthException.Invalid("VOLUME requires at least one argument");
        foreach (var v in list)
        {
            if (string.IsNullOrWhiteSpace(v)) throw BerthException.Invalid("VOLUME specified can not be an empty string");
            d[v] = EmptyObject.Instance;
        }
        return d;
    }

    private static string OnBuildTrigger(string args)
    {
        var trigger = Required(args, "ONBUILD");
        int sp = trigger.IndexOfAny([' ', '\t']);
        var instr = (sp < 0 ? trigger : trigger[..sp]).ToUpperInvariant();
        if (instr is "ONBUILD") throw BerthException.Invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (instr is "FROM" or "MAINTAINER") throw BerthException.Invalid($"{instr} isn't allowed as an ONBUILD trigger");
        return sp < 0 ? instr : instr + trigger[sp..];
    }

    private static HealthConfig Healthcheck(string args)
    {
        var words = Words(args);
        var hc = new HealthConfig();
        int i = 0;
        for (; i < words.Count && words[i].StartsWith("--", StringComparison.Ordinal); i++)
        {
            var (flag, value) = words[i].IndexOf('=') is var eq and > 0 ? (words[i][2..eq], words[i][(eq + 1)..]) : (words[i][2..], "");
            hc = flag switch
            {
                "interval" => hc with { Interval = Duration(value) },
                "timeout" => hc with { Timeout = Duration(value) },
                "start-period" => hc with { StartPeriod = Duration(value) },
                "start-interval" => hc with { StartInterval = Duration(value) },
                "retries" => hc with { Retries = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : throw BerthException.Invalid($"invalid retries: {value}") },
                _ => throw BerthException.Invalid($"unknown flag: {flag}"),
            };
        }
        if (i >= words.Count) throw BerthException.Invalid("HEALTHCHECK requires an argument");
        var kind = words[i].ToUpperInvariant();
        if (kind == "NONE")
        {
            if (i != words.Count - 1 || i != 0) throw BerthException.Invalid("HEALTHCHECK NONE takes no arguments");
            return new HealthConfig { Test = ["NONE"] };
        }
        if (kind != "CMD") throw BerthException.Invalid($"Unknown type \"{words[i]}\" in HEALTHCHECK (try CMD)");
        // The command is the original text after CMD, so shell form keeps its quoting.
        int cmdAt = args.IndexOf(words[i], StringComparison.OrdinalIgnoreCase) + words[i].Length;
        var rest = args[cmdAt..].Trim();
        var json = JsonStringArray.TryParse(rest);
        return hc with { Test = json is not null ? ["CMD", .. json] : ["CMD-SHELL", rest] };
    }

    /// <summary>Go duration text (<c>30s</c>, <c>1m30s</c>, <c>500ms</c>) to nanoseconds.</summary>
    private static long Duration(string s)
    {
        long total = 0;
        int i = 0;
        if (s.Length == 0) throw BerthException.Invalid("invalid duration \"\"");
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (!double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
                throw BerthException.Invalid($"invalid duration \"{s}\"");
            int ustart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i])) i++;
            double unit = s[ustart..i] switch
            {
                "ns" => 1, "us" => 1e3, "ms" => 1e6, "s" => 1e9, "m" => 60e9, "h" => 3600e9,
                _ => throw BerthException.Invalid($"invalid duration \"{s}\""),
            };
            total += (long)(n * unit);
        }
        return total;
    }
}
