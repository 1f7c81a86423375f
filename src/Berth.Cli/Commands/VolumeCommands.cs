using System.Text.Json.Nodes;
using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;
using Berth.Client;

namespace Berth.Cli.Commands;

internal static class VolumeCommands
{
    private const string DefaultFormat = "table {{.Driver}}\t{{.Name}}";

    public static async Task<int> CreateAsync(CliContext ctx, ParsedArgs args)
    {
        var name = args.Get("name");
        if (args.Positionals.Count == 1)
        {
            if (name is not null && name != args.Positionals[0])
            {
                throw new ExitException(1, $"conflicting options: cannot specify a volume-name through both --name and as a positional arg");
            }
            name = args.Positionals[0];
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var l in args.GetAll("label"))
        {
            var eq = l.IndexOf('=');
            labels[eq < 0 ? l : l[..eq]] = eq < 0 ? "" : l[(eq + 1)..];
        }
        var opts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in args.GetAll("opt"))
        {
            var eq = o.IndexOf('=');
            if (eq <= 0)
            {
                throw new UsageException($"invalid argument \"{o}\" for \"-o, --opt\" flag: invalid key value pair format in driver options", args.Command);
            }
            opts[o[..eq]] = o[(eq + 1)..];
        }
        var r = await ctx.Client.VolumeCreateAsync(new VolumeCreateOptions
        {
            Name = name,
            Driver = args.Get("driver"),
            DriverOpts = opts,
            Labels = labels,
        }).ConfigureAwait(false);
        ctx.Out.WriteLine(r.Raw["Name"]?.ToString() ?? name ?? "");
        return 0;
    }

    public static async Task<int> ListAsync(CliContext ctx, ParsedArgs args)
    {
        var list = await ctx.Client.VolumeListAsync(new VolumeListOptions { Filters = Support.ParseFilters(args) }).ConfigureAwait(false);
        var rows = list.Volumes.Where(v => v is not null).Select(v => Rows.Volume(v!))
            .OrderBy(v => v["Name"]!.ToString(), StringComparer.Ordinal).Cast<JsonNode?>().ToList();
        var format = args.Get("format");
        if (args.GetBool("quiet") && format is null)
        {
            format = "{{.Name}}";
        }
        if (format is null or "table")
        {
            format = DefaultFormat;
        }
        Support.WriteFormatted(ctx, format, rows, Rows.VolumeHeaders);
        foreach (var w in list.Warnings)
        {
            ctx.Err.WriteLine(w);
        }
        return 0;
    }

    public static Task<int> RemoveAsync(CliContext ctx, ParsedArgs args)
    {
        var force = args.GetBool("force");
        return Support.ForEachAsync(ctx, args.Positionals, n => ctx.Client.VolumeRemoveAsync(n, new VolumeRemoveOptions { Force = force }));
    }

    public static async Task<int> PruneAsync(CliContext ctx, ParsedArgs args)
    {
        var all = args.GetBool("all");
        var warning = all
            ? "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "
            : "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ";
        if (!args.GetBool("force") && !ContainerCommands.Confirm(ctx, warning))
        {
            return 0;
        }
        var filters = Support.ParseFilters(args);
        if (all)
        {
            filters["all"] = ["true"];
        }
        var r = (await ctx.Client.VolumePruneAsync(new VolumePruneOptions { Filters = filters }).ConfigureAwait(false)).Report;
        if (r.VolumesDeleted is { Count: > 0 } deleted)
        {
            ctx.Out.WriteLine("Deleted Volumes:");
            foreach (var d in deleted)
            {
                ctx.Out.WriteLine(d);
            }
            ctx.Out.WriteLine();
        }
        ctx.Out.WriteLine($"Total reclaimed space: {Units.HumanSize(r.SpaceReclaimed)}");
        return 0;
    }
}
