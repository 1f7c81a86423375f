using Berth.Builder;
using Berth.Daemon.Containers;
using Berth.Images;
using Berth.Runtime.Logs;
using ImageContainerConfig = Berth.Content.ContainerConfig;

namespace Berth.Daemon.Build;

/// <summary>The builder's image port: the daemon's image store.</summary>
internal sealed class BuildImages(ImageStore images) : IBuildImages
{
    public BuildImage? Find(string nameOrId) =>
        images.Resolve(nameOrId) is { } r ? new BuildImage(r.Id, images.GetConfig(r)) : null;

    public async Task<BuildImage> CommitConfigAsync(string? parentId, ImageContainerConfig config, string createdBy, CancellationToken ct)
    {
        var parent = parentId is null ? null : images.Resolve(parentId) ?? throw Core.BerthException.NotFound($"No such image: {parentId}");
        var img = await images.CommitAsync(parent, null, new CommitOptions { Config = config, CreatedBy = createdBy }, ct);
        return new BuildImage(img.Id, images.GetConfig(img));
    }

    public void Tag(string imageId, string reference) => images.Tag(imageId, reference);
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
            HostConfig = new Api.HostConfig { NetworkMode = string.IsNullOrEmpty(spec.NetworkMode) || spec.NetworkMode == "default" ? "bridge" : spec.NetworkMode },
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

        public async Task<BuildImage> CommitAsync(ImageContainerConfig config, string createdBy, CancellationToken ct)
        {
            Directory.CreateDirectory(spoolDir);
            var spool = Path.Combine(spoolDir, $"build-{Guid.NewGuid():N}");
            try
            {
                using (var lease = await containers.LeaseRootfsAsync(id, mount: false, ct))
                {
                    await using var f = new FileStream(spool, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                    await files.DiffOf(lease).WriteTarAsync(f, ct);
                }
                var parent = containers.Images.Resolve(imageId) ?? throw Core.BerthException.NotFound($"No such image: {imageId}");
                await using var layer = new FileStream(spool, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
                // A step that changed nothing adds no layer (an empty diff is not even a tar).
                var img = await containers.Images.CommitAsync(parent, layer.Length == 0 ? null : layer, new CommitOptions { Config = config, CreatedBy = createdBy }, ct);
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
