namespace Berth.Cli.CommandLine;

internal enum FlagKind
{
    Bool,
    String,
    // Repeatable: every occurrence is kept in order (pflag's "list"/"filter"/"map").
    List,
}

// One row of a command's flag table; TypeName is what docker's help shows after the name ("string", "list", "int").
internal sealed record FlagSpec(string Name, char? Short, FlagKind Kind, string Help, string? TypeName = null, string? Default = null, bool Hidden = false)
{
    public static FlagSpec Bool(string name, char? shortName, string help, bool hidden = false) => new(name, shortName, FlagKind.Bool, help, Hidden: hidden);

    public static FlagSpec Str(string name, char? shortName, string help, string typeName = "string", string? defaultValue = null, bool hidden = false) =>
        new(name, shortName, FlagKind.String, help, typeName, defaultValue, hidden);

    public static FlagSpec List(string name, char? shortName, string help, string typeName = "list") => new(name, shortName, FlagKind.List, help, typeName);
}

internal sealed record CommandSpec(
    string Path,
    string Usage,
    string Description,
    IReadOnlyList<FlagSpec> Flags,
    // false = pflag's SetInterspersed(false): flag parsing stops at the first positional (run/create/exec).
    bool Interspersed = true,
    int MinArgs = 0,
    int MaxArgs = int.MaxValue,
    IReadOnlyList<string>? Aliases = null)
{
    public FlagSpec? FindLong(string name) => Flags.FirstOrDefault(f => f.Name == name);

    public FlagSpec? FindShort(char c) => Flags.FirstOrDefault(f => f.Short == c);
}

// A command-line mistake: printed with the command's usage and exit status 125, like docker.
internal sealed class UsageException(string message, CommandSpec? command = null, int exitCode = 125) : Exception(message)
{
    public CommandSpec? Command { get; } = command;

    public int ExitCode { get; } = exitCode;
}

internal sealed class ParsedArgs
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public ParsedArgs(CommandSpec command) => Command = command;

    public CommandSpec Command { get; }

    public List<string> Positionals { get; } = [];

    public bool HelpRequested { get; set; }

    internal void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out var list))
        {
            list = [];
            _values[name] = list;
        }
        list.Add(value);
    }

    public bool IsSet(string name) => _values.ContainsKey(name);

    // Last occurrence wins for scalar flags, like pflag.
    public string? Get(string name) => _values.TryGetValue(name, out var list) ? list[^1] : Command.FindLong(name)?.Default;

    public string GetOr(string name, string fallback) => Get(name) ?? fallback;

    public IReadOnlyList<string> GetAll(string name) => _values.TryGetValue(name, out var list) ? list : [];

    public bool GetBool(string name, bool fallback = false) => _values.TryGetValue(name, out var list) ? list[^1] == "true" : fallback;

    public int? GetInt(string name)
    {
        var v = Get(name);
        if (v is null)
        {
            return null;
        }
        if (!int.TryParse(v, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var i))
        {
            throw new UsageException($"invalid argument \"{v}\" for \"--{name}\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax", Command);
        }
        return i;
    }
}
