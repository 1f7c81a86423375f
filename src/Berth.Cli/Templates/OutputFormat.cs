using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Cli.Templates;

// docker's formatter.Context: "table [TEMPLATE]", "json", or a raw template, applied to a list of rows.
internal static class OutputFormat
{
    public static bool IsTable(string format) => format.StartsWith("table", StringComparison.Ordinal);

    public static bool IsJson(string format) => format.Trim() == "json";

    public static string Render(string format, IEnumerable<JsonNode?> rows, JsonObject? headers)
    {
        var table = IsTable(format);
        var source = format;
        if (IsJson(format))
        {
            return string.Concat(rows.Select(r => GoTemplate.ToGoJson(r) + "\n"));
        }
        if (table)
        {
            source = source["table".Length..];
        }
        source = source.Trim(' ').Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal);
        var template = GoTemplate.Parse(source);
        var body = new StringBuilder();
        foreach (var row in rows)
        {
            body.Append(template.Execute(row)).Append('\n');
        }
        if (!table)
        {
            return body.ToString();
        }
        var header = headers is null ? "" : template.Execute(headers, headerMode: true);
        return TabWriter.Format(header + "\n" + body);
    }
}
