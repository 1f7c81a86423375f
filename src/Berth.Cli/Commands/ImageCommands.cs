using System.Text.Json.Nodes;
using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;
using Berth.Client;

namespace Berth.Cli.Commands;

internal static class ImageCommands
{
    private const string DefaultFormat = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
    private const string DigestsFormat = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
    private const string HistoryFormat = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

    public static async Task<int> ListAsync(CliContext ctx, ParsedArgs args)
    {
        var filters = Support.ParseFilters(args);
        if (args.Positionals.Count == 1)
        {
            filters["reference"] = [.. filters.GetValueOrDefault("reference") ?? [], args.Positionals[0]];
        }
        var list = await ctx.Client.ImageListAsync(new ImageListOptions { All = args.GetBool("all"), Filters = filters }).ConfigureAwait(false);
        var trunc = !args.GetBool("no-trunc");
        var now = ctx.Time.GetUtcNow();
        var digests = args.GetBool("digests");
        var format = args.Get("format");
        if (args.GetBool("quiet") && format is null)
        {
            // One line per image, not per tag.
            var ids = list.Items.Select(i => i?["Id"]?.GetValue<string>() ?? "").Distinct().Select(id => trunc ? Rows.TruncateId(id) : id);
            foreach (var id in ids)
            {
                ctx.Out.WriteLine(id);
            }
            return 0;
        }
        if (format is null or "table")
        {
            format = digests ? DigestsFormat : DefaultFormat;
        }
        var rows = list.Items.Where(i => i is not null).SelectMany(i => Rows.Images(i!, trunc, digests, now)).Cast<JsonNode?>().ToList();
        Support.WriteFormatted(ctx, format, rows, Rows.ImageHeaders);
        return 0;
    }

    public static async Task<int> HistoryAsync(CliContext ctx, ParsedArgs args)
    {
        var history = await ctx.Client.ImageHistoryAsync(args.Positionals[0], new ImageHistoryOptions { Platform = args.Get("platform") }).ConfigureAwait(false);
        var trunc = !args.GetBool("no-trunc");
        var human = args.GetBool("human", fallback: true);
        var now = ctx.Time.GetUtcNow();
        var format = args.Get("format");
        if (args.GetBool("quiet") && format is null)
        {
            format = "{{.ID}}";
        }
        if (format is null or "table")
        {
            format = HistoryFormat;
        }
        var rows = history.Items.Where(i => i is not null).Select(i => (JsonNode?)Rows.History(i!, trunc, human, now)).ToList();
        Support.WriteFormatted(ctx, format, rows, Rows.HistoryHeaders);
        return 0;
    }

