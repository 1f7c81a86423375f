using Berth.Core;

namespace Berth.Runtime.Spec;

/// <summary>How the container joins the network: a prepared namespace, a fresh empty one, or the host's.</summary>
public enum NetworkMode
{
    /// <summary>Join <see cref="ContainerProcessSpec.NetworkNamespacePath"/> when set, else a new namespace with only lo.</summary>
    Namespace,
    Host,
}

/// <summary>
/// What the daemon knows about a container's process, in domain terms. <see cref="SpecBuilder"/> turns it into an
/// OCI config.json with Docker's secure defaults.
/// </summary>
public sealed record ContainerProcessSpec
{
    /// <summary>The resolved entrypoint + cmd.</summary>
    public required IReadOnlyList<string> Args { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    public string Cwd { get; init; } = "/";
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public IReadOnlyList<uint> AdditionalGids { get; init; } = [];
    public string? Hostname { get; init; }
    public bool Terminal { get; init; }

    /// <summary>Initial terminal size (rows, columns) when <see cref="Terminal"/>; 0 = leave it to a later resize.</summary>
    public int ConsoleHeight { get; init; }
    public int ConsoleWidth { get; init; }
    public required string RootfsPath { get; init; }
    public bool ReadonlyRootfs { get; init; }

    /// <summary>Binds (volumes are binds), tmpfs, ...; Target is inside the container.</summary>
    public IReadOnlyList<Mount> Mounts { get; init; } = [];
    public NetworkMode NetworkMode { get; init; }
    public string? NetworkNamespacePath { get; init; }
    public bool Privileged { get; init; }

    /// <summary>Capability names with or without the CAP_ prefix, or "ALL".</summary>
    public IReadOnlyList<string> CapAdd { get; init; } = [];
    public IReadOnlyList<string> CapDrop { get; init; } = [];
    public bool NoNewPrivileges { get; init; }

    /// <summary>Bytes; 0 = unlimited.</summary>
    public long Memory { get; init; }

    /// <summary>Memory + swap in bytes; 0 = unset (Docker: twice Memory), -1 = unlimited swap.</summary>
    public long MemorySwap { get; init; }
    public long NanoCpus { get; init; }
    public long CpuShares { get; init; }

    /// <summary>0 or null = unlimited.</summary>
    public long? PidsLimit { get; init; }

    /// <summary>cgroupfs style, e.g. "/berth/&lt;id&gt;".</summary>
    public string? CgroupsPath { get; init; }

    /// <summary>Run a static init (tini-like) as pid 1: bind <see cref="InitPath"/> at /sbin/docker-init.</summary>
    public bool Init { get; init; }
    public string? InitPath { get; init; }
    public IReadOnlyDictionary<string, string> Sysctls { get; init; } = new Dictionary<string, string>();

    /// <summary>Process limits (<c>--ulimit</c>); one for RLIMIT_NOFILE replaces the default.</summary>
    public IReadOnlyList<SpecRlimit> Rlimits { get; init; } = [];

    /// <summary>The size of /dev/shm in bytes (<c>--shm-size</c>); 0 is Docker's 64 MiB.</summary>
    public long ShmSize { get; init; }
    public int? OomScoreAdj { get; init; }
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}
