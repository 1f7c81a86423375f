using System.CommandLine;

namespace Berth.Daemon.Config;

/// <summary>Parses berthd's flags (dockerd's names) into <see cref="DaemonOptions"/>.</summary>
internal static class DaemonCommandLine
{
    public static int Parse(string[] args, out DaemonOptions options)
    {
        var host = new Option<string[]>("--host", "-H") { Description = "Daemon socket(s) to connect to (unix:///path)", AllowMultipleArgumentsPerToken = false };
        var dataRoot = new Option<string>("--data-root") { Description = "Root directory of persistent state" };
        var execRoot = new Option<string>("--exec-root") { Description = "Root directory for execution state files" };
        var pidFile = new Option<string>("--pidfile", "-p") { Description = "Path to use for daemon PID file" };
        var logLevel = new Option<string>("--log-level", "-l") { Description = "Set the logging level (debug, info, warn, error, fatal)" };
        var config = new Option<string>("--config-file") { Description = "Daemon configuration file (daemon.json)" };
        var storage = new Option<string>("--storage-driver", "-s") { Description = "Storage driver to use (overlay2, vfs)" };
        var bridge = new Option<string>("--bridge", "-b") { Description = "Attach containers to a network bridge" };
        var bip = new Option<string>("--bip") { Description = "Network bridge IP (gateway address/prefix)" };
        var cgroupParent = new Option<string>("--cgroup-parent") { Description = "Set parent cgroup for all containers" };
        var runc = new Option<string>("--runc") { Description = "Path to the runc binary" };
        var shim = new Option<string>("--shim") { Description = "Path to the berth-shim binary" };
        var initPath = new Option<string>("--init-path") { Description = "Path to the static init binary for --init" };
        var logOpt = new Option<string[]>("--log-opt") { Description = "Default log driver options for containers" };
        var group = new Option<string>("--group", "-G") { Description = "Group for the unix socket" };
        var debug = new Option<bool>("--debug", "-D") { Description = "Enable debug mode" };
        var addressPool = new Option<string[]>("--default-address-pool") { Description = "Default address pools for node specific local networks (base=CIDR,size=N)" };
        var insecure = new Option<string[]>("--insecure-registry") { Description = "Enable insecure registry communication (host[:port] or CIDR)" };
        var mirror = new Option<string[]>("--registry-mirror") { Description = "Preferred registry mirror for docker.io" };
        var execGates = new Option<bool>("--exec-gates") { Description = "Prepare the next exec in a waiting process after each exec (default true; never under a pids limit)", DefaultValueFactory = _ => true };

        var root = new RootCommand("berthd: the Berth container engine daemon")
        {
            host, dataRoot, execRoot, pidFile, logLevel, config, storage, bridge, bip, cgroupParent, runc, shim, initPath, logOpt, group, debug, addressPool, insecure, mirror, execGates,
        };
        var result = root.Parse(args);
        options = new DaemonOptions();
        if (result.Errors.Count > 0 || args.Any(a => a is "--help" or "-h" or "-?" or "--version"))
        {
            return result.Invoke();
        }

        var set = new HashSet<string>();
        var o = options;
        void Take<T>(Option<T> opt, string key, Action<T> apply)
        {
            if (result.GetResult(opt) is { Implicit: false })
            {
                apply(result.GetValue(opt)!);
                set.Add(key);
            }
        }
        Take(host, "hosts", v => o.Hosts = [.. v]);
        Take(dataRoot, "data-root", v => o.DataRoot = v);
        Take(execRoot, "exec-root", v => o.ExecRoot = v);
        Take(pidFile, "pidfile", v => o.PidFile = v);
        Take(logLevel, "log-level", v => o.LogLevel = v);
        Take(storage, "storage-driver", v => o.StorageDriver = v);
        Take(bridge, "bridge", v => o.BridgeName = v);
        Take(bip, "bip", v => o.Bip = v);
        Take(cgroupParent, "cgroup-parent", v => o.CgroupParent = v);
        Take(runc, "runc", v => o.RuncPath = v);
        Take(shim, "shim", v => o.ShimPath = v);
        Take(initPath, "init-path", v => o.InitPath = v);
        Take(group, "group", v => o.SocketGroup = v);
        Take(debug, "debug", v => o.Debug = v);
        Take(addressPool, "default-address-pools", v => o.DefaultAddressPools = v.Select(Berth.Network.Ipam.AddressPoolSpec.ParseFlag).ToList());
        Take(insecure, "insecure-registries", v => o.InsecureRegistries = [.. v]);
        Take(mirror, "registry-mirrors", v => o.RegistryMirrors = [.. v]);
        Take(execGates, "exec-gates", v => o.ExecGates = v);
        Take(logOpt, "log-opts", v =>
        {
            foreach (var kv in v)
            {
                int eq = kv.IndexOf('=');
                if (eq <= 0) throw new InvalidOperationException($"invalid --log-opt \"{kv}\": expected key=value");
                o.LogOpts[kv[..eq]] = kv[(eq + 1)..];
            }
        });
        if (result.GetValue(config) is { } cfg)
            options.ApplyConfigFile(cfg, set);
        if (options.Debug) options.LogLevel = "debug";
        if (options.Hosts.Count == 0) options.Hosts.Add("unix://" + Path.Combine(options.ExecRoot, "berth.sock"));
        return -1;
    }
}
