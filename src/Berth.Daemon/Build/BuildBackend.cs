using Berth.Builder;
using Berth.Daemon.Containers;
using Berth.Core;
using Berth.Daemon.Events;
using Berth.Daemon.Http;
using Berth.Distribution;
using Berth.Images;
using Berth.Images.Transfer;
using Berth.Runtime.Logs;
using ImageContainerConfig = Berth.Content.ContainerConfig;

namespace Berth.Daemon.Build;

/// <summary>The builder's image port: the daemon's image store.</summary>
internal sealed class BuildImages(ImageStore images, Content.IContentStore content) : IBuildImages
{
    public BuildImage? Find(string nameOrId) =>
        images.Resolve(nameOrId) is { } r ? new BuildImage(r.Id, images.GetConfig(r)) : null;

    public async Task<BuildImage> CommitConfigAsync(string? parentId, ImageContainerConfig config, string createdBy, string? author, CancellationToken ct)
    {
        var parent = parentId is null ? null : images.Resolve(parentId) ?? throw Core.BerthException.NotFound($"No such image: {parentId}");
        var img = await images.CommitAsync(parent, null, new CommitOptions { Config = config, CreatedBy = createdBy, Author = author }, ct);
        return new BuildImage(img.Id, images.GetConfig(img));
    }

    public async Task<BuildImage> CommitFromHistoryAsync(string? parentId, string sourceId, int historyIndex, ImageContainerConfig config, CancellationToken ct)
    {
        var parent = parentId is null ? null : images.Resolve(parentId) ?? throw Core.BerthException.NotFound($"No such image: {parentId}");
        var source = images.Resolve(sourceId) ?? throw Core.BerthException.NotFound($"No such image: {sourceId}");
        var h = source.History[historyIndex];
        var options = new CommitOptions { Config = config, CreatedBy = h.CreatedBy ?? "", Author = h.Author, Comment = h.Comment, Created = h.Created };
        if (h.EmptyLayer == true)
            return Wrap(await images.CommitAsync(parent, null, options, ct));
        int layer = source.History.Take(historyIndex).Count(e => e.EmptyLayer != true);
        // The layer blob as stored (a built image's is a plain tar, a pulled one's compressed): committed as a plain tar.
        await using var blob = content.OpenRead(source.LayerBlobs[layer].Digest);
        await using var tar = Content.Compression.Decompress(blob, leaveOpen: true);
        var img = await images.CommitAsync(parent, tar, options, ct);
        if (img.Layers[^1] != source.Layers[layer]) throw new BuildFailedException($"cache-from image {sourceId}: layer {layer} does not match its diff ID");
        return Wrap(img);
    }

    private BuildImage Wrap(ImageRecord img) => new(img.Id, images.GetConfig(img));

    public void Tag(string imageId, string reference) => images.Tag(imageId, reference);
}

/// <summary>
/// The builder's image source for one request: local images, and pulls (as dockerd's legacy builder: with
/// <c>pull</c> always, otherwise when there is no local image of the platform asked for) with the credentials of
/// the request's <c>X-Registry-Config</c> and their progress among the build's messages.
/// </summary>
internal sealed class BuildImageSource(ImageStore images, ImagePuller puller, EventBus events, JsonMessageStream stream,
    Func<string, RegistryCredentials> credentials, bool quiet) : IBuildImageSource
{
    public async Task<BuildImage> GetAsync(string name, string? platform, bool pull, CancellationToken ct)
    {
        var local = images.Resolve(name);
        bool fits = local is not null && Fits(images.GetConfig(local), platform);
        if (local is not null && (fits && !pull || ImageStore.IsIdPrefix(local.Id, name)))
        {
            // An image named by its ID is never pulled: it is the local one or none.
            if (!fits) throw new BuildFailedException($"image {name} was found but does not match the specified platform: wanted {platform}");
            return new BuildImage(local.Id, images.GetConfig(local));
        }
        if (!ImageReference.TryParse(name, out _)) throw new BuildFailedException($"invalid reference format: {name}");
        var r = ImageReference.ParseNormalized(name);
        if (r.Tag is null && r.Digest is null) r = r.WithTag(ImageReference.DefaultTag);
        var result = await stream.RelayAsync(
            post => Routers.DistributionRouter.PullOneAsync(puller, events, r, credentials(r.Domain), platform, quiet ? null : post, ct), ct);
        return new BuildImage(result.Image.Id, images.GetConfig(result.Image));
    }

    /// <summary>Whether a local image may stand for <paramref name="platform"/>: any does when none is asked for.</summary>
    private static bool Fits(Content.ImageConfig config, string? platform)
    {
        if (platform is null) return true;
        var (os, arch, variant) = Content.Platforms.Parse(platform);
        return config.Os == os && config.Architecture == arch && (variant is null || config.Variant == variant);
    }
}

