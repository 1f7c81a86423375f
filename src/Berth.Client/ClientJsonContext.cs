using System.Text.Json.Serialization;

namespace Berth.Client;

// Wire records Berth.Api does not have yet (exec); source-generated like ApiJsonContext.
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ExecCreateRequest))]
[JsonSerializable(typeof(ExecStartRequest))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;

internal sealed record ExecCreateRequest
{
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    public string? DetachKeys { get; init; }
    public bool Tty { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public required IReadOnlyList<string> Cmd { get; init; }
    public bool Privileged { get; init; }
    public string? User { get; init; }
    public string? WorkingDir { get; init; }
}

internal sealed record ExecStartRequest
{
    public bool Detach { get; init; }
    public bool Tty { get; init; }
}
