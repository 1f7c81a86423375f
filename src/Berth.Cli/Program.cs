namespace Berth.Cli;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var ctx = new CliContext(Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.OpenStandardError()) { ForwardSignals = true };
        return await App.RunAsync(ctx, args).ConfigureAwait(false);
    }
}
