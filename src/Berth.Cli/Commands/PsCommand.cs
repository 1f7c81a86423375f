using System.Text.Json.Nodes;
using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;
using Berth.Client;

namespace Berth.Cli.Commands;

internal static class PsCommand
{
    private const string DefaultFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

    public static async Task<int> RunAsync(CliContext ctx, ParsedArgs args)
    {
        var last = args.GetInt("last") ?? -1;
        if (args.GetBool("latest"))
        {
            last = 1;
        }
        var quiet = args.GetBool("quiet");
        var format = args.Get("format");
        // docker: --size asks for sizes, and so does a template that uses .Size unless -q or an explicit --size=false.
        var size = args.GetBool("size") || (!quiet && !args.IsSet("size") && format is not null && format.Contains(".Size", StringComparison.Ordinal));
        var list = await ctx.Client.ContainerListAsync(new ContainerListOptions
        {
            All = args.GetBool("all") || last > 0,
            Limit = last > 0 ? last : null,
            Size = size,
            Filters = Support.ParseFilters(args),
        }).ConfigureAwait(false);
        var trunc = !args.GetBool("no-trunc");
        var now = ctx.Time.GetUtcNow();
        var rows = list.Items.Where(i => i is not null).Select(i => (JsonNode)Rows.Container(i!, trunc, now)).ToList();
        if (quiet && format is null)
        {
            format = "{{.ID}}";
        }
        format ??= args.GetBool("size") ? DefaultFormat + "\t{{.Size}}" : DefaultFormat;
        if (format == "table")
        {
            format = args.GetBool("size") ? DefaultFormat + "\t{{.Size}}" : DefaultFormat;
        }
        Support.WriteFormatted(ctx, format, rows, Rows.ContainerHeaders);
        return 0;
    }
}
