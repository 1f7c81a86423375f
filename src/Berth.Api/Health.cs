using System.Text.Json.Serialization;

namespace Berth.Api;

/// <summary>A container's healthcheck state (inspect's State.Health); absent when the container never ran a healthcheck.</summary>
public sealed record Health
{
    /// <summary>none, starting, healthy or unhealthy.</summary>
    public string Status { get; init; } = "none";
    public int FailingStreak { get; init; }
    /// <summary>The last probes, oldest first (at most five, as dockerd keeps).</summary>
    public IReadOnlyList<HealthcheckResult> Log { get; init; } = [];
}

/// <summary>One probe's run: its times (RFC 3339 with nanoseconds), exit code (-1 when it could not run or timed out) and output.</summary>
public sealed record HealthcheckResult
{
    public string Start { get; init; } = "";
    public string End { get; init; } = "";
    public int ExitCode { get; init; }
    public string Output { get; init; } = "";
}

/// <summary>The list's health summary (API 1.52+): the container's State.Health; "none" for containers without a healthcheck.</summary>
public sealed record ContainerSummaryHealth
{
    public string Status { get; init; } = "none";
    public int FailingStreak { get; init; }
}
