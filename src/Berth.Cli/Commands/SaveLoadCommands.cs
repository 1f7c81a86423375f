using Berth.Cli.CommandLine;
using Berth.Client;

namespace Berth.Cli.Commands;

// docker save and docker load.
internal static class SaveLoadCommands
{
    public static async Task<int> SaveAsync(CliContext ctx, ParsedArgs args)
    {
        var output = args.Get("output");
        if (output is null && ctx.ForwardSignals && Terminal.IsTerminal(1))
        {
            throw new ExitException(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
        }
        string? dir = null;
        if (output is not null)
        {
            dir = Path.GetDirectoryName(Path.GetFullPath(output)) ?? ".";
            if (!Directory.Exists(dir))
            {
                throw new ExitException(1, $"failed to save image: invalid output path: directory \"{dir}\" does not exist");
            }
        }
        var result = await ctx.Client.ImageSaveAsync(new ImageSaveOptions { Images = args.Positionals }).ConfigureAwait(false);
        await using (result.Archive.ConfigureAwait(false))
        {
            if (output is null)
            {
                await result.Archive.CopyToAsync(ctx.StdoutStream).ConfigureAwait(false);
                return 0;
            }
            // Written beside the target and renamed, so a failed save leaves no partial file, as docker's does.
            var temp = Path.Combine(dir!, $".docker_temp_{Guid.NewGuid():N}");
            try
            {
                await using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                {
                    await result.Archive.CopyToAsync(f).ConfigureAwait(false);
                }
                File.Move(temp, output!, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException)
            {
                throw new ExitException(1, $"failed to save image: {e.Message}");
            }
            finally
            {
                File.Delete(temp);
            }
        }
        return 0;
    }

    public static async Task<int> LoadAsync(CliContext ctx, ParsedArgs args)
    {
        var input = args.Get("input");
        if (input is null && ctx.ForwardSignals && Terminal.IsTerminal(0))
        {
            throw new ExitException(1, "requested load from stdin, but stdin is empty");
        }
        Stream archive;
        if (input is null)
        {
            archive = ctx.Stdin;
        }
        else
        {
            try
            {
                archive = File.OpenRead(input);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ExitException(1, $"open {input}: {(e is FileNotFoundException or DirectoryNotFoundException ? "no such file or directory" : e.Message)}");
            }
        }
        try
        {
            // Like docker: progress only for a terminal; otherwise just the "Loaded image" lines.
            bool quiet = args.GetBool("quiet") || !(ctx.ForwardSignals && Terminal.IsTerminal(1));
            var result = await ctx.Client.ImageLoadAsync(new ImageLoadOptions { Archive = archive, Quiet = quiet }).ConfigureAwait(false);
            await using (result.Stream.ConfigureAwait(false))
            {
                return await ImageCommands.PrintJsonMessagesAsync(ctx, result.Stream).ConfigureAwait(false);
            }
        }
        finally
        {
            if (!ReferenceEquals(archive, ctx.Stdin))
            {
                await archive.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
