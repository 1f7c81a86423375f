using Berth.Client;

namespace Berth.Cli;

// The process's streams and the daemon address; tests substitute memory streams.
internal sealed class CliContext : IDisposable
{
    private BerthClient? _client;

    public CliContext(Stream stdin, Stream stdout, Stream stderr, Func<string, string?>? env = null)
    {
        Stdin = stdin;
        StdoutStream = stdout;
        StderrStream = stderr;
        Out = new StreamWriter(stdout, new System.Text.UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        Err = new StreamWriter(stderr, new System.Text.UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        Env = env ?? Environment.GetEnvironmentVariable;
    }

    public Stream Stdin { get; }

    public Stream StdoutStream { get; }

    public Stream StderrStream { get; }

    public TextWriter Out { get; }

    public TextWriter Err { get; }

    public Func<string, string?> Env { get; }

    public string? HostFlag { get; set; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    // Only the real process proxies signals; in-process tests must not take over the test host's handlers.
    public bool ForwardSignals { get; init; }

    public BerthClient Client => _client ??= new BerthClient(BerthHost.Resolve(HostFlag, Env), Env("BERTH_API_VERSION") ?? Env("DOCKER_API_VERSION"));

    public void Dispose()
    {
        _client?.Dispose();
        Out.Flush();
        Err.Flush();
    }
}

// Ends a command with an exit status after its message has been printed.
internal sealed class ExitException(int code, string? message = null) : Exception(message ?? $"exit status {code}")
{
    public int Code { get; } = code;

    public bool HasMessage => message is not null;
}