    public static async Task<int> RemoveAsync(CliContext ctx, ParsedArgs args)
    {
        var failed = false;
        foreach (var name in args.Positionals)
        {
            try
            {
                var r = await ctx.Client.ImageRemoveAsync(name, new ImageRemoveOptions { Force = args.GetBool("force"), NoPrune = args.GetBool("no-prune") }).ConfigureAwait(false);
                foreach (var item in r.Items)
                {
                    if (item.Untagged is { } u)
                    {
                        ctx.Out.WriteLine($"Untagged: {u}");
                    }
                    if (item.Deleted is { } d)
                    {
                        ctx.Out.WriteLine($"Deleted: {d}");
                    }
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

    public static async Task<int> PruneAsync(CliContext ctx, ParsedArgs args)
    {
        var all = args.GetBool("all");
        var warning = all
            ? "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] "
            : "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ";
        if (!args.GetBool("force") && !ContainerCommands.Confirm(ctx, warning))
        {
            return 0;
        }
        var filters = Support.ParseFilters(args);
        filters["dangling"] = [all ? "false" : "true"];
        var r = (await ctx.Client.ImagePruneAsync(new ImagePruneOptions { Filters = filters }).ConfigureAwait(false)).Report;
        if (r.ImagesDeleted is { Count: > 0 } deleted)
        {
            ctx.Out.WriteLine("Deleted Images:");
            foreach (var d in deleted)
            {
                if (d.Untagged is { } u)
                {
                    ctx.Out.WriteLine($"untagged: {u}");
                }
                if (d.Deleted is { } del)
                {
                    ctx.Out.WriteLine($"deleted: {del}");
                }
            }
            ctx.Out.WriteLine();
        }
        ctx.Out.WriteLine($"Total reclaimed space: {Units.HumanSize(r.SpaceReclaimed)}");
        return 0;
    }

    public static async Task<int> TagAsync(CliContext ctx, ParsedArgs args)
    {
        var (repo, tag) = Rows.SplitTag(args.Positionals[1]);
        await ctx.Client.ImageTagAsync(args.Positionals[0], new ImageTagOptions { Repository = repo, Tag = tag }).ConfigureAwait(false);
        return 0;
    }

    public static async Task<int> ImportAsync(CliContext ctx, ParsedArgs args)
    {
        var source = args.Positionals[0];
        string? repo = null, tag = null;
        if (args.Positionals.Count > 1)
        {
            (repo, tag) = Rows.SplitTag(args.Positionals[1]);
        }
        Stream? input = null;
        string? url = null;
        if (source == "-")
        {
            input = ctx.Stdin;
        }
        else if (source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            url = source;
        }
        else
        {
            try
            {
                input = File.OpenRead(source);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ExitException(1, $"open {source}: {(e is FileNotFoundException or DirectoryNotFoundException ? "no such file or directory" : e.Message)}");
            }
        }
        try
        {
            var result = await ctx.Client.ImageImportAsync(new ImageImportOptions
            {
                Source = input,
                SourceUrl = url,
                Repository = repo,
                Tag = tag,
                Message = args.Get("message"),
                Changes = args.GetAll("change"),
                Platform = args.Get("platform"),
            }).ConfigureAwait(false);
            await using (result.Stream.ConfigureAwait(false))
            {
                return await PrintJsonMessagesAsync(ctx, result.Stream).ConfigureAwait(false);
            }
        }
        finally
        {
            if (input is not null && !ReferenceEquals(input, ctx.Stdin))
            {
                await input.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // A JSON-message stream as docker prints it (progress lines on a terminal, status lines otherwise); errors fail the command.
    internal static async Task<int> PrintJsonMessagesAsync(CliContext ctx, Stream stream)
    {
        if (await JsonMessageRenderer.For(ctx, ctx.Out).RenderAsync(stream).ConfigureAwait(false) is { } error)
        {
            ctx.Err.WriteLine(error);
            return 1;
        }
        return 0;
    }

    // POST /images/create?fromImage=... with the stored credentials for the image's registry; the daemon's error answer
    // is thrown, an error inside the stream is returned. Progress goes to output (null: nowhere).
    internal static async Task<string?> PullAsync(CliContext ctx, ImageReference reference, string? platform, TextWriter? output)
    {
        var result = await ctx.Client.ImagePullAsync(new ImagePullOptions
        {
            Repository = reference.Name,
            Tag = reference.ApiTag,
            Platform = platform,
            RegistryAuth = RegistryAuthCommands.RegistryAuthFor(ctx, reference.Domain),
        }).ConfigureAwait(false);
        await using (result.Stream.ConfigureAwait(false))
        {
            var renderer = output is null ? new JsonMessageRenderer(TextWriter.Null, terminal: false) : JsonMessageRenderer.For(ctx, output);
            return await renderer.RenderAsync(result.Stream).ConfigureAwait(false);
        }
    }

    public static async Task<int> PullCommandAsync(CliContext ctx, ParsedArgs args)
    {
        var reference = ImageReference.Parse(args.Positionals[0]);
        if (args.GetBool("all-tags"))
        {
            reference = reference with { Tag = null };
        }
        else if (reference.ImplicitTag && !args.GetBool("quiet"))
        {
            ctx.Out.WriteLine("Using default tag: latest");
        }
        var error = await PullAsync(ctx, reference, args.Get("platform"), args.GetBool("quiet") ? null : ctx.Out).ConfigureAwait(false);
        if (error is not null)
        {
            ctx.Err.WriteLine(error);
            return 1;
        }
        // docker ends with the full name of what it pulled.
        ctx.Out.WriteLine(reference.FullString);
        return 0;
    }
}
