using System.Text.Json.Serialization;

namespace Berth.Api;

/// <summary>POST /containers/{id}/exec body (the spec's ExecConfig).</summary>
public sealed record ExecCreateRequest
{
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    public IReadOnlyList<int>? ConsoleSize { get; init; }
    public string? DetachKeys { get; init; }
    public bool Tty { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public bool Privileged { get; init; }
    public string? User { get; init; }
    public string? WorkingDir { get; init; }
}

/// <summary>POST /exec/{id}/start body (ExecStartConfig).</summary>
public sealed record ExecStartRequest
{
    public bool Detach { get; init; }
    public bool Tty { get; init; }
    public IReadOnlyList<int>? ConsoleSize { get; init; }
}

/// <summary>The spec's ProcessConfig, as exec inspect shows it (lower-case names on the wire).</summary>
public sealed record ExecProcessConfig
{
    [JsonPropertyName("privileged")] public bool Privileged { get; init; }
    [JsonPropertyName("user")] public string User { get; init; } = "";
    [JsonPropertyName("tty")] public bool Tty { get; init; }
    [JsonPropertyName("entrypoint")] public string Entrypoint { get; init; } = "";
    [JsonPropertyName("arguments")] public IReadOnlyList<string> Arguments { get; init; } = [];
}

/// <summary>GET /exec/{id}/json.</summary>
public sealed record ExecInspectResponse
{
    public bool CanRemove { get; init; }
    public string DetachKeys { get; init; } = "";
    public required string ID { get; init; }
    public bool Running { get; init; }

    /// <summary>null until the process has exited, as dockerd reports it.</summary>
    public int? ExitCode { get; init; }
    public required ExecProcessConfig ProcessConfig { get; init; }
    public bool OpenStdin { get; init; }
    public bool OpenStderr { get; init; }
    public bool OpenStdout { get; init; }
    public required string ContainerID { get; init; }
    public int Pid { get; init; }
}
