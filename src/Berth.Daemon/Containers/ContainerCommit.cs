using Berth.Core;
using Berth.Images;
using ImageContainerConfig = Berth.Content.ContainerConfig;

namespace Berth.Daemon.Containers;

/// <summary>What <c>POST /commit</c> asks for.</summary>
internal sealed record CommitRequest
{
    public required string Container { get; init; }
    public string? Repo { get; init; }
    public string? Tag { get; init; }
    public string? Comment { get; init; }
    public string? Author { get; init; }
    public bool Pause { get; init; } = true;
    public IReadOnlyList<string> Changes { get; init; } = [];

    /// <summary>The request body's config: set fields override the container's.</summary>
    public Api.ContainerConfig? Config { get; init; }
}

/// <summary>
/// <c>docker commit</c>: the container's writable layer (its <see cref="Storage.Diff.LayerDiff"/>) becomes a new
/// layer on its image, with the container's config plus the commit's changes. The container is held still while
/// its layer is read: its operation lock is held, and with pause=true (the default) a running container is frozen.
/// </summary>
internal sealed class ContainerCommit(ContainerService containers, ContainerFiles files, string spoolDir)
{
    public async Task<ImageRecord> CommitAsync(CommitRequest req, CancellationToken ct)
    {
        string? reference = null;
        if (!string.IsNullOrEmpty(req.Repo))
        {
            reference = string.IsNullOrEmpty(req.Tag) ? req.Repo : $"{req.Repo}:{req.Tag}";
            if (!ImageReference.TryParse(reference, out _)) throw BerthException.Invalid($"invalid reference format: {reference}");
        }
        else if (!string.IsNullOrEmpty(req.Tag))
        {
            throw BerthException.Invalid("invalid reference format: a tag needs a repository");
        }

        Directory.CreateDirectory(spoolDir);
        var spool = Path.Combine(spoolDir, $"commit-{Guid.NewGuid():N}");
        try
        {
            ImageRecord parent;
            ImageContainerConfig config;
            string createdBy;
            ContainerRecord committed;
            int changes;
            using (var lease = await containers.LeaseRootfsAsync(req.Container, mount: false, ct))
            {
                var r = committed = lease.Record;
                parent = containers.Images.Resolve(r.ImageId) ?? throw BerthException.NotFound($"No such image: {r.ImageId}");
                // Checked before the layer is written, so a bad change line costs nothing.
                config = ConfigChanges.Apply(Override(ToImageConfig(r.Config), req.Config), req.Changes);
                // dockerd's history entry names the container's Cmd alone, not its entrypoint.
                createdBy = string.Join(' ', r.Config.Cmd ?? []);
                var diff = files.DiffOf(lease);
                var frozen = req.Pause ? await FreezeAsync(lease) : null;
                if (frozen is not null) containers.Events.Paused(r);
                try
                {
                    await using var f = new FileStream(spool, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                    changes = await diff.WriteTarAsync(f, ct);
                }
                finally
                {
                    // Thawed whatever happened: a failed or abandoned commit must not leave the container frozen.
                    if (frozen is not null)
                    {
                        await frozen.ResumeAsync(CancellationToken.None);
                        containers.Events.Unpaused(r);
                    }
                }
            }
            await using var layer = new FileStream(spool, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
            // An untouched container's commit adds no layer, only its history entry, as with dockerd.
            var img = await containers.Images.CommitAsync(parent, changes == 0 ? null : layer, new CommitOptions
            {
                Tag = reference,
                Config = config,
                Author = req.Author,
                Comment = req.Comment,
                CreatedBy = createdBy,
            }, ct);
            // dockerd's events: the freeze's pause and unpause (above), the new name's tag, then the commit.
            if (reference is not null) Events.ImageEvents.Tagged(containers.Events, img, reference);
            containers.Events.Container("commit", committed, ("comment", req.Comment ?? ""), ("imageID", img.Id),
                ("imageRef", reference is null ? "" : ImageReference.ParseNormalized(reference).FamiliarString));
            return img;
        }
        finally
        {
            File.Delete(spool);
        }
    }

    /// <summary>
    /// pause=true, as dockerd: a running container (not already paused) is frozen through its shim while its layer is
    /// read, so no process changes it mid-read. The lease's operation lock keeps anyone else from seeing or changing
    /// its state meanwhile. Returns the shim to thaw, or null when nothing was frozen (stopped, paused, or it
    /// exited just now).
    /// </summary>
    private static async Task<Runtime.Shim.ShimClient?> FreezeAsync(RootfsLease lease)
    {
        if (lease.Record.Status != ContainerStatus.Running || lease.Container.Shim is not { } shim) return null;
        try
        {
            await shim.PauseAsync(CancellationToken.None);
            return shim;
        }
        catch (BerthException e) when (e.Kind is ErrorKind.Conflict or ErrorKind.Unavailable)
        {
            return null; // it exited between the check and the freeze: it is still anyway
        }
    }

    private static ImageContainerConfig ToImageConfig(Api.ContainerConfig c) => new()
    {
        User = string.IsNullOrEmpty(c.User) ? null : c.User,
        ExposedPorts = c.ExposedPorts?.ToDictionary(kv => kv.Key, _ => Content.EmptyObject.Instance),
        Env = c.Env,
        Entrypoint = c.Entrypoint is { Count: > 0 } ? c.Entrypoint : null,
        Cmd = c.Cmd is { Count: > 0 } ? c.Cmd : null,
        Volumes = c.Volumes?.ToDictionary(kv => kv.Key, _ => Content.EmptyObject.Instance),
        WorkingDir = string.IsNullOrEmpty(c.WorkingDir) ? null : c.WorkingDir,
        Labels = c.Labels is { Count: > 0 } ? c.Labels : null,
        StopSignal = string.IsNullOrEmpty(c.StopSignal) ? null : c.StopSignal,
        ArgsEscaped = c.ArgsEscaped,
        Healthcheck = c.Healthcheck is { } h ? new Content.HealthConfig
        {
            Test = h.Test,
            Interval = h.Interval,
            Timeout = h.Timeout,
            StartPeriod = h.StartPeriod,
            StartInterval = h.StartInterval,
            Retries = h.Retries,
        } : null,
        OnBuild = c.OnBuild,
        Shell = c.Shell,
    };

    /// <summary>Docker's merge: what the request's config sets wins, the rest comes from the container.</summary>
    private static ImageContainerConfig Override(ImageContainerConfig container, Api.ContainerConfig? user)
    {
        if (user is null) return container;
        var u = ToImageConfig(user);
        var env = new List<string>(u.Env ?? []);
        var keys = env.Select(e => e.Split('=', 2)[0]).ToHashSet(StringComparer.Ordinal);
        env.AddRange((container.Env ?? []).Where(e => keys.Add(e.Split('=', 2)[0])));
        var entrypoint = u.Entrypoint;
        var cmd = u.Cmd;
        if (entrypoint is null)
        {
            entrypoint = container.Entrypoint;
            cmd ??= container.Cmd;
        }
        return container with
        {
            User = u.User ?? container.User,
            Env = env,
            Entrypoint = entrypoint,
            Cmd = cmd,
            WorkingDir = u.WorkingDir ?? container.WorkingDir,
            ExposedPorts = u.ExposedPorts ?? container.ExposedPorts,
            Volumes = u.Volumes ?? container.Volumes,
            Labels = u.Labels ?? container.Labels,
            StopSignal = u.StopSignal ?? container.StopSignal,
            Healthcheck = u.Healthcheck ?? container.Healthcheck,
            OnBuild = u.OnBuild ?? container.OnBuild,
            Shell = u.Shell ?? container.Shell,
        };
    }
}
