namespace Berth.Builder;

/// <summary>What one build asks for (the <c>/build</c> query, translated).</summary>
public sealed record BuildOptions
{
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The Dockerfile's path inside the context.</summary>
    public string Dockerfile { get; init; } = "Dockerfile";

    /// <summary>--build-arg values; a null value means "from the client's environment", which the client resolved.</summary>
    public IReadOnlyDictionary<string, string?> BuildArgs { get; init; } = new Dictionary<string, string?>();

    public bool NoCache { get; init; }

    /// <summary>Remove intermediate containers after a successful step (and, with Berth, after a failed one).</summary>
    public bool Remove { get; init; } = true;

    public bool ForceRemove { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public string? Target { get; init; }

    public bool Quiet { get; init; }

    public string? NetworkMode { get; init; }

    /// <summary>--cache-from: images whose history may stand in for steps the local cache does not have.</summary>
    public IReadOnlyList<string> CacheFrom { get; init; } = [];

    /// <summary><c>pull</c>: pull every base image (FROM) even when a local one exists.</summary>
    public bool Pull { get; init; }

    /// <summary><c>platform</c>: the platform the stages are built for unless their FROM names one (null: the daemon's).</summary>
    public string? Platform { get; init; }

    /// <summary>Limits and host settings of the RUN containers (<c>memory</c>, <c>cpuquota</c>, <c>extrahosts</c>, ...).</summary>
    public StepResources Resources { get; init; } = StepResources.None;
}

/// <summary>What the <c>/build</c> query sets for every RUN container, as <c>docker run</c>'s flags of the same names.</summary>
public sealed record StepResources
{
    public static readonly StepResources None = new();

    public long Memory { get; init; }
    public long MemorySwap { get; init; }
    public long CpuShares { get; init; }
    public long CpuPeriod { get; init; }
    public long CpuQuota { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public string? CgroupParent { get; init; }
    public long ShmSize { get; init; }

    /// <summary><c>name</c>, soft and hard limit, as <c>--ulimit name=soft:hard</c>.</summary>
    public IReadOnlyList<(string Name, long Soft, long Hard)> Ulimits { get; init; } = [];

    /// <summary><c>host:ip</c> lines for /etc/hosts.</summary>
    public IReadOnlyList<string> ExtraHosts { get; init; } = [];
}
