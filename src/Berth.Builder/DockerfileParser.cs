using Berth.Content;
using Berth.Core;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Berth.Builder;

/// <summary>A here-document attached to an instruction (<c>RUN &lt;&lt;EOF</c>, <c>COPY &lt;&lt;EOF /f</c>).</summary>
public sealed record Heredoc(string Name, string Content, bool Expand);

/// <summary>One instruction as written: continuations joined, flags split off, JSON form decoded.</summary>
public sealed record Instruction
{
    /// <summary>Upper case: <c>RUN</c>, <c>COPY</c>, ...</summary>
    public required string Keyword { get; init; }

    /// <summary>The logical line with continuations joined, as the step header shows it.</summary>
    public required string Original { get; init; }

    /// <summary>The arguments after the keyword and the flags, untouched (no substitution yet).</summary>
    public required string Args { get; init; }

    /// <summary>The exec (JSON array) form, when the arguments are one.</summary>
    public IReadOnlyList<string>? Json { get; init; }

    /// <summary>The <c>--name=value</c> flags in order (a bare <c>--name</c> has the value "true").</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Flags { get; init; } = [];

    public IReadOnlyList<Heredoc> Heredocs { get; init; } = [];

    /// <summary>1-based line of the keyword.</summary>
    public int Line { get; init; }

    public string? Flag(string name) => Flags.LastOrDefault(f => f.Key == name).Value;
}

public sealed record Dockerfile
{
    public required string FileName { get; init; }
    public char Escape { get; init; } = '\\';
    public string? Syntax { get; init; }
    public required IReadOnlyList<Instruction> Instructions { get; init; }

    /// <summary>Parser warnings (empty continuation lines), as dockerd's legacy builder prints them before the steps.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>
/// The Dockerfile reader: parser directives, comments, line continuations, flags, JSON and shell forms and
/// here-documents. It only structures the text; what each instruction means is the executor's business.
/// </summary>
public static partial class DockerfileParser
{
    public static readonly IReadOnlySet<string> Keywords = new HashSet<string>(StringComparer.Ordinal)
    {
        "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
        "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
    };

    private static readonly Dictionary<string, string[]> AllowedFlags = new(StringComparer.Ordinal)
    {
        ["FROM"] = ["platform"],
        ["RUN"] = ["mount", "network", "security"],
        ["COPY"] = ["from", "chown", "chmod", "link", "parents", "exclude"],
        ["ADD"] = ["chown", "chmod", "link", "keep-git-dir", "checksum", "exclude"],
        ["HEALTHCHECK"] = ["interval", "timeout", "start-period", "start-interval", "retries"],
    };

    private static readonly HashSet<string> HeredocKeywords = new(StringComparer.Ordinal) { "RUN", "COPY", "ADD" };

    [GeneratedRegex(@"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$")]
    private static partial Regex Directive();

    [GeneratedRegex(@"<<(-?)(?:""([^""]+)""|'([^']+)'|([A-Za-z_][A-Za-z0-9_]*))")]
    private static partial Regex HeredocStart();

    public static Dockerfile Parse(string text, string fileName = "Dockerfile")
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        if (lines.Length > 0 && lines[0].StartsWith('\uFEFF')) lines[0] = lines[0][1..];
        char escape = '\\';
        string? syntax = null;
        int i = 0;

        // Parser directives: only at the very top, before any comment, blank line or instruction.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (; i < lines.Length; i++)
        {
            var m = Directive().Match(lines[i]);
            if (!m.Success) break;
            var name = m.Groups[1].Value.ToLowerInvariant();
            var value = m.Groups[2].Value;
            if (name is not ("escape" or "syntax" or "check")) break; // an ordinary comment ends the directives
            if (!seen.Add(name)) throw new DockerfileException(fileName, i + 1, $"only one {name} parser directive can be used");
            if (name == "escape")
            {
                if (value is not ("\\" or "`")) throw new DockerfileException(fileName, i + 1, $"invalid escape token '{value}' does not match ` or \\");
                escape = value[0];
            }
            else if (name == "syntax") syntax = value;
        }

