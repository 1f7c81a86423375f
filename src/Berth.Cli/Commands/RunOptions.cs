using System.Globalization;
using Berth.Api;
using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;

namespace Berth.Cli.Commands;

// Turns run/create flags into the create request, as docker's opts/parse.go does.
internal sealed record RunOptions(ContainerCreateRequest Request, string? Name, string? Platform, string? CidFile)
{
    public static RunOptions Parse(ParsedArgs args, Func<string, string?> env, bool detached)
    {
        var image = args.Positionals[0];
        var cmd = args.Positionals.Skip(1).ToList();
        var interactive = args.GetBool("interactive");
        var tty = args.GetBool("tty");

        bool attachStdin, attachStdout, attachStderr;
        var attach = args.GetAll("attach");
        if (attach.Count > 0)
        {
            attachStdin = attachStdout = attachStderr = false;
            foreach (var a in attach)
            {
                switch (a.ToLowerInvariant())
                {
                    case "stdin": attachStdin = true; break;
                    case "stdout": attachStdout = true; break;
                    case "stderr": attachStderr = true; break;
                    default:
                        throw new UsageException($"invalid argument \"{a}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", args.Command);
                }
            }
        }
        else
        {
            attachStdin = interactive && !detached;
            attachStdout = attachStderr = !detached;
        }

        var envList = new List<string>();
        foreach (var file in args.GetAll("env-file"))
        {
            envList.AddRange(ReadKeyValueFile(file, env, args));
        }
        foreach (var e in args.GetAll("env"))
        {
            if (EnvEntry(e, env) is { } entry)
            {
                envList.Add(entry);
            }
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in args.GetAll("label-file"))
        {
            foreach (var l in ReadKeyValueFile(file, _ => null, args, keepBare: true))
            {
                AddKeyValue(labels, l);
            }
        }
        foreach (var l in args.GetAll("label"))
        {
            AddKeyValue(labels, l);
        }
        if (args.Get("health-on-failure") is { } onFailure)
        {
            labels["berth.health-on-failure"] = onFailure; // the daemon validates it (400 on a bad value)
        }

        var binds = new List<string>();
        var volumes = new Dictionary<string, EmptyObject>(StringComparer.Ordinal);
        foreach (var v in args.GetAll("volume"))
        {
            var parts = v.Split(':');
            if (parts.Length == 1 && v.StartsWith('/'))
            {
                volumes[v] = new EmptyObject();
            }
            else if (parts.Length is >= 2 and <= 3 && parts[0].Length > 0 && parts[1].StartsWith('/'))
            {
                binds.Add(v);
            }
            else
            {
                throw new UsageException($"invalid argument \"{v}\" for \"-v, --volume\" flag: invalid spec: {v}", args.Command);
            }
        }

        var tmpfs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in args.GetAll("tmpfs"))
        {
            var colon = t.IndexOf(':');
            tmpfs[colon < 0 ? t : t[..colon]] = colon < 0 ? "" : t[(colon + 1)..];
        }

        var mounts = args.GetAll("mount").Select(m => ParseMount(m, args)).ToList();

        var (exposed, bindings) = ParsePorts(args);

