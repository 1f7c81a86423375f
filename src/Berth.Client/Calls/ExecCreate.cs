using System.Text.Json.Nodes;

namespace Berth.Client;

public sealed record ExecCreateOptions
{
    public required IReadOnlyList<string> Cmd { get; init; }
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; } = true;
    public bool AttachStderr { get; init; } = true;
    public bool Tty { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public bool Privileged { get; init; }
    public string? User { get; init; }
    public string? WorkingDir { get; init; }
    public string? DetachKeys { get; init; }
}

public sealed record ExecCreateResult(string Id);

public sealed partial class BerthClient
{
    public async Task<ExecCreateResult> ExecCreateAsync(string container, ExecCreateOptions options, CancellationToken ct = default)
    {
        var body = new ExecCreateRequest
        {
            Cmd = options.Cmd,
            AttachStdin = options.AttachStdin,
            AttachStdout = options.AttachStdout,
            AttachStderr = options.AttachStderr,
            Tty = options.Tty,
            Env = options.Env,
            Privileged = options.Privileged,
            User = options.User,
            WorkingDir = options.WorkingDir,
            DetachKeys = options.DetachKeys,
        };
        var node = await SendForNodeAsync(HttpMethod.Post, $"/containers/{Escape(container)}/exec", null,
            JsonContent(body, ClientJsonContext.Default.ExecCreateRequest), ct).ConfigureAwait(false);
        return new ExecCreateResult(node?["Id"]?.GetValue<string>() ?? throw new DockerApiException(500, "exec create answered without an Id"));
    }
}