        var result = new List<Instruction>();
        var warnings = new List<string>();
        while (i < lines.Length)
        {
            var line = lines[i];
            var trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] == '#') { i++; continue; }
            int start = i;
            var logical = new StringBuilder();
            bool emptyContinuation = false;
            // Join continuation lines; comment lines and blank lines inside a continuation are dropped (a blank one
            // with a warning, as Docker does).
            while (true)
            {
                var cur = lines[i];
                var t = cur.TrimEnd();
                i++;
                if (t.Length > 0 && t[^1] == escape)
                {
                    logical.Append(t, 0, t.Length - 1);
                    while (i < lines.Length && (lines[i].Trim().Length == 0 || lines[i].TrimStart().StartsWith('#')))
                    {
                        if (lines[i].Trim().Length == 0) emptyContinuation = true;
                        i++;
                    }
                    if (i >= lines.Length) break;
                    continue;
                }
                logical.Append(cur);
                break;
            }
            var inst = ParseInstruction(logical.ToString().Trim(), start + 1, fileName, escape);
            if (emptyContinuation) warnings.Add("Empty continuation line found in: " + inst.Original);
            if (HeredocKeywords.Contains(inst.Keyword) && inst.Json is null)
            {
                var docs = new List<Heredoc>();
                foreach (Match m in HeredocStart().Matches(inst.Args))
                {
                    bool strip = m.Groups[1].Value == "-";
                    bool quoted = m.Groups[2].Success || m.Groups[3].Success;
                    var word = m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Success ? m.Groups[3].Value : m.Groups[4].Value;
                    var body = new StringBuilder();
                    bool closed = false;
                    while (i < lines.Length)
                    {
                        var l = lines[i++];
                        if (strip) l = l.TrimStart('\t');
                        if (l == word) { closed = true; break; }
                        body.Append(l).Append('\n');
                    }
                    if (!closed) throw new DockerfileException(fileName, start + 1, $"unterminated heredoc {word}");
                    docs.Add(new Heredoc(word, body.ToString(), !quoted));
                }
                if (docs.Count > 0) inst = inst with { Heredocs = docs };
            }
            result.Add(inst);
        }
        // As dockerd: an empty file and one without instructions are the request's error, not a build's.
        if (text.Length == 0) throw new DockerfileException(fileName, 0, $"the Dockerfile ({fileName}) cannot be empty");
        if (result.Count == 0) throw new DockerfileException(fileName, 0, "failed to parse Dockerfile: file with no instructions");
        return new Dockerfile { FileName = fileName, Escape = escape, Syntax = syntax, Instructions = result, Warnings = warnings };
    }

    /// <summary>Parses one logical line (also an ONBUILD trigger, which has no line of its own).</summary>
    public static Instruction ParseInstruction(string text, int line, string fileName, char escape = '\\')
    {
        int sp = 0;
        while (sp < text.Length && !char.IsWhiteSpace(text[sp])) sp++;
        var keyword = text[..sp].ToUpperInvariant();
        var rest = text[sp..].TrimStart();
        if (!Keywords.Contains(keyword)) throw new DockerfileException(fileName, line, $"unknown instruction: {text[..sp]}");

        var flags = new List<KeyValuePair<string, string>>();
        if (AllowedFlags.TryGetValue(keyword, out var allowed))
        {
            while (rest.StartsWith("--", StringComparison.Ordinal))
            {
                int end = 0;
                while (end < rest.Length && !char.IsWhiteSpace(rest[end])) end++;
                var token = rest[2..end];
                rest = rest[end..].TrimStart();
                if (token.Length == 0) break; // "--" ends the flags
                int eq = token.IndexOf('=');
                var name = eq < 0 ? token : token[..eq];
                var value = eq < 0 ? "true" : token[(eq + 1)..];
                if (!allowed.Contains(name)) throw new DockerfileException(fileName, line, $"unknown flag: {name}");
                flags.Add(new(name, value));
            }
        }
        else if (rest.StartsWith("--", StringComparison.Ordinal) && keyword is not ("RUN" or "CMD" or "ENTRYPOINT" or "ONBUILD" or "ENV" or "LABEL" or "ARG" or "SHELL"))
        {
            var token = rest.Split(' ', 2)[0];
            var name = token[2..].Split('=', 2)[0];
            throw new DockerfileException(fileName, line, $"unknown flag: {name}");
        }

        // RUN --mount values are checked here so a bad type or key points at its line; the executor parses them
        // again after substituting build args.
        if (keyword == "RUN")
            foreach (var f in flags.Where(f => f.Key == "mount"))
            {
                try { RunMount.Parse(f.Value); }
                catch (FormatException e) { throw new DockerfileException(fileName, line, $"--mount={f.Value}: {e.Message}"); }
            }

        IReadOnlyList<string>? json = null;
        if (rest.StartsWith('[') && keyword is "RUN" or "CMD" or "ENTRYPOINT" or "SHELL" or "VOLUME" or "COPY" or "ADD")
            json = JsonStringArray.TryParse(rest);

        if (rest.Length == 0 && keyword is not ("CMD" or "ENTRYPOINT" or "HEALTHCHECK"))
            throw new DockerfileException(fileName, line, $"{keyword} requires at least one argument");
        if (keyword == "SHELL" && json is null)
            throw new DockerfileException(fileName, line, "SHELL requires the arguments to be in JSON form");
        if (keyword is "COPY" or "ADD" && json is null && !rest.Contains("<<", StringComparison.Ordinal) && ShellWords.Split(rest, escape).Count < 2)
            throw new DockerfileException(fileName, line, $"{keyword} requires at least two arguments, but only one was provided. Destination could not be determined");
        // As Docker: the old "KEY value" form of ENV and LABEL needs a value; caught when the file is parsed.
        if (keyword is "ENV" or "LABEL" && ShellWords.Split(rest, escape) is [var only] && !only.Contains('='))
            throw new DockerfileException(fileName, line, $"{keyword} must have two arguments");
        if (keyword == "HEALTHCHECK")
            foreach (var (name, value) in flags)
            {
                // As Docker: a bad duration or count fails the parse, before any step runs.
                try { HealthcheckFlags.Apply(new HealthConfig(), name, value); }
                catch (FormatException e) { throw new DockerfileException(fileName, line, e.Message); }
            }
        if (keyword == "ONBUILD")
        {
            var inner = rest.Split((char[])[' ', '\t'], 2)[0].ToUpperInvariant();
            if (inner is "ONBUILD" or "FROM" or "MAINTAINER")
                throw new DockerfileException(fileName, line, $"{inner} isn't allowed as an ONBUILD trigger");
            ParseInstruction(rest, line, fileName, escape); // the trigger must itself parse
        }

        return new Instruction
        {
            Keyword = keyword,
            Original = text,
            Args = rest,
            Json = json,
            Flags = flags,
            Line = line,
        };
    }

}
