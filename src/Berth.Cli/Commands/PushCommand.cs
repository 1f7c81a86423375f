using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;
using Berth.Client;

namespace Berth.Cli.Commands;

// docker push: POST /images/{name}/push with the stored credentials, the progress stream printed like docker's.
internal static class PushCommand
{
    public static async Task<int> PushAsync(CliContext ctx, ParsedArgs args)
    {
        var reference = ImageReference.Parse(args.Positionals[0]);
        var all = args.GetBool("all-tags");
        var quiet = args.GetBool("quiet");
        if (all && !reference.ImplicitTag)
        {
            throw new ExitException(1, "tag can't be used with --all-tags/-a");
        }
        if (reference.Digest is not null)
        {
            throw new ExitException(1, "cannot push a digest reference");
        }
        if (all)
        {
            reference = reference with { Tag = null };
        }
        else if (reference.ImplicitTag && !quiet)
        {
            ctx.Out.WriteLine($"Using default tag: {reference.Tag}");
        }
        // The API takes the familiar repository name ("busybox", "localhost:5000/app") and the tag apart.
        var name = (reference with { Tag = null, Digest = null }).Familiar;
        var result = await ctx.Client.ImagePushAsync(name, new ImagePushOptions
        {
            Tag = reference.Tag,
            RegistryAuth = RegistryAuthCommands.RegistryAuthFor(ctx, reference.Domain),
        }).ConfigureAwait(false);
        string? error;
        await using (result.Stream.ConfigureAwait(false))
        {
            var renderer = quiet ? new JsonMessageRenderer(TextWriter.Null, terminal: false) : JsonMessageRenderer.For(ctx, ctx.Out);
            error = await renderer.RenderAsync(result.Stream).ConfigureAwait(false);
        }
        if (error is not null)
        {
            // An error inside the stream is printed bare, as docker does (not "Error response from daemon").
            ctx.Err.WriteLine(error);
            return 1;
        }
        if (quiet)
        {
            ctx.Out.WriteLine(reference.FullString);
        }
        return 0;
    }
}
