using System.Text.Json.Serialization;
using Berth.Api;
using Berth.Network;

namespace Berth.Daemon.Containers;

/// <summary>A container's states, with the transitions <see cref="ContainerStateMachine"/> allows.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ContainerStatus>))]
public enum ContainerStatus
{
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

/// <summary>A mount the container gets, resolved at create time (volume names, anonymous volumes, binds, tmpfs).</summary>
public sealed record MountRecord
{
    public required string Type { get; init; } // bind | volume | tmpfs
    public string? Name { get; init; }
    public string Source { get; init; } = "";
    public required string Destination { get; init; }
    public bool RW { get; init; } = true;
    public string Mode { get; init; } = "";
    public bool Anonymous { get; init; }
    public string Propagation { get; init; } = "";
    public IReadOnlyList<string> TmpfsOptions { get; init; } = [];
}

/// <summary>
/// Everything berthd persists about one container (containers/&lt;id&gt;/container.json, written atomically).
/// The user's Config and HostConfig are kept as the API gave them, so inspect answers with what was asked.
/// </summary>
public sealed record ContainerRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required DateTimeOffset Created { get; init; }
    public required string ImageRef { get; init; }
    public required string ImageId { get; init; }
    public required string Path { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    public required ContainerConfig Config { get; init; }
    public required HostConfig HostConfig { get; init; }
    public IReadOnlyList<MountRecord> Mounts { get; init; } = [];
    public string SnapshotKey { get; init; } = "";
    public string Driver { get; init; } = "";

    // State
    public ContainerStatus Status { get; init; } = ContainerStatus.Created;
    public int Pid { get; init; }
    /// <summary>The cgroup of the current or last run, from the hierarchy's root (its --cgroup-parent resolved at start).</summary>
    public string? CgroupPath { get; init; }
    public int ExitCode { get; init; }
    public bool OomKilled { get; init; }
    public string Error { get; init; } = "";
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public int RestartCount { get; init; }
    public bool HasBeenStarted { get; init; }
    /// <summary>The healthcheck's state; null while the container never ran one.</summary>
    public Health? Health { get; init; }

    /// <summary>Stopped by the user (stop/kill via API): restart policies other than "always" leave it down.</summary>
    public bool ManuallyStopped { get; init; }
    /// <summary>
    /// Disconnected from its network mode's network and not connected again: a start leaves that network out, as
    /// dockerd's start joins only the networks a container still lists (docker-compose disconnects and reconnects a
    /// created container to set its aliases).
    /// </summary>
    public bool PrimaryDetached { get; init; }
    public EndpointRecord? Endpoint { get; init; }
    public string? SandboxKey { get; init; }
    /// <summary>Endpoints on networks beyond the network mode's (created with several, or connected live).</summary>
    public IReadOnlyList<EndpointRecord> ExtraEndpoints { get; init; } = [];
    /// <summary>Per-network settings asked for (NetworkingConfig at create, connect): aliases, IPAM; keyed by network name.</summary>
    public Dictionary<string, EndpointSettings>? EndpointsConfig { get; init; }
    /// <summary>Ports published while the container runs (host ports resolved); null when it does not run.</summary>
    public IReadOnlyList<PublishedPort>? Ports { get; init; }

    [JsonIgnore] public bool IsRunning => Status is ContainerStatus.Running or ContainerStatus.Paused;
}

[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContainerRecord))]
internal sealed partial class DaemonJsonContext : JsonSerializerContext;
