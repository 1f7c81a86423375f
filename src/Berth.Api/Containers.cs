using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Api;

/// <summary>Container configuration that does not depend on the host (the spec's ContainerConfig).</summary>
/// <remarks>Not sealed: the create body is this plus HostConfig and NetworkingConfig, as Docker's Go type embeds it.</remarks>
public record ContainerConfig
{
    /// <summary>Exactly the ContainerConfig part of this object (a create request carries more), via the record's copy constructor.</summary>
    public ContainerConfig ToConfig() => new(this);

    public string? Hostname { get; init; }
    public string? Domainname { get; init; }
    public string? User { get; init; }
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    public Dictionary<string, EmptyObject>? ExposedPorts { get; init; }
    public bool Tty { get; init; }
    public bool OpenStdin { get; init; }
    public bool StdinOnce { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public HealthConfig? Healthcheck { get; init; }
    public bool? ArgsEscaped { get; init; }
    public string? Image { get; init; }
    public Dictionary<string, EmptyObject>? Volumes { get; init; }
    public string? WorkingDir { get; init; }
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public bool? NetworkDisabled { get; init; }
    public string? MacAddress { get; init; }
    public IReadOnlyList<string>? OnBuild { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public string? StopSignal { get; init; }
    public int? StopTimeout { get; init; }
    public IReadOnlyList<string>? Shell { get; init; }
}

/// <summary>Serializes as <c>{}</c>: the value type of Docker's set-like maps (ExposedPorts, Volumes).</summary>
public sealed record EmptyObject;

/// <summary>A healthcheck's settings; the unset (zero) ones are left out, as dockerd's omitempty leaves them.</summary>
public sealed record HealthConfig
{
    public IReadOnlyList<string>? Test { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long Interval { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long Timeout { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int Retries { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long StartPeriod { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long StartInterval { get; init; }
}

/// <summary>POST /containers/create body: the ContainerConfig fields plus HostConfig and NetworkingConfig.</summary>
public sealed record ContainerCreateRequest : ContainerConfig
{
    public HostConfig? HostConfig { get; init; }
    public NetworkingConfig? NetworkingConfig { get; init; }
}

public sealed record NetworkingConfig
{
    public Dictionary<string, EndpointSettings>? EndpointsConfig { get; init; }
}

public sealed record RestartPolicy
{
    public string Name { get; init; } = "no";
    public int MaximumRetryCount { get; init; }
}

public sealed record LogConfig
{
    public string Type { get; init; } = "json-file";
    public Dictionary<string, string>? Config { get; init; }
}

public sealed record PortBinding
{
    public string? HostIp { get; init; }
    public string? HostPort { get; init; }
}

public sealed record MountSpec
{
    public string? Target { get; init; }
    public string? Source { get; init; }
    public string? Type { get; init; }
    public bool ReadOnly { get; init; }
    public string? Consistency { get; init; }
    public BindOptions? BindOptions { get; init; }
    public VolumeOptions? VolumeOptions { get; init; }
    public TmpfsOptions? TmpfsOptions { get; init; }
}

public sealed record BindOptions
{
    public string? Propagation { get; init; }
    public bool NonRecursive { get; init; }
    public bool CreateMountpoint { get; init; }
}

public sealed record VolumeOptions
{
    public bool NoCopy { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public VolumeDriverConfig? DriverConfig { get; init; }
    public string? Subpath { get; init; }
}

public sealed record VolumeDriverConfig
{
    public string? Name { get; init; }
    public Dictionary<string, string>? Options { get; init; }
}

public sealed record TmpfsOptions
{
    public long SizeBytes { get; init; }
    public int Mode { get; init; }
}

public sealed record Ulimit
{
    public string? Name { get; init; }
    public long Soft { get; init; }
    public long Hard { get; init; }
}

public sealed record HostConfig
{
    // Resources
    public long CpuShares { get; init; }
    public long Memory { get; init; }
    public string? CgroupParent { get; init; }
    public long CpuPeriod { get; init; }
    public long CpuQuota { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public long MemoryReservation { get; init; }
    public long MemorySwap { get; init; }
    public long? MemorySwappiness { get; init; }
    public long NanoCpus { get; init; }
    public bool? OomKillDisable { get; init; }
    public long? PidsLimit { get; init; }
    public IReadOnlyList<Ulimit>? Ulimits { get; init; }
    public int BlkioWeight { get; init; }
    public JsonElement? Devices { get; init; }
    // Host
    public IReadOnlyList<string>? Binds { get; init; }
    public string? ContainerIDFile { get; init; }
    public LogConfig? LogConfig { get; init; }
    public string? NetworkMode { get; init; }
    public Dictionary<string, IReadOnlyList<PortBinding>?>? PortBindings { get; init; }
    public RestartPolicy? RestartPolicy { get; init; }
    public bool AutoRemove { get; init; }
    public string? VolumeDriver { get; init; }
    public IReadOnlyList<string>? VolumesFrom { get; init; }
    public IReadOnlyList<MountSpec>? Mounts { get; init; }
    public IReadOnlyList<int>? ConsoleSize { get; init; }
    public IReadOnlyList<string>? CapAdd { get; init; }
    public IReadOnlyList<string>? CapDrop { get; init; }
    public string? CgroupnsMode { get; init; }
    public IReadOnlyList<string>? Dns { get; init; }
    public IReadOnlyList<string>? DnsOptions { get; init; }
    public IReadOnlyList<string>? DnsSearch { get; init; }
    public IReadOnlyList<string>? ExtraHosts { get; init; }
    public IReadOnlyList<string>? GroupAdd { get; init; }
    public string? IpcMode { get; init; }
    public string? Cgroup { get; init; }
    public IReadOnlyList<string>? Links { get; init; }
    public int OomScoreAdj { get; init; }
    public string? PidMode { get; init; }
    public bool Privileged { get; init; }
    public bool PublishAllPorts { get; init; }
    public bool ReadonlyRootfs { get; init; }
    public IReadOnlyList<string>? SecurityOpt { get; init; }
    public Dictionary<string, string>? StorageOpt { get; init; }
    public Dictionary<string, string>? Tmpfs { get; init; }
    public string? UTSMode { get; init; }
    public string? UsernsMode { get; init; }
    public long ShmSize { get; init; }
    public Dictionary<string, string>? Sysctls { get; init; }
    public string? Runtime { get; init; }
    public string? Isolation { get; init; }
    public IReadOnlyList<string>? MaskedPaths { get; init; }
    public IReadOnlyList<string>? ReadonlyPaths { get; init; }
    public bool? Init { get; init; }
}

public sealed record ContainerCreateResponse
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

public sealed record ContainerState
{
    public string Status { get; init; } = "created";
    public bool Running { get; init; }
    public bool Paused { get; init; }
    public bool Restarting { get; init; }
    public bool OOMKilled { get; init; }
    public bool Dead { get; init; }
    public int Pid { get; init; }
    public int ExitCode { get; init; }
    public string Error { get; init; } = "";
    public string StartedAt { get; init; } = "0001-01-01T00:00:00Z";
    public string FinishedAt { get; init; } = "0001-01-01T00:00:00Z";
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Health? Health { get; init; }
}

public sealed record MountPoint
{
    public string Type { get; init; } = "";
    public string? Name { get; init; }
    public string Source { get; init; } = "";
    public string Destination { get; init; } = "";
    public string? Driver { get; init; }
    public string Mode { get; init; } = "";
    public bool RW { get; init; }
    public string Propagation { get; init; } = "";
}

public sealed record DriverData
{
    public string Name { get; init; } = "";
    public Dictionary<string, string>? Data { get; init; }
}

public sealed record EndpointIpamConfig
{
    public string? IPv4Address { get; init; }
    public string? IPv6Address { get; init; }
    public IReadOnlyList<string>? LinkLocalIPs { get; init; }
}

public sealed record EndpointSettings
{
    public EndpointIpamConfig? IPAMConfig { get; init; }
    public IReadOnlyList<string>? Links { get; init; }
    public IReadOnlyList<string>? Aliases { get; init; }
    public string MacAddress { get; init; } = "";
    public Dictionary<string, string>? DriverOpts { get; init; }
    public int GwPriority { get; init; }
    public string NetworkID { get; init; } = "";
    public string EndpointID { get; init; } = "";
    public string Gateway { get; init; } = "";
    public string IPAddress { get; init; } = "";
    public int IPPrefixLen { get; init; }
    public string IPv6Gateway { get; init; } = "";
    public string GlobalIPv6Address { get; init; } = "";
    public int GlobalIPv6PrefixLen { get; init; }
    public IReadOnlyList<string>? DNSNames { get; init; }
}

public sealed record NetworkSettings
{
    public string Bridge { get; init; } = "";
    public string SandboxID { get; init; } = "";
    public string SandboxKey { get; init; } = "";
    public Dictionary<string, IReadOnlyList<PortBinding>?> Ports { get; init; } = new();
    public bool HairpinMode { get; init; }
    public string LinkLocalIPv6Address { get; init; } = "";
    public int LinkLocalIPv6PrefixLen { get; init; }
    public string EndpointID { get; init; } = "";
    public string Gateway { get; init; } = "";
    public string GlobalIPv6Address { get; init; } = "";
    public int GlobalIPv6PrefixLen { get; init; }
    public string IPAddress { get; init; } = "";
    public int IPPrefixLen { get; init; }
    public string IPv6Gateway { get; init; } = "";
    public string MacAddress { get; init; } = "";
    public Dictionary<string, EndpointSettings> Networks { get; init; } = new();
}

public sealed record ContainerInspectResponse
{
    public string Id { get; init; } = "";
    public string Created { get; init; } = "";
    public string Path { get; init; } = "";
    public IReadOnlyList<string> Args { get; init; } = [];
    public ContainerState State { get; init; } = new();
    public string Image { get; init; } = "";
    public string ResolvConfPath { get; init; } = "";
    public string HostnamePath { get; init; } = "";
    public string HostsPath { get; init; } = "";
    public string LogPath { get; init; } = "";
    public string Name { get; init; } = "";
    public int RestartCount { get; init; }
    public string Driver { get; init; } = "";
    public string Platform { get; init; } = "linux";
    public string MountLabel { get; init; } = "";
    public string ProcessLabel { get; init; } = "";
    public string AppArmorProfile { get; init; } = "";
    public IReadOnlyList<string>? ExecIDs { get; init; }
    public HostConfig HostConfig { get; init; } = new();
    public DriverData GraphDriver { get; init; } = new();
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? SizeRw { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? SizeRootFs { get; init; }
    public IReadOnlyList<MountPoint> Mounts { get; init; } = [];
    public ContainerConfig Config { get; init; } = new();
    public NetworkSettings NetworkSettings { get; init; } = new();
}

public sealed record PortSummary
{
    public string? IP { get; init; }
    public int PrivatePort { get; init; }
    public int? PublicPort { get; init; }
    public string Type { get; init; } = "tcp";
}

public sealed record ContainerSummaryHostConfig
{
    public string NetworkMode { get; init; } = "";
    public Dictionary<string, string>? Annotations { get; init; }
}

public sealed record ContainerSummaryNetworkSettings
{
    public Dictionary<string, EndpointSettings> Networks { get; init; } = new();
}

public sealed record ContainerSummary
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> Names { get; init; } = [];
    public string Image { get; init; } = "";
    public string ImageID { get; init; } = "";
    public string Command { get; init; } = "";
    public long Created { get; init; }
    public IReadOnlyList<PortSummary> Ports { get; init; } = [];
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? SizeRw { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? SizeRootFs { get; init; }
    public Dictionary<string, string> Labels { get; init; } = new();
    public string State { get; init; } = "";
    public string Status { get; init; } = "";
    public ContainerSummaryHostConfig HostConfig { get; init; } = new();
    public ContainerSummaryNetworkSettings NetworkSettings { get; init; } = new();
    public IReadOnlyList<MountPoint> Mounts { get; init; } = [];
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ContainerSummaryHealth? Health { get; init; }
}

public sealed record ContainerWaitExitError
{
    public string? Message { get; init; }
}

public sealed record ContainerWaitResponse
{
    public long StatusCode { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ContainerWaitExitError? Error { get; init; }
}

public sealed record ContainerTopResponse
{
    public IReadOnlyList<string> Titles { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<string>> Processes { get; init; } = [];
}
