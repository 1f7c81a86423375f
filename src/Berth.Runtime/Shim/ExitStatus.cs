using System.Text.Json;
using Berth.Core;

namespace Berth.Runtime.Shim;

/// <summary>How a container's init ended: the code (128+signal when killed), when, and whether the OOM killer did it.</summary>
public sealed record ExitStatus
{
    public int ExitCode { get; init; }
    public DateTimeOffset FinishedAt { get; init; }
    public bool OomKilled { get; init; }
    public int Pid { get; init; }

    public const string FileName = "exit.json";

    /// <summary>The status a shim recorded in <paramref name="stateDir"/>, or null when the container has not exited (or never started).</summary>
    public static ExitStatus? Read(string stateDir)
    {
        var path = Path.Combine(stateDir, FileName);
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), RuntimeJsonContext.Default.ExitStatus);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (JsonException e)
        {
            throw new BerthException(ErrorKind.Unknown, $"corrupt exit status {path}: {e.Message}");
        }
    }

    internal void Write(string stateDir) =>
        AtomicFile.WriteAllBytes(Path.Combine(stateDir, FileName), JsonSerializer.SerializeToUtf8Bytes(this, RuntimeJsonContext.Default.ExitStatus), durable: false);

    internal byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, RuntimeJsonContext.Default.ExitStatus);

    internal static ExitStatus FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, RuntimeJsonContext.Default.ExitStatus) ?? throw new BerthException(ErrorKind.Unknown, "empty exit status from shim");
}

/// <summary>The shim's answer to "state": what the daemon needs to re-adopt a container.</summary>
public sealed record ShimStateInfo
{
    public required string Id { get; init; }
    public int Pid { get; init; }
    public int ShimPid { get; init; }

    /// <summary>"created", "running" or "stopped".</summary>
    public required string Status { get; init; }
    public required string StateDir { get; init; }
    public ExitStatus? Exit { get; init; }

    internal byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, RuntimeJsonContext.Default.ShimStateInfo);

    internal static ShimStateInfo FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, RuntimeJsonContext.Default.ShimStateInfo) ?? throw new BerthException(ErrorKind.Unknown, "empty state from shim");
}