/// <summary>The builder's container port: step containers made, run, mounted, committed and removed by the container service.</summary>
internal sealed class BuildContainers(ContainerService containers, ContainerFiles files, string spoolDir) : IBuildContainers
{
    public async Task<IStepContainer> CreateAsync(StepContainerSpec spec, CancellationToken ct)
    {
        var created = await containers.CreateAsync(new Api.ContainerCreateRequest
        {
            Image = spec.ImageId,
            Cmd = spec.Cmd,
            Entrypoint = [""],
            Env = spec.Env,
            User = spec.User,
            WorkingDir = spec.WorkingDir,
            HostConfig = new Api.HostConfig
            {
                Memory = spec.Resources.Memory,
                MemorySwap = spec.Resources.MemorySwap,
                CpuShares = spec.Resources.CpuShares,
                CpuPeriod = spec.Resources.CpuPeriod,
                CpuQuota = spec.Resources.CpuQuota,
                CpusetCpus = spec.Resources.CpusetCpus,
                CpusetMems = spec.Resources.CpusetMems,
                CgroupParent = spec.Resources.CgroupParent,
                ShmSize = spec.Resources.ShmSize,
                Ulimits = spec.Resources.Ulimits.Count == 0 ? null : [.. spec.Resources.Ulimits.Select(u => new Api.Ulimit { Name = u.Name, Soft = u.Soft, Hard = u.Hard })],
                ExtraHosts = spec.Resources.ExtraHosts.Count == 0 ? null : spec.Resources.ExtraHosts,
                NetworkMode = string.IsNullOrEmpty(spec.NetworkMode) || spec.NetworkMode == "default" ? "bridge" : spec.NetworkMode,
                Mounts = spec.Mounts.Count == 0 ? null : [.. spec.Mounts.Select(m => new Api.MountSpec
                {
                    Type = m.Type,
                    Source = m.Source,
                    Target = m.Target,
                    ReadOnly = m.ReadOnly,
                    TmpfsOptions = m.TmpfsSize > 0 ? new Api.TmpfsOptions { SizeBytes = m.TmpfsSize } : null,
                })],
            },
        }, null, ct);
        return new StepContainer(containers, files, spoolDir, created.Id, spec.ImageId);
    }

    private sealed class StepContainer(ContainerService containers, ContainerFiles files, string spoolDir, string id, string imageId) : IStepContainer
    {
        public string Id => id;

        public bool Remove { get; set; } = true;

        public async Task<int> RunAsync(Func<ReadOnlyMemory<byte>, Task> output, CancellationToken ct)
        {
            var c = containers.Get(id);
            var exited = c.NextExit;
            await containers.StartAsync(id, ct);
            var options = new LogReadOptions { Follow = true, StopFollowing = exited };
            await foreach (var e in JsonFileLog.ReadAsync(containers.Paths.LogFile(id), options, ct))
                await output(e.Log);
            return await containers.WaitAsync(c, "", ct);
        }

        public async Task<IMountedRootfs> MountAsync(CancellationToken ct) =>
            new Mounted(await containers.LeaseRootfsAsync(id, mount: true, ct));

        public async Task<BuildImage> CommitAsync(ImageContainerConfig config, string createdBy, string? author, CancellationToken ct)
        {
            Directory.CreateDirectory(spoolDir);
            var spool = Path.Combine(spoolDir, $"build-{Guid.NewGuid():N}");
            try
            {
                int changes;
                using (var lease = await containers.LeaseRootfsAsync(id, mount: false, ct))
                {
                    await using var f = new FileStream(spool, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                    changes = await files.DiffOf(lease).WriteTarAsync(f, ct);
                }
                var parent = containers.Images.Resolve(imageId) ?? throw Core.BerthException.NotFound($"No such image: {imageId}");
                await using var layer = new FileStream(spool, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
                // A step that changed nothing (RUN true) adds no layer, only its history entry, as with dockerd.
                var img = await containers.Images.CommitAsync(parent, changes == 0 ? null : layer, new CommitOptions { Config = config, CreatedBy = createdBy, Author = author }, ct);
                return new BuildImage(img.Id, containers.Images.GetConfig(img));
            }
            finally
            {
                File.Delete(spool);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!Remove) return;
            try { await containers.RemoveAsync(id, force: true, removeVolumes: true, CancellationToken.None); }
            catch (Core.BerthException) { /* already gone */ }
        }
    }

    private sealed class Mounted(RootfsLease lease) : IMountedRootfs
    {
        public string Path => lease.Rootfs;

        public void Dispose() => lease.Dispose();
    }
}
