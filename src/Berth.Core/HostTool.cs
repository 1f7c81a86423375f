using System.Diagnostics;
using Berth.Core;

namespace Berth.Network.Linux;

internal readonly record struct CommandResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs iproute2/nftables tools. Each call is one process spawn, so callers batch (ip -batch, nft -f -).</summary>
internal static class Command
{
    public static async Task<CommandResult> RunAsync(string file, IEnumerable<string> args, string? stdin, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The tools' messages are parsed for "not found"-style outcomes; keep them in English.
        psi.Environment["LC_ALL"] = "C";

        using var p = new Process { StartInfo = psi };
        try
        {
            p.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BerthException(ErrorKind.Unavailable, $"cannot run {file}: {e.Message}", e);
        }

        var stdout = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = p.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            if (stdin is not null)
                await p.StandardInput.WriteAsync(stdin.AsMemory(), ct).ConfigureAwait(false);
            p.StandardInput.Close();
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Only this process, by its own handle: it is ours.
            try { p.Kill(); } catch (InvalidOperationException) { }
            throw;
        }
        catch (IOException)
        {
            // The tool closed stdin early (it failed on a line); its exit code and stderr say why.
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        return new CommandResult(p.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    public static async Task<string> RunCheckedAsync(string file, IEnumerable<string> args, string? stdin, string what, CancellationToken ct)
    {
        var r = await RunAsync(file, args, stdin, ct).ConfigureAwait(false);
        if (r.ExitCode != 0)
            throw new BerthException(ErrorKind.Unknown, $"{what}: {file} exited with {r.ExitCode}: {r.Stderr.Trim()}");
        return r.Stdout;
    }
}
