using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Core;

namespace Berth.Runtime.Runc;

/// <summary>What <c>runc state</c>/<c>runc list</c> report about one container.</summary>
public sealed record RuncState
{
    public string Id { get; init; } = "";
    public int Pid { get; init; }

    /// <summary>"creating", "created", "running", "paused" or "stopped".</summary>
    public string Status { get; init; } = "";
    public string Bundle { get; init; } = "";
    public DateTimeOffset Created { get; init; }
}

/// <summary>The outcome of one runc invocation.</summary>
internal readonly record struct RuncResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Drives the <c>runc</c> command against one state root. Failures surface as <see cref="BerthException"/> with
/// runc's own message (without the logrus decoration).
/// </summary>
public sealed class RuncDriver
{
    private readonly Func<IReadOnlyList<string>, CancellationToken, Task<RuncResult>> _run;

    public RuncDriver(string runcPath, string root)
        : this(runcPath, root, null)
    {
    }

    // The shim passes its own runner: it reaps every child itself, so .NET's Process must stay out of its way.
    internal RuncDriver(string runcPath, string root, Func<string, IReadOnlyList<string>, CancellationToken, Task<RuncResult>>? runner)
    {
        RuncPath = runcPath;
        Root = root;
        var r = runner ?? RunProcessAsync;
        _run = (args, ct) => r(runcPath, args, ct);
    }

    public string RuncPath { get; }
    public string Root { get; }

    internal List<string> Args(params string[] tail) => ["--root", Root, .. tail];

    public Task CreateAsync(string id, string bundleDir, string pidFile, CancellationToken ct = default) =>
        CheckedAsync(Args("create", "--bundle", bundleDir, "--pid-file", pidFile, id), ct);

    public Task StartAsync(string id, CancellationToken ct = default) => CheckedAsync(Args("start", id), ct);

    public Task KillAsync(string id, int signal, bool all = false, CancellationToken ct = default) =>
        CheckedAsync(all ? Args("kill", "--all", id, signal.ToString(CultureInfo.InvariantCulture))
                         : Args("kill", id, signal.ToString(CultureInfo.InvariantCulture)), ct);

    public Task DeleteAsync(string id, bool force = false, CancellationToken ct = default) =>
        CheckedAsync(force ? Args("delete", "--force", id) : Args("delete", id), ct);

    public Task PauseAsync(string id, CancellationToken ct = default) => CheckedAsync(Args("pause", id), ct);

    public Task ResumeAsync(string id, CancellationToken ct = default) => CheckedAsync(Args("resume", id), ct);

    public async Task<RuncState> StateAsync(string id, CancellationToken ct = default)
    {
        var r = await CheckedAsync(Args("state", id), ct).ConfigureAwait(false);
        return JsonSerializer.Deserialize(r.Stdout, RuntimeJsonContext.Default.RuncState)
            ?? throw new BerthException(ErrorKind.Unknown, $"runc state {id}: empty output");
    }

    public async Task<IReadOnlyList<RuncState>> ListAsync(CancellationToken ct = default)
    {
        var r = await CheckedAsync(Args("list", "--format", "json"), ct).ConfigureAwait(false);
        var text = r.Stdout.Trim();
        if (text.Length == 0 || text == "null") return [];
        return JsonSerializer.Deserialize(text, RuntimeJsonContext.Default.ListRuncState) ?? [];
    }

    private async Task<RuncResult> CheckedAsync(List<string> args, CancellationToken ct)
    {
        var r = await _run(args, ct).ConfigureAwait(false);
        if (r.ExitCode != 0)
        {
            var msg = CleanError(r.Stderr);
            if (msg.Length == 0) msg = $"exit status {r.ExitCode}";
            throw new BerthException(Classify(msg), $"runc {args[2]}: {msg}");
        }
        return r;
    }

    internal static ErrorKind Classify(string msg) =>
        msg.Contains("does not exist", StringComparison.Ordinal) || msg.Contains("not found", StringComparison.Ordinal) && msg.Contains("container", StringComparison.Ordinal)
            ? ErrorKind.NotFound
            : msg.Contains("already exists", StringComparison.Ordinal) || msg.Contains("not running", StringComparison.Ordinal)
              || msg.Contains("is running", StringComparison.Ordinal) || msg.Contains("cannot ", StringComparison.Ordinal)
                ? ErrorKind.Conflict
                : ErrorKind.Unknown;

    /// <summary>
    /// runc's stderr is logrus text (<c>time="…" level=error msg="…"</c>) and/or the bare error line; keep the
    /// message of the last error.
    /// </summary>
    internal static string CleanError(string stderr)
    {
        string? last = null;
        foreach (var raw in stderr.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            var msg = ExtractLogrusMessage(line);
            if (msg is not null)
            {
                if (line.Contains("level=error", StringComparison.Ordinal) || line.Contains("level=fatal", StringComparison.Ordinal)) last = msg;
            }
            else
            {
                last = line;
            }
        }
        return last ?? "";
    }

    private static string? ExtractLogrusMessage(string line)
    {
        int i = line.IndexOf("msg=\"", StringComparison.Ordinal);
        if (i < 0 || !line.StartsWith("time=", StringComparison.Ordinal) && !line.StartsWith("level=", StringComparison.Ordinal)) return null;
        var sb = new StringBuilder();
        for (int j = i + 5; j < line.Length; j++)
        {
            char c = line[j];
            if (c == '\\' && j + 1 < line.Length) { sb.Append(line[++j]); continue; }
            if (c == '"') break;
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>runc's json log (<c>--log-format json</c>): the message of the last error entry.</summary>
    internal static string? LastJsonLogError(string logPath)
    {
        if (!File.Exists(logPath)) return null;
        string? last = null;
        foreach (var line in File.ReadLines(logPath))
        {
            if (line.Length == 0 || line[0] != '{') continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("level", out var level) && level.GetString() is "error" or "fatal"
                    && doc.RootElement.TryGetProperty("msg", out var msg))
                    last = msg.GetString();
            }
            catch (JsonException)
            {
            }
        }
        return last;
    }

    private static async Task<RuncResult> RunProcessAsync(string runc, IReadOnlyList<string> args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(runc)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new BerthException(ErrorKind.Unknown, $"cannot start {runc}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        try
        {
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { p.Kill(); } catch (InvalidOperationException) { }
            throw;
        }
        return new RuncResult(p.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }
}
