using System.Text.Json.Serialization;

namespace Berth.Api;

public sealed record ComponentVersion
{
    public string Name { get; init; } = "";
    public string Version { get; init; } = "";
    public Dictionary<string, string>? Details { get; init; }
}

public sealed record PlatformName
{
    public string Name { get; init; } = "";
}

public sealed record SystemVersion
{
    public PlatformName Platform { get; init; } = new();
    public IReadOnlyList<ComponentVersion> Components { get; init; } = [];
    public string Version { get; init; } = "";
    public string ApiVersion { get; init; } = "";
    public string MinAPIVersion { get; init; } = "";
    public string GitCommit { get; init; } = "";
    public string GoVersion { get; init; } = "";
    public string Os { get; init; } = "linux";
    public string Arch { get; init; } = "";
    public string KernelVersion { get; init; } = "";
    public bool Experimental { get; init; }
    public string BuildTime { get; init; } = "";
}

public sealed record PluginsInfo
{
    public IReadOnlyList<string> Volume { get; init; } = [];
    public IReadOnlyList<string> Network { get; init; } = [];
    public IReadOnlyList<string>? Authorization { get; init; }
    public IReadOnlyList<string> Log { get; init; } = [];
}

public sealed record SwarmInfo
{
    public string NodeID { get; init; } = "";
    public string NodeAddr { get; init; } = "";
    public string LocalNodeState { get; init; } = "inactive";
    public bool ControlAvailable { get; init; }
    public string Error { get; init; } = "";
}

public sealed record CommitInfo
{
    public string ID { get; init; } = "";
}

public sealed record RuntimeInfo
{
    [JsonPropertyName("path")] public string Path { get; init; } = "";
}

public sealed record IndexInfo
{
    public string Name { get; init; } = "";
    public IReadOnlyList<string> Mirrors { get; init; } = [];
    public bool Secure { get; init; }
    public bool Official { get; init; }
}

public sealed record RegistryServiceConfig
{
    public IReadOnlyList<string> InsecureRegistryCIDRs { get; init; } = [];
    public Dictionary<string, IndexInfo> IndexConfigs { get; init; } = new();
    public IReadOnlyList<string> Mirrors { get; init; } = [];
}

public sealed record SystemInfo
{
    public string ID { get; init; } = "";
    public int Containers { get; init; }
    public int ContainersRunning { get; init; }
    public int ContainersPaused { get; init; }
    public int ContainersStopped { get; init; }
    public int Images { get; init; }
    public string Driver { get; init; } = "";
    public IReadOnlyList<IReadOnlyList<string>> DriverStatus { get; init; } = [];
    public string DockerRootDir { get; init; } = "";
    public PluginsInfo Plugins { get; init; } = new();
    public bool MemoryLimit { get; init; }
    public bool SwapLimit { get; init; }
    public bool CpuCfsPeriod { get; init; }
    public bool CpuCfsQuota { get; init; }
    public bool CPUShares { get; init; }
    public bool CPUSet { get; init; }
    public bool PidsLimit { get; init; }
    public bool OomKillDisable { get; init; }
    public bool IPv4Forwarding { get; init; }
    public bool Debug { get; init; }
    public int NFd { get; init; }
    public int NGoroutines { get; init; }
    public string SystemTime { get; init; } = "";
    public string LoggingDriver { get; init; } = "json-file";
    public string CgroupDriver { get; init; } = "cgroupfs";
    public string CgroupVersion { get; init; } = "1";
    public int NEventsListener { get; init; }
    public string KernelVersion { get; init; } = "";
    public string OperatingSystem { get; init; } = "";
    public string OSVersion { get; init; } = "";
    public string OSType { get; init; } = "linux";
    public string Architecture { get; init; } = "";
    public int NCPU { get; init; }
    public long MemTotal { get; init; }
    public string IndexServerAddress { get; init; } = "https://index.docker.io/v1/";
    public RegistryServiceConfig RegistryConfig { get; init; } = new();
    public string HttpProxy { get; init; } = "";
    public string HttpsProxy { get; init; } = "";
    public string NoProxy { get; init; } = "";
    public string Name { get; init; } = "";
    public IReadOnlyList<string> Labels { get; init; } = [];
    public bool ExperimentalBuild { get; init; }
    public string ServerVersion { get; init; } = "";
    public Dictionary<string, RuntimeInfo> Runtimes { get; init; } = new();
    public string DefaultRuntime { get; init; } = "runc";
    public SwarmInfo Swarm { get; init; } = new();
    public bool LiveRestoreEnabled { get; init; }
    public string Isolation { get; init; } = "";
    public string InitBinary { get; init; } = "";
    public CommitInfo ContainerdCommit { get; init; } = new();
    public CommitInfo RuncCommit { get; init; } = new();
    public CommitInfo InitCommit { get; init; } = new();
    public IReadOnlyList<string> SecurityOptions { get; init; } = [];
    public IReadOnlyList<string>? Warnings { get; init; }
}
