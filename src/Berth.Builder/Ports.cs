using Berth.Content;

namespace Berth.Builder;

/// <summary>An image as the builder sees it: its ID and its config.</summary>
public sealed record BuildImage(string Id, ImageConfig Config);

/// <summary>What a step container is made from and runs.</summary>
public sealed record StepContainerSpec
{
    public required string ImageId { get; init; }
    public required IReadOnlyList<string> Cmd { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    public string? User { get; init; }
    public string? WorkingDir { get; init; }

    /// <summary>The build's <c>networkmode</c> (bridge when empty).</summary>
    public string? NetworkMode { get; init; }

    /// <summary>The build's limits and host settings for its RUN containers.</summary>
    public StepResources Resources { get; init; } = StepResources.None;

    /// <summary>RUN --mount: host directories and tmpfs mounted into the step, outside its layer.</summary>
    public IReadOnlyList<StepMount> Mounts { get; init; } = [];
}

/// <summary>A mount of a step container: <c>bind</c> of a host path or <c>tmpfs</c>; never part of the committed layer.</summary>
public sealed record StepMount(string Type, string? Source, string Target, bool ReadOnly, long TmpfsSize = 0);

/// <summary>Port 1: images. The daemon's image store behind it.</summary>
public interface IBuildImages
{
    /// <summary>A local image by name or ID; null when there is none.</summary>
    BuildImage? Find(string nameOrId);

    /// <summary>
    /// An image that is <paramref name="parentId"/> (null: nothing, <c>FROM scratch</c>) with only a new config and
    /// history entry, no new layer: what metadata instructions make.
    /// </summary>
    Task<BuildImage> CommitConfigAsync(string? parentId, ContainerConfig config, string createdBy, string? author, CancellationToken ct);

    /// <summary>
    /// --cache-from: an image that is <paramref name="parentId"/> plus the layer (none for an empty-layer entry) and
    /// history entry number <paramref name="historyIndex"/> of image <paramref name="sourceId"/>, with <paramref name="config"/>.
    /// </summary>
    Task<BuildImage> CommitFromHistoryAsync(string? parentId, string sourceId, int historyIndex, ContainerConfig config, CancellationToken ct);

    /// <summary>Points <paramref name="reference"/> at the image.</summary>
    void Tag(string imageId, string reference);
}

/// <summary>
/// Port 4: the images a build names (<c>FROM</c>, <c>COPY --from</c>, <c>RUN --mount from=</c>) as one request may
/// get them: the local image unless the build pulls, pulled (with the request's credentials, progress on its output)
/// when asked to or when there is none of the platform wanted.
/// </summary>
public interface IBuildImageSource
{
    /// <summary>
    /// The image <paramref name="name"/> names for <paramref name="platform"/> (null: any local one, else the daemon's
    /// platform); <paramref name="pull"/> pulls even when a local one would do.
    /// </summary>
    Task<BuildImage> GetAsync(string name, string? platform, bool pull, CancellationToken ct);
}

/// <summary>Port 2: step containers on the daemon's runtime and snapshots.</summary>
public interface IBuildContainers
{
    Task<IStepContainer> CreateAsync(StepContainerSpec spec, CancellationToken ct);
}

/// <summary>A created (not yet started) step container. Disposing it removes it.</summary>
public interface IStepContainer : IAsyncDisposable
{
    string Id { get; }

    /// <summary>Starts the container, hands its output to <paramref name="output"/> as it comes and returns its exit code.</summary>
    Task<int> RunAsync(Func<ReadOnlyMemory<byte>, Task> output, CancellationToken ct);

    /// <summary>The container's root filesystem mounted for the builder to write into (COPY, ADD) or read (COPY --from).</summary>
    Task<IMountedRootfs> MountAsync(CancellationToken ct);

    /// <summary>The container's writable layer as a new image on its image, with <paramref name="config"/>.</summary>
    Task<BuildImage> CommitAsync(ContainerConfig config, string createdBy, string? author, CancellationToken ct);

    /// <summary>Dispose keeps the container (<c>rm=false</c>) when this is false.</summary>
    bool Remove { get; set; }
}

/// <summary>A mounted root filesystem; disposing unmounts it.</summary>
public interface IMountedRootfs : IDisposable
{
    string Path { get; }
}

/// <summary>Port 3: the step cache, keyed by parent + instruction + content checksums.</summary>
public interface IBuildCache
{
    string? Get(string key);
    void Put(string key, string imageId);
}
