using System.Diagnostics;
using System.Runtime.InteropServices;
using Berth.Cli.CommandLine;

namespace Berth.Cli.Commands;

/// <summary>
/// <c>berth registry serve|gc</c>: runs the <c>berth-registry</c> executable (beside <c>berth</c>, else on PATH) with the
/// same flags, in the foreground, forwarding SIGTERM and SIGINT, and ends with its exit status.
/// </summary>
internal static partial class RegistryCommands
{
    internal static readonly FlagSpec[] ServeFlags =
    [
        FlagSpec.Str("config", 'c', "JSON or YAML config file"),
        FlagSpec.Str("listen", 'l', "Address and port to serve on (default 127.0.0.1:5000)"),
        FlagSpec.Str("root", null, "Storage root (default /var/lib/berth-registry)"),
        FlagSpec.Bool("readonly", null, "Refuse pushes and deletes"),
        FlagSpec.Str("log-level", null, "debug, info, warn, error"),
        FlagSpec.Str("pidfile", null, "Write the process id here"),
        FlagSpec.Str("auth", null, "none, htpasswd or token"),
        FlagSpec.Str("htpasswd", null, "bcrypt htpasswd file"),
        FlagSpec.Str("realm", null, "Basic auth realm"),
        FlagSpec.List("access", null, "Token auth rule ACCOUNT:REPOSITORY:ACTIONS"),
        FlagSpec.Str("service", null, "Token auth service name"),
        FlagSpec.Str("token-realm", null, "Token endpoint URL in challenges"),
        FlagSpec.Str("tls-cert", null, "PEM certificate"),
        FlagSpec.Str("tls-key", null, "PEM private key"),
        FlagSpec.Str("upload-max-age", null, "Remove uploads idle this long", "duration"),
        FlagSpec.Str("gc-interval", null, "Collect garbage in-process this often", "duration"),
        FlagSpec.Str("gc-grace", null, "Keep blobs younger than this", "duration"),
        FlagSpec.Bool("delete-untagged", null, "Collect manifests no tag, index or subject keeps"),
        FlagSpec.Str("token-key", null, "EC P-256 private key (PEM) that signs tokens"),
        FlagSpec.Str("request-headers-timeout", null, "A request's line and headers must arrive within this", "duration"),
        FlagSpec.Str("keep-alive-timeout", null, "Close idle connections after this", "duration"),
        FlagSpec.Str("min-body-rate", null, "Bytes per second a request or response body must keep up (0: none)"),
        FlagSpec.Str("body-grace", null, "Window over which --min-body-rate is measured", "duration"),
        FlagSpec.Str("request-timeout", null, "Limit on a whole request other than blob uploads and downloads", "duration"),
    ];

    internal static readonly FlagSpec[] GcFlags =
    [
        FlagSpec.Str("config", 'c', "JSON or YAML config file"),
        FlagSpec.Str("root", null, "Storage root (default /var/lib/berth-registry)"),
        FlagSpec.Str("grace", null, "Keep blobs and untagged manifests younger than this (default 1h)", "duration"),
        FlagSpec.Bool("delete-untagged", null, "Also remove manifests no tag, index or subject keeps"),
        FlagSpec.Bool("dry-run", null, "Report what would be removed, remove nothing"),
    ];

    public static Task<int> ServeAsync(CliContext ctx, ParsedArgs args) => RunAsync(ctx, "serve", ServeFlags, args);

    public static Task<int> GcAsync(CliContext ctx, ParsedArgs args) => RunAsync(ctx, "gc", GcFlags, args);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private static async Task<int> RunAsync(CliContext ctx, string verb, FlagSpec[] flags, ParsedArgs args)
    {
        var exe = Find();
        if (exe is null)
        {
            ctx.Err.WriteLine("berth: berth-registry not found beside berth or on PATH");
            return 127;
        }
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
        psi.ArgumentList.Add(verb);
        foreach (var f in flags)
        {
            if (f.Kind == FlagKind.Bool)
            {
                if (args.GetBool(f.Name)) psi.ArgumentList.Add($"--{f.Name}");
                continue;
            }
            foreach (var v in args.GetAll(f.Name))
            {
                psi.ArgumentList.Add($"--{f.Name}");
                psi.ArgumentList.Add(v);
            }
        }
        using var child = Process.Start(psi)!;
        // The child is in our process group: a terminal's Ctrl-C reaches it directly; a SIGTERM sent to us is passed on.
        PosixSignalRegistration Forward(PosixSignal signal, int number) => PosixSignalRegistration.Create(signal, c =>
        {
            c.Cancel = true;
            Kill(child.Id, number);
        });
        using var term = Forward(PosixSignal.SIGTERM, 15);
        using var intr = Forward(PosixSignal.SIGINT, 2);
        await child.WaitForExitAsync().ConfigureAwait(false);
        return child.ExitCode;
    }

    private static string? Find()
    {
        var beside = Path.Combine(Path.GetDirectoryName(Environment.ProcessPath) ?? AppContext.BaseDirectory, "berth-registry");
        if (File.Exists(beside)) return beside;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, "berth-registry");
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
