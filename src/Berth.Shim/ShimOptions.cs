using System.Globalization;
using Berth.Core;

namespace Berth.Shim;

/// <summary>The shim's command line, as <c>ShimClient.LaunchAsync</c> writes it.</summary>
internal sealed record ShimOptions
{
    public required string Id { get; init; }
    public required string Bundle { get; init; }
    public required string Runc { get; init; }
    public required string RuncRoot { get; init; }
    public required string Socket { get; init; }
    public required string StateDir { get; init; }
    public string? LogPath { get; init; }
    public long LogMaxSize { get; init; }
    public int LogMaxFiles { get; init; } = 1;
    public bool Stdin { get; init; }
    public bool StdinOnce { get; init; }

    // What the shim needs from the bundle's spec, given on the command line so it never parses the whole spec:
    // each running shim keeps only what it uses.
    public bool Terminal { get; init; }
    public string? CgroupsPath { get; init; }

    /// <summary>Whether execs may be served by warm gates (ShimServer.Gate.cs); berthd --exec-gates=false turns them off.</summary>
    public bool ExecGates { get; init; } = true;

    // Resolved once: every runc call then executes it directly instead of trying each $PATH entry in turn.
    private static string OnPath(string file)
    {
        if (file.Contains('/', StringComparison.Ordinal)) return file;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, file);
            if (File.Exists(candidate)) return candidate;
        }
        return file;
    }

    public static ShimOptions Parse(string[] args)
    {
        var v = new Dictionary<string, string>();
        var flags = new HashSet<string>();
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a is "--stdin" or "--stdin-once" or "--terminal" or "--no-exec-gates") { flags.Add(a); continue; }
            if (!a.StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw BerthException.Invalid($"berth-shim: bad argument \"{a}\"");
            v[a[2..]] = args[++i];
        }
        string Req(string k) => v.TryGetValue(k, out var s) ? s : throw BerthException.Invalid($"berth-shim: --{k} is required");
        return new ShimOptions
        {
            Id = Req("id"),
            Bundle = Req("bundle"),
            Runc = OnPath(v.GetValueOrDefault("runc", "runc")),
            RuncRoot = Req("runc-root"),
            Socket = Req("socket"),
            StateDir = Req("state-dir"),
            LogPath = v.GetValueOrDefault("log"),
            LogMaxSize = v.TryGetValue("log-max-size", out var ms) ? long.Parse(ms, CultureInfo.InvariantCulture) : 0,
            LogMaxFiles = v.TryGetValue("log-max-files", out var mf) ? int.Parse(mf, CultureInfo.InvariantCulture) : 1,
            Stdin = flags.Contains("--stdin"),
            StdinOnce = flags.Contains("--stdin-once"),
            Terminal = flags.Contains("--terminal"),
            CgroupsPath = v.GetValueOrDefault("cgroups-path"),
            ExecGates = !flags.Contains("--no-exec-gates"),
        };
    }
}