        var logOpts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in args.GetAll("log-opt"))
        {
            AddKeyValue(logOpts, o);
        }

        var sysctls = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in args.GetAll("sysctl"))
        {
            AddKeyValue(sysctls, o);
        }

        // The first --network is the container's NetworkMode; each gets an endpoint (aliases/--ip go to the first).
        var networks = args.GetAll("network");
        var network = networks.Count > 0 ? networks[0] : null;
        NetworkingConfig? networking = null;
        var aliases = args.GetAll("network-alias");
        var ip = args.Get("ip");
        var ip6 = args.Get("ip6");
        if (network is not null && !(network is "none" or "host" or "default" or "bridge" && aliases.Count == 0 && ip is null && ip6 is null && networks.Count == 1))
        {
            var endpoints = new Dictionary<string, EndpointSettings>(StringComparer.Ordinal);
            for (var i = 0; i < networks.Count; i++)
            {
                endpoints[networks[i]] = i == 0
                    ? new EndpointSettings
                    {
                        Aliases = aliases.Count > 0 ? aliases.ToList() : null,
                        IPAMConfig = ip is not null || ip6 is not null ? new EndpointIpamConfig { IPv4Address = ip, IPv6Address = ip6 } : null,
                    }
                    : new EndpointSettings();
            }
            networking = new NetworkingConfig { EndpointsConfig = endpoints };
        }
        else if (network is null && (aliases.Count > 0 || ip is not null))
        {
            throw new ExitException(125, $"{App.Name}: Error response from daemon: network-scoped aliases are only supported for user-defined networks");
        }

        IReadOnlyList<string>? entrypoint = null;
        if (args.IsSet("entrypoint"))
        {
            entrypoint = [args.Get("entrypoint")!];
        }

        var restart = ParseRestart(args.Get("restart"), args);
        var autoRemove = args.GetBool("rm");
        if (autoRemove && restart is { Name: not "no" and not "" })
        {
            throw new ExitException(125, $"{App.Name}: Conflicting options: --restart and --rm");
        }

        long? nanoCpus = null;
        if (args.Get("cpus") is { } cpus)
        {
            if (!decimal.TryParse(cpus, NumberStyles.Float, CultureInfo.InvariantCulture, out var c) || c < 0)
            {
                throw new UsageException($"invalid argument \"{cpus}\" for \"--cpus\" flag: failed to parse {cpus} as a rational number", args.Command);
            }
            nanoCpus = (long)(c * 1_000_000_000m);
        }

        var hostConfig = new HostConfig
        {
            Binds = binds.Count > 0 ? binds : null,
            Mounts = mounts.Count > 0 ? mounts : null,
            Tmpfs = tmpfs.Count > 0 ? tmpfs : null,
            NetworkMode = network ?? "default",
            RestartPolicy = restart,
            AutoRemove = autoRemove,
            Memory = Bytes(args, "memory", 'm') ?? 0,
            MemoryReservation = Bytes(args, "memory-reservation", null) ?? 0,
            MemorySwap = MemorySwap(args),
            MemorySwappiness = args.IsSet("memory-swappiness") ? args.GetInt("memory-swappiness") : null,
            NanoCpus = nanoCpus ?? 0,
            CpuShares = Int(args, "cpu-shares", 'c') ?? 0,
            CpuPeriod = Int(args, "cpu-period", null) ?? 0,
            CpuQuota = Int(args, "cpu-quota", null) ?? 0,
            CpusetCpus = args.Get("cpuset-cpus"),
            CpusetMems = args.Get("cpuset-mems"),
            PidsLimit = Int(args, "pids-limit", null),
            OomKillDisable = args.IsSet("oom-kill-disable") ? args.GetBool("oom-kill-disable") : null,
            OomScoreAdj = (int)(Int(args, "oom-score-adj", null) ?? 0),
            Privileged = args.GetBool("privileged"),
            CapAdd = NullIfEmpty(args.GetAll("cap-add")),
            CapDrop = NullIfEmpty(args.GetAll("cap-drop")),
            ReadonlyRootfs = args.GetBool("read-only"),
            Init = args.IsSet("init") ? args.GetBool("init") : null,
            LogConfig = args.IsSet("log-driver") || logOpts.Count > 0 ? new LogConfig { Type = args.Get("log-driver") ?? "", Config = logOpts } : null,
            Dns = NullIfEmpty(args.GetAll("dns")),
            DnsOptions = NullIfEmpty(args.GetAll("dns-option")),
            DnsSearch = NullIfEmpty(args.GetAll("dns-search")),
            ExtraHosts = NullIfEmpty(args.GetAll("add-host")),
            GroupAdd = NullIfEmpty(args.GetAll("group-add")),
            SecurityOpt = NullIfEmpty(args.GetAll("security-opt")),
            IpcMode = args.Get("ipc"),
            PidMode = args.Get("pid"),
            UTSMode = args.Get("uts"),
            UsernsMode = args.Get("userns"),
            CgroupParent = args.Get("cgroup-parent"),
            CgroupnsMode = args.Get("cgroupns"),
            ShmSize = Bytes(args, "shm-size", null) ?? 0,
            Sysctls = sysctls.Count > 0 ? sysctls : null,
            Ulimits = args.GetAll("ulimit").Count > 0 ? args.GetAll("ulimit").Select(u => ParseUlimit(u, args)).ToList() : null,
            PortBindings = bindings.Count > 0 ? bindings : null,
            PublishAllPorts = args.GetBool("publish-all"),
            VolumeDriver = args.Get("volume-driver"),
            VolumesFrom = NullIfEmpty(args.GetAll("volumes-from")),
            Runtime = args.Get("runtime"),
        };

        int? stopTimeout = null;
        if (args.IsSet("stop-timeout"))
        {
            stopTimeout = args.GetInt("stop-timeout");
        }

        var request = new ContainerCreateRequest
        {
            Image = image,
            Cmd = cmd.Count > 0 ? cmd : null,
            Entrypoint = entrypoint,
            Env = envList.Count > 0 ? envList : null,
            Labels = labels,
            Hostname = args.Get("hostname") ?? "",
            Domainname = args.Get("domainname") ?? "",
            User = args.Get("user") ?? "",
            WorkingDir = args.Get("workdir") ?? "",
            Tty = tty,
            OpenStdin = interactive,
            StdinOnce = interactive && attachStdin && !detached,
            AttachStdin = attachStdin,
            AttachStdout = attachStdout,
            AttachStderr = attachStderr,
            Volumes = volumes.Count > 0 ? volumes : null,
            ExposedPorts = exposed.Count > 0 ? exposed : null,
            StopSignal = args.Get("stop-signal"),
            StopTimeout = stopTimeout,
            Healthcheck = ParseHealthcheck(args),
            MacAddress = args.Get("mac-address"),
            HostConfig = hostConfig,
            NetworkingConfig = networking,
        };
        return new RunOptions(request, args.Get("name"), args.Get("platform"), args.Get("cidfile"));
    }

    // docker's opts/parse.go: --no-healthcheck is Test ["NONE"]; any --health-* builds a config (CMD-SHELL for --health-cmd).
    private static HealthConfig? ParseHealthcheck(ParsedArgs args)
    {
        long Duration(string flag)
        {
            if (args.Get(flag) is not { } v)
            {
                return 0;
            }
            var negative = v.StartsWith('-');
            var text = negative ? v[1..] : v;
            long ticks = 0;
            if (text != "0")
            {
                if (!Units.TryParseGoDuration(text, out var d))
                {
                    throw new UsageException($"invalid argument \"{v}\" for \"--{flag}\" flag: time: invalid duration \"{v}\"", args.Command);
                }
                ticks = d.Ticks;
            }
            if (negative && ticks != 0)
            {
                throw new ExitException(125, $"{App.Name}: --{flag} cannot be negative");
            }
            return ticks * 100;
        }
        var cmd = args.Get("health-cmd") ?? "";
        var interval = Duration("health-interval");
        var timeout = Duration("health-timeout");
        var startPeriod = Duration("health-start-period");
        var startInterval = Duration("health-start-interval");
        var retries = args.GetInt("health-retries") ?? 0;
        var any = cmd.Length > 0 || interval != 0 || timeout != 0 || startPeriod != 0 || startInterval != 0 || retries != 0;
        if (args.GetBool("no-healthcheck"))
        {
            if (any)
            {
                throw new ExitException(125, $"{App.Name}: --no-healthcheck conflicts with --health-* options");
            }
            return new HealthConfig { Test = ["NONE"] };
        }
        if (!any)
        {
            return null;
        }
        if (retries < 0)
        {
            throw new ExitException(125, $"{App.Name}: --health-retries cannot be negative");
        }
        return new HealthConfig
        {
            Test = cmd.Length > 0 ? ["CMD-SHELL", cmd] : null,
            Interval = interval,
            Timeout = timeout,
            Retries = retries,
            StartPeriod = startPeriod,
            StartInterval = startInterval,
        };
    }

    private static List<string>? NullIfEmpty(IReadOnlyList<string> list) => list.Count > 0 ? list.ToList() : null;

    // "-e K=V" as is; "-e K" takes K from our environment, or is dropped when unset (docker's behaviour).
    internal static string? EnvEntry(string e, Func<string, string?> env)
    {
        if (e.Contains('='))
        {
            if (e.StartsWith('='))
            {
                throw new ExitException(125, $"invalid argument \"{e}\" for \"-e, --env\" flag: invalid environment variable: {e}");
            }
            return e;
        }
        return env(e) is { } value ? $"{e}={value}" : null;
    }

    internal static IEnumerable<string> ReadKeyValueFile(string path, Func<string, string?> env, ParsedArgs args, bool keepBare = false)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (IOException e)
        {
            throw new ExitException(125, $"{App.Name}: {e.Message}\n\nRun '{App.Name} {args.Command.Path} --help' for more information");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ExitException(125, $"{App.Name}: {e.Message}\n\nRun '{App.Name} {args.Command.Path} --help' for more information");
        }
        foreach (var raw in lines)
        {
            var line = raw.TrimStart();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            if (keepBare)
            {
                yield return line;
            }
            else if (EnvEntry(line, env) is { } entry)
            {
                yield return entry;
            }
        }
    }

    private static void AddKeyValue(Dictionary<string, string> map, string kv)
    {
        var eq = kv.IndexOf('=');
        if (eq < 0)
        {
            map[kv] = "";
        }
        else
        {
            map[kv[..eq]] = kv[(eq + 1)..];
        }
    }

    /// <summary><c>--memory-swap</c> for run, update and build: a size, or -1 for unlimited swap; 0 when unset.</summary>
    internal static long MemorySwap(ParsedArgs args) => args.Get("memory-swap") == "-1" ? -1 : Bytes(args, "memory-swap", null) ?? 0;

    // docker's size and integer flags, with its error texts (update uses them too).
    internal static long? Bytes(ParsedArgs args, string name, char? shortName)
    {
        var v = args.Get(name);
        if (v is null || v.Length == 0)
        {
            return null;
        }
        if (!Units.TryParseRamInBytes(v, out var bytes, out var error))
        {
            var display = shortName is { } s ? $"-{s}, --{name}" : $"--{name}";
            throw new UsageException($"invalid argument \"{v}\" for \"{display}\" flag: {error}", args.Command);
        }
        return bytes;
    }

    internal static long? Int(ParsedArgs args, string name, char? shortName)
    {
        var v = args.Get(name);
        if (v is null)
        {
            return null;
        }
        if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
        {
            var display = shortName is { } s ? $"-{s}, --{name}" : $"--{name}";
            throw new UsageException($"invalid argument \"{v}\" for \"{display}\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax", args.Command);
        }
        return i;
    }

    internal static RestartPolicy? ParseRestart(string? value, ParsedArgs args)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        var colon = value.IndexOf(':');
        var name = colon < 0 ? value : value[..colon];
        var count = 0;
        if (colon >= 0 && !int.TryParse(value.AsSpan(colon + 1), CultureInfo.InvariantCulture, out count))
        {
            throw new UsageException($"invalid argument \"{value}\" for \"--restart\" flag: invalid restart policy format: maximum retry count must be an integer", args.Command);
        }
        if (name is not ("no" or "always" or "unless-stopped" or "on-failure"))
        {
            throw new UsageException($"invalid argument \"{value}\" for \"--restart\" flag: invalid restart policy format: unknown policy '{name}'", args.Command);
        }
        return new RestartPolicy { Name = name, MaximumRetryCount = count };
    }

    // --mount type=bind,source=/a,target=/b,readonly (docker's opts.MountOpt, CSV fields).
    internal static MountSpec ParseMount(string value, ParsedArgs args)
    {
        string? type = "volume", source = null, target = null;
        var readOnly = false;
        string? propagation = null;
        long tmpfsSize = 0;
        var tmpfsMode = 0;
        var noCopy = false;
        var volumeLabels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in value.Split(','))
        {
            var eq = field.IndexOf('=');
            var key = (eq < 0 ? field : field[..eq]).Trim().ToLowerInvariant();
            var val = eq < 0 ? null : field[(eq + 1)..];
            switch (key)
            {
                case "type": type = val; break;
                case "source" or "src": source = val; break;
                case "target" or "destination" or "dst": target = val; break;
                case "readonly" or "ro":
                    readOnly = val is null || val is "1" or "true";
                    break;
                case "bind-propagation": propagation = val; break;
                case "tmpfs-size":
                    if (val is null || !Units.TryParseRamInBytes(val, out tmpfsSize))
                    {
                        throw new UsageException($"invalid argument \"{value}\" for \"--mount\" flag: invalid value for {key}: {val}", args.Command);
                    }
                    break;
                case "tmpfs-mode":
                    tmpfsMode = Convert.ToInt32(val ?? "0", 8);
                    break;
                case "volume-nocopy": noCopy = val is null || val is "1" or "true"; break;
                case "volume-label":
                    if (val is not null)
                    {
                        AddKeyValue(volumeLabels, val);
                    }
                    break;
                case "consistency" or "volume-driver" or "volume-opt" or "bind-recursive": break;
                default:
                    throw new UsageException($"invalid argument \"{value}\" for \"--mount\" flag: unexpected key '{key}' in '{field}'", args.Command);
            }
        }
        if (target is null)
        {
            throw new UsageException($"invalid argument \"{value}\" for \"--mount\" flag: target is required", args.Command);
        }
        return new MountSpec
        {
            Type = type,
            Source = source,
            Target = target,
            ReadOnly = readOnly,
            BindOptions = type == "bind" && propagation is not null ? new BindOptions { Propagation = propagation } : null,
            TmpfsOptions = type == "tmpfs" && (tmpfsSize > 0 || tmpfsMode > 0) ? new TmpfsOptions { SizeBytes = tmpfsSize, Mode = tmpfsMode } : null,
            VolumeOptions = type == "volume" && (noCopy || volumeLabels.Count > 0) ? new VolumeOptions { NoCopy = noCopy, Labels = volumeLabels.Count > 0 ? volumeLabels : null } : null,
        };
    }

    internal static Ulimit ParseUlimit(string value, ParsedArgs args)
    {
        var eq = value.IndexOf('=');
        var limits = eq < 0 ? [] : value[(eq + 1)..].Split(':');
        if (eq <= 0 || limits.Length is < 1 or > 2 || !long.TryParse(limits[0], CultureInfo.InvariantCulture, out var soft))
        {
            throw new UsageException($"invalid argument \"{value}\" for \"--ulimit\" flag: invalid ulimit argument: {value}", args.Command);
        }
        var hard = soft;
        if (limits.Length == 2 && !long.TryParse(limits[1], CultureInfo.InvariantCulture, out hard))
        {
            throw new UsageException($"invalid argument \"{value}\" for \"--ulimit\" flag: invalid ulimit argument: {value}", args.Command);
        }
        return new Ulimit { Name = value[..eq], Soft = soft, Hard = hard };
    }

    // -p [ip:][hostPort:]containerPort[/proto] and --expose port[/proto], ranges included (PortSpecs).
    private static (Dictionary<string, EmptyObject> Exposed, Dictionary<string, IReadOnlyList<PortBinding>?> Bindings) ParsePorts(ParsedArgs args)
    {
        var exposed = new Dictionary<string, EmptyObject>(StringComparer.Ordinal);
        var bindings = new Dictionary<string, IReadOnlyList<PortBinding>?>(StringComparer.Ordinal);
        try
        {
            foreach (var e in args.GetAll("expose"))
            {
                foreach (var key in PortSpecs.ParseExpose(e)) exposed[key] = new EmptyObject();
            }
            foreach (var p in args.GetAll("publish"))
            {
                foreach (var (key, binding) in PortSpecs.Parse(p))
                {
                    exposed[key] = new EmptyObject();
                    var list = bindings.TryGetValue(key, out var existing) && existing is not null ? existing.ToList() : [];
                    list.Add(binding);
                    bindings[key] = list;
                }
            }
        }
        catch (FormatException e)
        {
            throw new UsageException(e.Message, args.Command);
        }
        return (exposed, bindings);
    }
}
