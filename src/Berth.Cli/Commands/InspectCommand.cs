using System.Text.Json.Nodes;
using Berth.Cli.CommandLine;
using Berth.Cli.Templates;
using Berth.Client;

namespace Berth.Cli.Commands;

internal static class InspectCommand
{
    private delegate Task<JsonNode> Inspector(CliContext ctx, string name, ParsedArgs args);

    private static readonly (string Type, Inspector Inspect)[] Inspectors =
    [
        ("container", async (ctx, n, a) => (await ctx.Client.ContainerInspectAsync(n, new ContainerInspectOptions { Size = a.GetBool("size") }).ConfigureAwait(false)).Raw),
        ("image", async (ctx, n, _) => (await ctx.Client.ImageInspectAsync(n).ConfigureAwait(false)).Raw),
        ("network", async (ctx, n, _) => (await ctx.Client.NetworkInspectAsync(n).ConfigureAwait(false)).Raw),
        ("volume", async (ctx, n, _) => (await ctx.Client.VolumeInspectAsync(n).ConfigureAwait(false)).Raw),
    ];

    public static Task<int> InspectAnyAsync(CliContext ctx, ParsedArgs args)
    {
        var type = args.Get("type");
        if (type is not null && Inspectors.All(i => i.Type != type))
        {
            throw new ExitException(1, $"\"{type}\" is not a valid value for --type");
        }
        return RunAsync(ctx, args, type, notFound: n => $"Error: No such object: {n}");
    }

    public static Task<int> InspectContainersAsync(CliContext ctx, ParsedArgs args) => RunAsync(ctx, args, "container", notFound: null);

    public static Task<int> InspectImagesAsync(CliContext ctx, ParsedArgs args) => RunAsync(ctx, args, "image", notFound: null);

    public static Task<int> InspectNetworksAsync(CliContext ctx, ParsedArgs args) => RunAsync(ctx, args, "network", notFound: null);

    public static Task<int> InspectVolumesAsync(CliContext ctx, ParsedArgs args) => RunAsync(ctx, args, "volume", notFound: null, shape: AsDockerVolume);

    // docker's volume inspect decodes into its Volume struct and encodes that again (unlike container, image and network
    // inspect, which print the daemon's bytes), so fields come in the struct's order and empty optional ones disappear.
    private static readonly (string Name, bool OmitEmpty)[] VolumeFields =
    [
        ("ClusterVolume", true), ("CreatedAt", true), ("Driver", false), ("Labels", false), ("Mountpoint", false), ("Name", false),
        ("Options", false), ("Scope", false), ("Status", true), ("UsageData", true),
    ];

    internal static JsonNode AsDockerVolume(JsonNode raw)
    {
        if (raw is not JsonObject o)
        {
            return raw;
        }
        var shaped = new JsonObject();
        foreach (var (name, omitEmpty) in VolumeFields)
        {
            var value = o[name];
            var empty = value is null || (value is JsonValue v && v.ToString().Length == 0) || value is JsonObject { Count: 0 };
            if (omitEmpty && empty)
            {
                continue;
            }
            shaped[name] = value?.DeepClone();
        }
        return shaped;
    }

    private static async Task<int> RunAsync(CliContext ctx, ParsedArgs args, string? type, Func<string, string>? notFound, Func<JsonNode, JsonNode>? shape = null)
    {
        var found = new List<JsonNode>();
        var errors = new List<string>();
        foreach (var name in args.Positionals)
        {
            JsonNode? obj = null;
            string? error = null;
            foreach (var (t, inspect) in Inspectors)
            {
                if (type is not null && t != type)
                {
                    continue;
                }
                try
                {
                    obj = await inspect(ctx, name, args).ConfigureAwait(false);
                    break;
                }
                catch (DockerApiException e) when (e.IsNotFound)
                {
                    error ??= $"Error response from daemon: {e.Message}";
                }
            }
            if (obj is not null)
            {
                found.Add(shape is null ? obj : shape(obj));
            }
            else
            {
                errors.Add(notFound is not null && type is null ? notFound(name) : (error ?? $"No such object: {name}"));
            }
        }
        var format = args.Get("format");
        if (format is null)
        {
            ctx.Out.WriteLine(Support.IndentedArray(found));
        }
        else if (OutputFormat.IsJson(format))
        {
            // docker's JSON inspector: the same array, compact on one line.
            ctx.Out.WriteLine(GoTemplate.ToJson(new JsonArray(found.Select(o => o.DeepClone()).ToArray())));
        }
        else
        {
            var template = GoTemplate.Parse(format);
            foreach (var obj in found)
            {
                ctx.Out.WriteLine(template.Execute(obj));
            }
        }
        foreach (var e in errors)
        {
            ctx.Err.WriteLine(e);
        }
        return errors.Count > 0 ? 1 : 0;
    }
}
