using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Api;
using Berth.Core;
using Berth.Daemon.Config;
using Berth.Images;
using Berth.Network;
using Berth.Storage;

namespace Berth.Daemon.Containers;

/// <summary>
/// Container lifecycle: create, start, stop, kill, wait, remove, and re-adoption of running containers at daemon start
/// (live restore). Exit handling and restart policies live here too, because they are transitions of the same states.
/// </summary>
internal sealed partial class ContainerService
{
    private readonly DaemonOptions _options;
    private readonly ContainerPaths _paths;
    private readonly ImageStore _images;
    private readonly ISnapshotter _snapshotter;
    private readonly LocalVolumeStore _volumes;
    private readonly NetworkController _network;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, Container> _byId = new(StringComparer.Ordinal);

    // Guards name reservations so two creates cannot take the same name.
    private readonly object _namesLock = new();
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();

    public ContainerService(DaemonOptions options, ImageStore images, ISnapshotter snapshotter, LocalVolumeStore volumes,
        NetworkController network, ILogger<ContainerService> log, Events.EventBus events)
    {
        Events = events;
        _options = options;
        _paths = new ContainerPaths(options.DataRoot, options.ExecRoot);
        _images = images;
        _snapshotter = snapshotter;
        _volumes = volumes;
        _network = network;
        _log = log;
        Directory.CreateDirectory(_paths.ContainersDir);
        Directory.CreateDirectory(_paths.RuncRoot);
    }

    public ContainerPaths Paths => _paths;

    public IEnumerable<Container> All => _byId.Values;

    [GeneratedRegex("^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")]
    private static partial Regex ValidName();

    // ---- lookup ----

    public Container Get(string idOrName)
    {
        if (TryGet(idOrName) is { } c) return c;
        throw BerthException.NotFound($"No such container: {idOrName}");
    }

    public Container? TryGet(string idOrName)
    {
        if (string.IsNullOrEmpty(idOrName)) return null;
        if (_byId.TryGetValue(idOrName, out var c)) return c;
        var name = idOrName.TrimStart('/');
        lock (_namesLock)
            if (_names.TryGetValue(name, out var id) && _byId.TryGetValue(id, out c)) return c;
        var matches = _byId.Values.Where(x => x.Id.StartsWith(idOrName, StringComparison.Ordinal)).Take(2).ToList();
        if (matches.Count > 1) throw BerthException.Invalid($"multiple IDs found with provided prefix: {idOrName}");
        return matches.Count == 1 ? matches[0] : null;
    }

    public bool ImageInUse(string imageId, out Container? user)
    {
        user = _byId.Values.FirstOrDefault(c => c.Record.ImageId == imageId);
        return user is not null;
    }

    public IReadOnlyList<string> VolumeUsers(string volumeName) =>
        _byId.Values.Where(c => c.Record.Mounts.Any(m => m.Type == "volume" && m.Name == volumeName)).Select(c => c.Id).ToList();

    // ---- create ----

    /// <summary>
    /// The log configuration a container is created with, as dockerd stores it (and clients such as docker-py read it
    /// back): the daemon's driver when none is named, with the daemon's --log-opt under the container's own.
    /// </summary>
    private LogConfig LogConfigOf(LogConfig? asked)
    {
        var config = new Dictionary<string, string>(_options.LogOpts);
        foreach (var (k, v) in asked?.Config ?? []) config[k] = v;
        return new LogConfig { Type = "json-file", Config = config };
    }

