using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Cli.CommandLine;
using Berth.Cli.Templates;
using Berth.Client;

namespace Berth.Cli.Commands;

internal static class Support
{
    private static readonly JsonSerializerOptions IndentedJson = new()
    {
        WriteIndented = true,
        IndentSize = 4,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    // docker's json.Indent(raw, "", "    ") of a list of objects.
    public static string IndentedArray(IEnumerable<JsonNode?> items)
    {
        var array = new JsonArray(items.Select(i => i?.DeepClone()).ToArray());
        return array.Count == 0 ? "[]" : array.ToJsonString(IndentedJson);
    }

    public static Dictionary<string, IReadOnlyList<string>> ParseFilters(ParsedArgs args, string name = "filter")
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var f in args.GetAll(name))
        {
            var eq = f.IndexOf('=');
            if (eq <= 0)
            {
                throw new UsageException($"invalid argument \"{f}\" for \"{(args.Command.FindLong(name)?.Short is { } s ? $"-{s}, " : "")}--{name}\" flag: bad format of filter (expected name=value)", args.Command);
            }
            var key = f[..eq].Trim().ToLowerInvariant();
            var list = result.TryGetValue(key, out var existing) ? existing.ToList() : [];
            list.Add(f[(eq + 1)..].Trim());
            result[key] = list;
        }
        return result;
    }

    // Prints rows with a "table"/"json"/template format like docker's formatter.
    public static void WriteFormatted(CliContext ctx, string format, IEnumerable<JsonNode?> rows, JsonObject headers)
    {
        ctx.Out.Write(OutputFormat.Render(format, rows, headers));
    }

    // Runs op for each name; prints the name on success and "Error response from daemon: ..." on failure.
    public static async Task<int> ForEachAsync(CliContext ctx, IEnumerable<string> names, Func<string, Task> op, bool printName = true)
    {
        var failed = false;
        foreach (var name in names)
        {
            try
            {
                await op(name).ConfigureAwait(false);
                if (printName)
                {
                    ctx.Out.WriteLine(name);
                }
            }
            catch (DockerApiException e)
            {
                ctx.Err.WriteLine($"Error response from daemon: {e.Message}");
                failed = true;
            }
        }
        return failed ? 1 : 0;
    }

    // Executes a single-object template (inspect -f, version -f, info -f) and prints it with a newline.
    public static void WriteTemplate(CliContext ctx, string format, JsonNode? data)
    {
        if (OutputFormat.IsJson(format))
        {
            ctx.Out.WriteLine(GoTemplate.ToJson(GoTemplate.Normalize(data)));
            return;
        }
        var template = GoTemplate.Parse(format);
        ctx.Out.WriteLine(template.Execute(data));
    }
}
