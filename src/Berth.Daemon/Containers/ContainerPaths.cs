namespace Berth.Daemon.Containers;

/// <summary>Where a container's files live: persistent ones under the data-root, runtime ones under the exec-root.</summary>
internal sealed class ContainerPaths(string dataRoot, string execRoot)
{
    public string ContainersDir { get; } = Path.Combine(dataRoot, "containers");
    public string RuncRoot { get; } = Path.Combine(execRoot, "runc");
    public string Dir(string id) => Path.Combine(ContainersDir, id);
    public string RecordFile(string id) => Path.Combine(Dir(id), "container.json");
    public string Bundle(string id) => Path.Combine(Dir(id), "bundle");
    public string Rootfs(string id) => Path.Combine(Bundle(id), "rootfs");
    public string LogFile(string id) => Path.Combine(Dir(id), id + "-json.log");
    public string HostnameFile(string id) => Path.Combine(Dir(id), "hostname");
    public string HostsFile(string id) => Path.Combine(Dir(id), "hosts");
    public string ResolvConfFile(string id) => Path.Combine(Dir(id), "resolv.conf");

    // Socket paths must fit sun_path (108 bytes): the short ID keeps them short.
    public string ShimSocket(string id) => Path.Combine(execRoot, "s", id[..12] + ".sock");
    public string ShimStateDir(string id) => Path.Combine(execRoot, "shim", id);
}
