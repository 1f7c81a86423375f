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
}
