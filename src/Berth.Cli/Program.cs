using Microsoft.Win32.SafeHandles;

namespace Berth.Cli;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // stdin as the plain file descriptor: Console.OpenStandardInput on a terminal reads through .NET's own line
        // editor, which echoes and cooks keys that must reach the container untouched (raw mode, detach keys).
        var stdin = new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, 0);
        using var ctx = new CliContext(stdin, Console.OpenStandardOutput(), Console.OpenStandardError()) { ForwardSignals = true };
        return await App.RunAsync(ctx, args).ConfigureAwait(false);
    }
}
