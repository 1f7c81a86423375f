using Berth.Content;
using Berth.Core;

namespace Berth.Images;

/// <summary>An image as the store knows it: its ID (config digest), names, layers and the facts `docker images` shows.</summary>
public sealed record ImageRecord
{
    /// <summary><c>sha256:…</c> of the config blob, as Docker's image ID.</summary>
    public required string Id { get; init; }

    /// <summary>Familiar names (<c>busybox:latest</c>) pointing at this image.</summary>
    public IReadOnlyList<string> RepoTags { get; init; } = [];

    public IReadOnlyList<string> RepoDigests { get; init; } = [];

    public DateTimeOffset? Created { get; init; }

    /// <summary>Sum of the layer sizes.</summary>
    public long Size { get; init; }

    /// <summary>Each layer's size, bottom first: the bytes of its files, as dockerd counts them (0 for a layer of empty directories).</summary>
    public IReadOnlyList<long> LayerSizes { get; init; } = [];

    public required Digest ConfigDigest { get; init; }
    public required Digest ManifestDigest { get; init; }

    /// <summary>The manifest's layer descriptors, bottom first (the blobs to unpack).</summary>
    public IReadOnlyList<Descriptor> LayerBlobs { get; init; } = [];

    /// <summary>Diff IDs (digests of the uncompressed layer tars), bottom first.</summary>
    public IReadOnlyList<Digest> Layers { get; init; } = [];

    /// <summary>The chain ID of the top layer: the committed snapshot a container of this image starts from. Null for an image without layers.</summary>
    public string? ChainId { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public IReadOnlyList<HistoryEntry> History { get; init; } = [];

    /// <summary>The local image this one was made on (a build step's previous step, a commit's container image); null for pulled, loaded and imported images.</summary>
    public string? Parent { get; init; }

    /// <summary>When a name was last given to the image here (dockerd's Metadata.LastTagTime); null when never.</summary>
    public DateTimeOffset? LastTagTime { get; init; }

    /// <summary>Some local image was made on this one: an untagged one is the builder's intermediate image, not a dangling one.</summary>
    public bool HasChildren { get; init; }

    /// <summary>Untagged with children: the builder's step image, which <c>docker images</c> shows only with <c>-a</c> and prune never takes alone.</summary>
    public bool IsIntermediate => RepoTags.Count == 0 && RepoDigests.Count == 0 && HasChildren;

    public string Architecture { get; init; } = "";
    public string Os { get; init; } = "";
}

/// <summary>What <c>docker import</c> takes besides the tar.</summary>
public sealed record ImportOptions
{
    /// <summary>Name to give the image (<c>repo:tag</c>); none leaves it dangling.</summary>
    public string? Tag { get; init; }

    /// <summary>Dockerfile lines applied to the config (CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE, USER, LABEL, VOLUME, STOPSIGNAL, ONBUILD, HEALTHCHECK).</summary>
    public IReadOnlyList<string> Changes { get; init; } = [];

    /// <summary>History comment; Docker's default is "Imported from &lt;source&gt;".</summary>
    public string? Message { get; init; }

    /// <summary><c>os/arch[/variant]</c>; default the host's.</summary>
    public string? Platform { get; init; }

    /// <summary>Where the tar came from, for the default message: "-" for the request body, else a URL.</summary>
    public string Source { get; init; } = "-";
}

/// <summary>What <c>docker commit</c> records besides the layer.</summary>
public sealed record CommitOptions
{
    /// <summary>Name to give the image (<c>repo:tag</c>); none leaves it dangling.</summary>
    public string? Tag { get; init; }

    /// <summary>The new image's run-time config (the container's, with the commit's changes applied).</summary>
    public ContainerConfig? Config { get; init; }

    public string? Author { get; init; }
    public string? Comment { get; init; }

    /// <summary>The history entry's <c>created_by</c>: the container's command.</summary>
    public string? CreatedBy { get; init; }

    /// <summary>When the image and its history entry were made; null: now.</summary>
    public DateTimeOffset? Created { get; init; }
}

/// <summary>Which container uses an image, so deletion can refuse like Docker.</summary>
public readonly record struct ImageUse(string ContainerId, bool Running);

/// <summary>One line of <c>docker rmi</c> / prune output.</summary>
public readonly record struct ImageDeleteItem(string Kind, string Value)
{
    public const string Untagged = "Untagged";
    public const string Deleted = "Deleted";
}

public sealed record PruneOptions
{
    /// <summary>True (the default, <c>docker image prune</c>): only images without names; false (<c>-a</c>): every unused image.</summary>
    public bool DanglingOnly { get; init; } = true;

    /// <summary><c>label=key</c> / <c>label=key=value</c> filters: an image must match all of them.</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];

    /// <summary><c>label!=key</c> / <c>label!=key=value</c> filters: an image must match none of them.</summary>
    public IReadOnlyList<string> NotLabels { get; init; } = [];

    /// <summary>Only images created before this time.</summary>
    public DateTimeOffset? Until { get; init; }
}

public sealed record PruneResult(IReadOnlyList<ImageDeleteItem> Deleted, long SpaceReclaimed);