    public async Task<ContainerCreateResponse> CreateAsync(ContainerCreateRequest req, string? name, CancellationToken ct)
    {
        if (name is not null && !ValidName().IsMatch(name))
            throw BerthException.Invalid($"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        if (string.IsNullOrEmpty(req.Image))
            throw BerthException.Invalid("config cannot be empty in order to create a container");
        var host = req.HostConfig ?? new HostConfig();
        var warnings = ContainerValidation.ValidateHostConfig(host);
        ValidateNetworks(host, req.NetworkingConfig);

        var image = _images.Resolve(req.Image) ?? throw BerthException.NotFound($"No such image: {ImageReferenceDisplay(req.Image)}");
        var imageConfig = _images.GetConfig(image).Config;
        var config = ContainerValidation.Merge(req.ToConfig(), imageConfig);
        HealthRules.Validate(config.Healthcheck, config.Labels);
        ContainerPorts.Validate(host, config, warnings);
        var argv = new List<string>();
        argv.AddRange(config.Entrypoint ?? []);
        argv.AddRange(config.Cmd ?? []);
        if (argv.Count == 0) throw BerthException.Invalid("no command specified");

        var id = Ids.NewId();
        name = name?.TrimStart('/');
        lock (_namesLock)
        {
            if (name is not null && _names.TryGetValue(name, out var owner))
                throw BerthException.Conflict($"Conflict. The container name \"/{name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name.");
            name ??= NameGenerator.Next(n => _names.ContainsKey(n));
            _names[name] = id;
        }

        List<MountRecord>? mounts = null;
        try
        {
            if (string.IsNullOrEmpty(config.Hostname))
                config = config with { Hostname = host.NetworkMode == "host" ? Environment.MachineName : id[..12] };
            var chainId = await _images.UnpackAsync(image, ct);
            Directory.CreateDirectory(_paths.Dir(id));
            await _snapshotter.PrepareAsync(id, chainId, ct);
            mounts = ResolveMounts(id, config, host);
            var record = new ContainerRecord
            {
                Id = id,
                Name = "/" + name,
                Created = DateTimeOffset.UtcNow,
                ImageRef = req.Image,
                ImageId = image.Id,
                Path = argv[0],
                Args = argv.Skip(1).ToList(),
                Config = config,
                HostConfig = host with
                {
                    NetworkMode = string.IsNullOrEmpty(host.NetworkMode) ? "bridge" : host.NetworkMode,
                    // As dockerd: the default /dev/shm size is stored at create, so inspect shows it.
                    ShmSize = host.ShmSize > 0 ? host.ShmSize : Runtime.Spec.SpecBuilder.DefaultShmSize,
                    LogConfig = LogConfigOf(host.LogConfig),
                },
                EndpointsConfig = req.NetworkingConfig?.EndpointsConfig,
                Mounts = mounts,
                SnapshotKey = id,
                Driver = _snapshotter.Driver,
            };
            var c = new Container(record);
            Persist(record);
            _byId[id] = c;
            Events.Container("create", record);
            return new ContainerCreateResponse { Id = id, Warnings = warnings };
        }
        catch
        {
            lock (_namesLock) _names.Remove(name);
            if (mounts is not null) RemoveAnonymousVolumes(mounts);
            await CleanupFailedCreate(id);
            throw;
        }
    }

    private static string ImageReferenceDisplay(string image) =>
        image.Contains(':') || image.Contains('@') ? image : image + ":latest";

    private async Task CleanupFailedCreate(string id)
    {
        try { await _snapshotter.RemoveAsync(id, CancellationToken.None); } catch (BerthException) { }
        try { Directory.Delete(_paths.Dir(id), recursive: true); } catch (DirectoryNotFoundException) { }
    }

    private List<MountRecord> ResolveMounts(string id, Api.ContainerConfig config, HostConfig host)
    {
        var list = new List<MountRecord>();
        try
        {
            ResolveMounts(config, host, list);
            return list;
        }
        catch
        {
            // A create that fails leaves no anonymous volume behind (named ones stay, as dockerd leaves them).
            RemoveAnonymousVolumes(list);
            throw;
        }
    }

    private void RemoveAnonymousVolumes(IEnumerable<MountRecord> mounts)
    {
        foreach (var m in mounts.Where(m => m is { Type: "volume", Anonymous: true, Name: not null }))
        {
            try { _volumes.Remove(m.Name!); } catch (BerthException e) { _log.LogWarning("removing anonymous volume {Name}: {Error}", m.Name, e.Message); }
        }
    }

    private void ResolveMounts(Api.ContainerConfig config, HostConfig host, List<MountRecord> list)
    {
        bool Taken(string dest) => list.Any(m => m.Destination == dest);

        foreach (var bind in host.Binds ?? [])
        {
            var m = ContainerValidation.ParseBind(bind);
            if (Taken(m.Destination)) throw BerthException.Invalid($"Duplicate mount point: {m.Destination}");
            if (m.Type == "bind")
            {
                // -v /host/path creates the host directory when missing, as Docker does.
                if (!Path.Exists(m.Source)) Directory.CreateDirectory(m.Source);
                list.Add(m);
            }
            else
            {
                var v = _volumes.Create(m.Name, null, null, anonymous: m.Name is null);
                list.Add(m with { Name = v.Name, Source = v.Mountpoint, Anonymous = m.Name is null });
            }
        }
        foreach (var spec in host.Mounts ?? [])
        {
            var target = spec.Target ?? throw BerthException.Invalid("invalid mount config: Target must not be empty");
            if (!target.StartsWith('/')) throw BerthException.Invalid($"invalid mount config: mount path must be absolute: {target}");
            if (Taken(target)) throw BerthException.Invalid($"Duplicate mount point: {target}");
            switch (spec.Type)
            {
                case "bind":
                    if (string.IsNullOrEmpty(spec.Source) || !spec.Source.StartsWith('/'))
                        throw BerthException.Invalid($"invalid mount config for type \"bind\": invalid mount path: '{spec.Source}' mount path must be absolute");
                    if (!Path.Exists(spec.Source))
                        throw BerthException.Invalid($"invalid mount config for type \"bind\": bind source path does not exist: {spec.Source}");
                    list.Add(new MountRecord { Type = "bind", Source = spec.Source, Destination = target, RW = !spec.ReadOnly, Propagation = spec.BindOptions?.Propagation ?? "rprivate" });
                    break;
                case "volume":
                    var anon = string.IsNullOrEmpty(spec.Source);
                    var v = _volumes.Create(anon ? null : spec.Source, spec.VolumeOptions?.Labels, spec.VolumeOptions?.DriverConfig?.Options, anonymous: anon);
                    list.Add(new MountRecord { Type = "volume", Name = v.Name, Source = v.Mountpoint, Destination = target, RW = !spec.ReadOnly, Anonymous = anon, Mode = "z" });
                    break;
                case "tmpfs":
                    var opts = new List<string> { "nosuid", "nodev", "noexec" };
                    if (spec.TmpfsOptions is { SizeBytes: > 0 } t) opts.Add($"size={t.SizeBytes}");
                    if (spec.TmpfsOptions is { Mode: > 0 } tm) opts.Add($"mode={Convert.ToString(tm.Mode, 8)}");
                    list.Add(new MountRecord { Type = "tmpfs", Source = "tmpfs", Destination = target, RW = !spec.ReadOnly, TmpfsOptions = opts });
                    break;
                default:
                    throw BerthException.Invalid($"invalid mount config: mount type unknown: \"{spec.Type}\"");
            }
        }
        foreach (var (dest, opts) in host.Tmpfs ?? [])
        {
            if (Taken(dest)) throw BerthException.Invalid($"Duplicate mount point: {dest}");
            var o = new List<string> { "nosuid", "nodev", "noexec" };
            o.AddRange(opts.Split(',', StringSplitOptions.RemoveEmptyEntries));
            list.Add(new MountRecord { Type = "tmpfs", Source = "tmpfs", Destination = dest, RW = !o.Contains("ro"), TmpfsOptions = o });
        }
        foreach (var dest in (config.Volumes ?? []).Keys)
        {
            if (Taken(dest)) continue;
            var v = _volumes.Create(null, null, null, anonymous: true);
            list.Add(new MountRecord { Type = "volume", Name = v.Name, Source = v.Mountpoint, Destination = dest, RW = true, Anonymous = true });
        }
    }

    // ---- persistence ----

    private void Persist(ContainerRecord r) =>
        AtomicFile.WriteAllBytes(_paths.RecordFile(r.Id), JsonSerializer.SerializeToUtf8Bytes(r, DaemonJsonContext.Default.ContainerRecord));

    private ContainerRecord Save(Container c, Func<ContainerRecord, ContainerRecord> change)
    {
        var r = c.Update(change);
        Persist(r);
        return r;
    }

    // ---- rename ----

    public void Rename(string idOrName, string newName)
    {
        var c = Get(idOrName);
        if (string.IsNullOrEmpty(newName) || !ValidName().IsMatch(newName))
            throw BerthException.Invalid($"Invalid container name ({newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        newName = newName.TrimStart('/');
        lock (_namesLock)
        {
            var old = c.Record.Name.TrimStart('/');
            if (old == newName) throw BerthException.Invalid("Renaming a container with the same name as its current name");
            if (_names.TryGetValue(newName, out var owner))
                throw BerthException.Conflict($"Error when allocating new name: Conflict. The container name \"/{newName}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name.");
            _names.Remove(old);
            _names[newName] = c.Id;
            Save(c, r => r with { Name = "/" + newName });
            Events.Container("rename", c.Record, ("oldName", "/" + old));
        }
    }
}
