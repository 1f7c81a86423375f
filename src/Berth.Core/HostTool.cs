using System.Diagnostics;

namespace Berth.Core;

public readonly record struct HostToolResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Runs a host tool (iproute2, nftables, git) to its end, its output captured; cancelling kills it. Each call is one
/// process spawn, so callers batch where the tool can (ip -batch, nft -f -).
/// </summary>
public static class HostTool
{
    /// <param name="env">Variables set (a null value removes one) over the daemon's environment.</param>
    public static async Task<HostToolResult> RunAsync(string file, IEnumerable<string> args, string? stdin, CancellationToken ct,
        IReadOnlyDictionary<string, string?>? env = null, string? workDir = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workDir is not null) psi.WorkingDirectory = workDir;
        foreach (var a in args) psi.ArgumentList.Add(a);
        // The tools' messages are parsed for "not found"-style outcomes; keep them in English.
        psi.Environment["LC_ALL"] = "C";
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
            if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;

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
            // Only this process and what it started (git's transport helpers), by its own handle: they are ours.
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw;
        }
        catch (IOException)
        {
            // The tool closed stdin early (it failed on a line); its exit code and stderr say why.
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        return new HostToolResult(p.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    public static async Task<string> RunCheckedAsync(string file, IEnumerable<string> args, string? stdin, string what, CancellationToken ct)
    {
        var r = await RunAsync(file, args, stdin, ct).ConfigureAwait(false);
        if (r.ExitCode != 0)
            throw new BerthException(ErrorKind.Unknown, $"{what}: {file} exited with {r.ExitCode}: {r.Stderr.Trim()}");
        return r.Stdout;
    }
}
