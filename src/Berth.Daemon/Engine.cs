using Berth.Api;
using Berth.Content;
using Berth.Daemon.Config;
using Berth.Daemon.Containers;
using Berth.Daemon.Routers;
using Berth.Images;
using Berth.Network;
using Berth.Storage;

namespace Berth.Daemon;

/// <summary>Builds the engine's parts from the options and hands each router the few operations it uses.</summary>
internal sealed class Engine
{
    private readonly DaemonOptions _options;
    private readonly ImageStore _images;
    private readonly Images.Transfer.LayerSources _layerSources;
    private readonly FileContentStore _content;
    private readonly ISnapshotter _snapshotter;
    private readonly LocalVolumeStore _volumes;
    private readonly NetworkController _network;
    private ContainerService? _containers;

    private Engine(DaemonOptions options)
    {
        _options = options;
        var root = options.DataRoot;
        var content = _content = new FileContentStore(Path.Combine(root, "content"));
        // Partial downloads nobody resumed within a week, and temp files of writes a crash interrupted.
        content.PruneIngest(TimeSpan.FromDays(7), DateTimeOffset.UtcNow);
        _snapshotter = StorageFactory.Create(options.StorageDriver, Path.Combine(root, "snapshots", options.StorageDriver));
        _layerSources = new Images.Transfer.LayerSources(Path.Combine(root, "images", "layer-sources.json"));
        _images = new ImageStore(Path.Combine(root, "images"), content, _snapshotter, sources: _layerSources);
        _volumes = new LocalVolumeStore(Path.Combine(root, "volumes"));
        _network = new NetworkController(new NetworkOptions
        {
            ExecRoot = options.ExecRoot,
            DataRoot = root,
            BridgeName = options.BridgeName,
            BridgeCidr = options.Bip,
            DefaultAddressPools = options.DefaultAddressPools,
            NftTablePrefix = options.BridgeName == "berth0" ? "berth" : "berth_" + new string(options.BridgeName.Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '_').ToArray()),
        });
    }

    public static Engine Create(DaemonOptions options, IServiceCollection services)
    {
        var e = new Engine(options);
        services.AddSingleton(options);
        services.AddSingleton(e._images);
        services.AddSingleton(new ImageArchiveWriter(e._images, e._content));
        services.AddSingleton(new ImageArchiveReader(e._images, e._content));
        var transport = new Distribution.RegistryTransport(new Distribution.RegistryHosts(e.RegistryOptions()));
        var sources = e._layerSources;
        services.AddSingleton(transport);
        services.AddSingleton(new Images.Transfer.ImagePuller(e._images, e._content, transport, sources));
        services.AddSingleton(new Images.Transfer.ImagePusher(e._images, e._content, transport, sources));
        services.AddSingleton(e._snapshotter);
        services.AddSingleton(e._volumes);
        services.AddSingleton(e._network);
        services.AddSingleton<Events.EventBus>();
        services.AddSingleton<ContainerService>();
        return e;
    }

    private Distribution.RegistryOptions RegistryOptions()
    {
        var mirrors = new List<Uri>();
        foreach (var m in _options.RegistryMirrors)
            mirrors.Add(Uri.TryCreate(m, UriKind.Absolute, out var u) ? u : throw new InvalidOperationException($"invalid registry mirror \"{m}\": it must be a URL like https://mirror.example"));
        var o = new Distribution.RegistryOptions { InsecureRegistries = _options.InsecureRegistries, Mirrors = mirrors };
        try { Distribution.RegistryHosts.Validate(o); }
        catch (Core.BerthException e) { throw new InvalidOperationException(e.Message); }
        return o;
    }

    private ContainerService Containers => _containers ?? throw new InvalidOperationException("engine not started");

    public void MapRoutes(WebApplication app, Http.HijackRoutes hijack)
    {
        _containers = app.Services.GetRequiredService<ContainerService>();
        ContainersRouter.MapHijack(hijack, Containers, app.Services.GetRequiredService<ILoggerFactory>());
        ExecRouter.MapHijack(hijack, Containers);
        SystemRouter.Map(app, Info);
        ContainersRouter.Map(app, Containers, () => _network.DefaultBridge.Id, Sizes);
        ExecRouter.Map(app, Containers);
        ImagesRouter.Map(app, _images, Containers, Path.Combine(_options.DataRoot, "tmp"));
        ImageArchiveRouter.Map(app);
        DistributionRouter.Map(app, app.Services.GetRequiredService<Distribution.RegistryTransport>());
        VolumesRouter.Map(app, _volumes, Containers);
        NetworksRouter.Map(app, _network, Containers);
        ContainerFilesRouter.Map(app, Containers, Path.Combine(_options.DataRoot, "tmp"));
        StatsRouter.Map(app, Containers);
        EventsRouter.Map(app, Containers.Events);
        var cacheMounts = new Builder.CacheMounts(Path.Combine(_options.DataRoot, "builder", "cache-mounts"));
        var contexts = new Builder.ContextCache(Path.Combine(_options.DataRoot, "builder", "contexts"));
        BuildRouter.Map(app, _images, _content, Containers, Path.Combine(_options.DataRoot, "tmp"), cacheMounts, contexts, Path.Combine(_options.DataRoot, "builder"));
        DiskUsageRouter.Map(app, _images, _volumes, Containers, [cacheMounts, contexts], _options.DataRoot, () => _network.DefaultBridge.Id, Sizes);
    }

    private (long?, long?) Sizes(ContainerRecord r)
    {
        long rw = 0;
        try { rw = _snapshotter.Usage(r.SnapshotKey); } catch (Core.BerthException) { }
        long image = _images.Resolve(r.ImageId)?.Size ?? 0;
        return (rw, rw + image);
    }

    public Task StartAsync(IServiceProvider services, CancellationToken ct) => Containers.RestoreAsync(ct);

    public async Task StopAsync(CancellationToken ct)
    {
        await Containers.ShutdownAsync();
        // Containers keep running under their shims (live restore); with none left the kernel objects go too.
        bool idle = !Containers.AnyRunning;
        await _network.ShutdownAsync(removeBridge: idle, ct);
        if (idle) RemoveCgroupParent();
    }

    private void RemoveCgroupParent()
    {
        foreach (var dir in Directory.Exists("/sys/fs/cgroup") ? Directory.GetDirectories("/sys/fs/cgroup") : [])
        {
            var p = Path.Combine(dir, _options.CgroupParent);
            try { if (Directory.Exists(p)) Directory.Delete(p); }
            catch (IOException) { /* still holds a container's cgroup */ }
        }
    }

    private SystemInfo Info()
    {
        var all = Containers.All.Select(c => c.Record).ToList();
        return new SystemInfo
        {
            ID = _network.DefaultBridge.Id[..12],
            Containers = all.Count,
            ContainersRunning = all.Count(r => r.Status == ContainerStatus.Running),
            ContainersPaused = all.Count(r => r.Status == ContainerStatus.Paused),
            ContainersStopped = all.Count(r => !r.IsRunning),
            Images = _images.List().Count,
            Driver = _snapshotter.Driver,
            DriverStatus = [["Backing Filesystem", "extfs"]],
            DockerRootDir = _options.DataRoot,
            Plugins = new PluginsInfo { Volume = ["local"], Network = ["bridge", "host", "none"], Log = ["json-file"] },
            MemoryLimit = true,
            SwapLimit = Directory.Exists("/sys/fs/cgroup/memory") && File.Exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
            CpuCfsPeriod = true,
            CpuCfsQuota = true,
            CPUShares = true,
            PidsLimit = true,
            IPv4Forwarding = File.Exists("/proc/sys/net/ipv4/ip_forward") && File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim() == "1",
            Debug = _options.Debug,
            NFd = Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : 0,
            NGoroutines = System.Threading.ThreadPool.ThreadCount,
            SystemTime = DateTimeOffset.Now.ToString("o"),
            CgroupDriver = "cgroupfs",
            CgroupVersion = Directory.Exists("/sys/fs/cgroup/memory") ? "1" : "2",
            KernelVersion = SystemRouter.KernelVersion(),
            OperatingSystem = OsName(),
            OSVersion = "",
            Architecture = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64 ? "x86_64" : SystemRouter.Arch(),
            NCPU = Environment.ProcessorCount,
            MemTotal = MemTotal(),
            Name = Environment.MachineName,
            ServerVersion = Http.ApiVersion.ServerVersion,
            Runtimes = new() { ["runc"] = new RuntimeInfo { Path = _options.RuncPath } },
            LiveRestoreEnabled = true,
            InitBinary = "docker-init",
            SecurityOptions = ["name=seccomp,profile=builtin"],
        };
    }

    private static string OsName()
    {
        try
        {
            foreach (var l in File.ReadLines("/etc/os-release"))
                if (l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)) return l[12..].Trim('"');
        }
        catch (IOException) { }
        return "Linux";
    }

    private static long MemTotal()
    {
        try
        {
            foreach (var l in File.ReadLines("/proc/meminfo"))
                if (l.StartsWith("MemTotal:", StringComparison.Ordinal))
                    return long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { }
        return 0;
    }
}
