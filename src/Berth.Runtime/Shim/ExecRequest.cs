using System.Text.Json;
using Berth.Core;

namespace Berth.Runtime.Shim;

/// <summary>
/// A process to run inside a running container (<c>docker exec</c>). Unset fields inherit the container's own
/// process settings (user, cwd, capabilities, ...); <see cref="Env"/> entries override the container's by name.
/// </summary>
public sealed record ExecRequest
{
    /// <summary>Names the session's files in the shim's state dir; Docker's exec ID fits.</summary>
    public required string ExecId { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    public string? Cwd { get; init; }
    public uint? Uid { get; init; }
    public uint? Gid { get; init; }
    public IReadOnlyList<uint>? AdditionalGids { get; init; }
    public bool Privileged { get; init; }
    /// <summary>Run on a new terminal: output arrives as stdout only, raw.</summary>
    public bool Tty { get; init; }

    /// <summary>Initial terminal size (rows, columns) when <see cref="Tty"/>; Docker's exec ConsoleSize.</summary>
    public int ConsoleHeight { get; init; }
    public int ConsoleWidth { get; init; }
    public bool Stdin { get; init; }
    public bool Stdout { get; init; } = true;
    public bool Stderr { get; init; } = true;

    internal byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, RuntimeJsonContext.Default.ExecRequest);

    internal static ExecRequest FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, RuntimeJsonContext.Default.ExecRequest) ?? throw BerthException.Invalid("empty exec request");
}
