using System.Text.Json;

namespace Berth.Daemon.Config;

/// <summary>berthd's settings: flags named like dockerd's, and the daemon.json keys that apply.</summary>
public sealed class DaemonOptions
{
    public const string DefaultSocket = "/run/berth/berth.sock";

    public List<string> Hosts { get; set; } = [];
    public string DataRoot { get; set; } = "/var/lib/berth";
    public string ExecRoot { get; set; } = "/run/berth";
    public string? PidFile { get; set; }
    public string LogLevel { get; set; } = "info";
    public string StorageDriver { get; set; } = "overlay2";
    public string BridgeName { get; set; } = "berth0";
    public string Bip { get; set; } = "172.18.0.1/16";
    public string CgroupParent { get; set; } = "berth";
    public string RuncPath { get; set; } = "runc";
    public string? ShimPath { get; set; }
    public string InitPath { get; set; } = "/usr/bin/tini-static";
    public Dictionary<string, string> LogOpts { get; set; } = new();
    public bool Debug { get; set; }
    /// <summary>dockerd's default-address-pools: where subnets of networks created without one come from.</summary>
    public List<Berth.Network.Ipam.AddressPoolSpec> DefaultAddressPools { get; set; } = [];

    public string SocketGroup { get; set; } = "";

    /// <summary>
    /// Berth's own: after an exec, the shim prepares the next one (a waiting process in the container, seen by ps, gone
    /// after 20 s idle), so that execs in a row skip runc's set-up. Never in a container with a pids limit.
    /// </summary>
    public bool ExecGates { get; set; } = true;

    /// <summary>dockerd's insecure-registries: host[:port] or CIDR reached without verified TLS (loopback always is).</summary>
    public List<string> InsecureRegistries { get; set; } = [];

    /// <summary>dockerd's registry-mirrors: mirrors of docker.io tried before it.</summary>
    public List<string> RegistryMirrors { get; set; } = [];

    /// <summary>Applies a daemon.json; flags given on the command line win, as with dockerd.</summary>
    public void ApplyConfigFile(string path, ISet<string> setByFlags)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidOperationException($"{path}: the configuration must be a JSON object");
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (setByFlags.Contains(p.Name)) continue;
            switch (p.Name)
            {
                case "hosts": Hosts = p.Value.EnumerateArray().Select(e => e.GetString()!).ToList(); break;
                case "data-root" or "graph": DataRoot = p.Value.GetString()!; break;
                case "exec-root": ExecRoot = p.Value.GetString()!; break;
                case "pidfile": PidFile = p.Value.GetString(); break;
                case "log-level": LogLevel = p.Value.GetString()!; break;
                case "debug": Debug = p.Value.GetBoolean(); break;
                case "storage-driver": StorageDriver = p.Value.GetString()!; break;
                case "bridge": BridgeName = p.Value.GetString()!; break;
                case "bip": Bip = p.Value.GetString()!; break;
                case "cgroup-parent": CgroupParent = p.Value.GetString()!; break;
                case "init-path": InitPath = p.Value.GetString()!; break;
                case "group": SocketGroup = p.Value.GetString()!; break;
                case "default-address-pools":
                    DefaultAddressPools = p.Value.EnumerateArray().Select(e =>
                    {
                        var spec = new Berth.Network.Ipam.AddressPoolSpec(e.GetProperty("base").GetString() ?? "", e.GetProperty("size").GetInt32());
                        return Berth.Network.Ipam.AddressPoolSpec.ParseFlag($"base={spec.Base},size={spec.Size}");
                    }).ToList();
                    break;
                case "log-opts":
                    foreach (var o in p.Value.EnumerateObject()) LogOpts[o.Name] = o.Value.GetString() ?? "";
                    break;
                case "exec-gates": ExecGates = p.Value.GetBoolean(); break;
                case "insecure-registries": InsecureRegistries = p.Value.EnumerateArray().Select(e => e.GetString()!).ToList(); break;
                case "registry-mirrors": RegistryMirrors = p.Value.EnumerateArray().Select(e => e.GetString()!).ToList(); break;
                case "runtimes" or "default-runtime" or "live-restore" or "log-driver" or "storage-opts":
                    break; // accepted for dockerd compatibility; live-restore is always on
                default:
                    throw new InvalidOperationException($"{path}: unknown configuration key \"{p.Name}\"");
            }
        }
    }
}
