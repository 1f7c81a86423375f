using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Api;
using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;
using Berth.Cli.Templates;
using Berth.Client;

namespace Berth.Cli.Commands;

// docker stats / pause / unpause / update.
internal static class StatsCommands
{
    private const string DefaultFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

    public static readonly JsonObject Headers = new()
    {
        ["BlockIO"] = "BLOCK I/O", ["CPUPerc"] = "CPU %", ["Container"] = "CONTAINER", ["ID"] = "CONTAINER ID", ["MemPerc"] = "MEM %",
        ["MemUsage"] = "MEM USAGE / LIMIT", ["Name"] = "NAME", ["NetIO"] = "NET I/O", ["PIDs"] = "PIDS",
    };

    public static Task<int> PauseAsync(CliContext ctx, ParsedArgs args) =>
        Support.ForEachAsync(ctx, args.Positionals, id => ctx.Client.ContainerPauseAsync(id));

    public static Task<int> UnpauseAsync(CliContext ctx, ParsedArgs args) =>
        Support.ForEachAsync(ctx, args.Positionals, id => ctx.Client.ContainerUnpauseAsync(id));

    public static async Task<int> UpdateAsync(CliContext ctx, ParsedArgs args)
    {
        string[] resourceFlags = ["blkio-weight", "cpu-period", "cpu-quota", "cpu-rt-period", "cpu-rt-runtime", "cpu-shares", "cpus", "cpuset-cpus",
            "cpuset-mems", "memory", "memory-reservation", "memory-swap", "kernel-memory", "pids-limit", "restart"];
        if (!resourceFlags.Any(args.IsSet))
        {
            throw new ExitException(1, "you must provide one or more flags when using this command");
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
        var pids = RunOptions.Int(args, "pids-limit", null);
        var update = new ContainerUpdateRequest
        {
            BlkioWeight = RunOptions.Int(args, "blkio-weight", null) ?? 0,
            CpuPeriod = RunOptions.Int(args, "cpu-period", null) ?? 0,
            CpuQuota = RunOptions.Int(args, "cpu-quota", null) ?? 0,
            CpuRealtimePeriod = RunOptions.Int(args, "cpu-rt-period", null) ?? 0,
            CpuRealtimeRuntime = RunOptions.Int(args, "cpu-rt-runtime", null) ?? 0,
            CpuShares = RunOptions.Int(args, "cpu-shares", 'c') ?? 0,
            NanoCpus = nanoCpus ?? 0,
            CpusetCpus = args.Get("cpuset-cpus") ?? "",
            CpusetMems = args.Get("cpuset-mems") ?? "",
            Memory = RunOptions.Bytes(args, "memory", 'm') ?? 0,
            MemoryReservation = RunOptions.Bytes(args, "memory-reservation", null) ?? 0,
            MemorySwap = RunOptions.MemorySwap(args),
            KernelMemory = RunOptions.Bytes(args, "kernel-memory", null) ?? 0,
            // Like docker: --pids-limit 0 sends nothing (no change).
            PidsLimit = pids is { } p && p != 0 ? p : null,
            RestartPolicy = RunOptions.ParseRestart(args.Get("restart"), args) ?? new RestartPolicy { Name = "" },
        };
        var warnings = new List<string>();
        var code = await Support.ForEachAsync(ctx, args.Positionals, async id =>
        {
            var r = await ctx.Client.ContainerUpdateAsync(id, update).ConfigureAwait(false);
            warnings.AddRange(r.Warnings);
        }).ConfigureAwait(false);
        if (warnings.Count > 0)
        {
            ctx.Err.WriteLine(string.Join('\n', warnings));
        }
        return code;
    }

    public static async Task<int> StatsAsync(CliContext ctx, ParsedArgs args)
    {
        var noStream = args.GetBool("no-stream");
        var trunc = !args.GetBool("no-trunc");
        var format = args.Get("format");
        if (string.IsNullOrEmpty(format) || format == "table")
        {
            format = DefaultFormat;
        }
        var named = args.Positionals.Count > 0;

        if (noStream)
        {
            var targets = named ? args.Positionals.ToList() : await ListAsync(ctx, args.GetBool("all")).ConfigureAwait(false);
            var rows = new List<JsonNode?>();
            var errors = new List<string>();
            foreach (var target in targets)
            {
                try
                {
                    rows.Add(Row(target, await OneSampleAsync(ctx, target).ConfigureAwait(false), trunc));
                }
                catch (DockerApiException e)
                {
                    errors.Add($"Error response from daemon: {e.Message}");
                }
            }
            if (errors.Count > 0)
            {
                throw new ExitException(1, string.Join('\n', errors));
            }
            Support.WriteFormatted(ctx, format, rows, Headers);
            return 0;
        }

        // Streaming: one reader per container keeps its latest sample; the screen is redrawn every second.
        using var cts = new CancellationTokenSource();
        var latest = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var readers = new Dictionary<string, Task>(StringComparer.Ordinal);
        try
        {
            while (true)
            {
                var targets = named ? args.Positionals.ToList() : await ListAsync(ctx, args.GetBool("all")).ConfigureAwait(false);
                foreach (var target in targets.Where(t => !readers.ContainsKey(t)))
                {
                    lock (latest) latest[target] = null;
                    readers[target] = ReadStreamAsync(ctx, target, trunc, latest, cts.Token);
                }
                if (named && readers.Values.All(t => t.IsCompleted) && readers.Values.Any(t => t.IsFaulted))
                {
                    var e = readers.Values.First(t => t.IsFaulted).Exception!.InnerException!;
                    throw new ExitException(1, e is DockerApiException d ? $"Error response from daemon: {d.Message}" : e.Message);
                }
                List<JsonNode?> rows;
                lock (latest) rows = targets.Where(latest.ContainsKey).Select(t => (JsonNode?)(latest[t] ?? Row(t, null, trunc))).ToList();
                ctx.Out.Write("\u001b[2J\u001b[H");
                Support.WriteFormatted(ctx, format, rows, Headers);
                await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
        }
        finally
        {
            await cts.CancelAsync().ConfigureAwait(false);
        }
    }

    private static async Task<List<string>> ListAsync(CliContext ctx, bool all)
    {
        var list = await ctx.Client.ContainerListAsync(new ContainerListOptions { All = all }).ConfigureAwait(false);
        return list.Items.Select(i => i?["Id"]?.GetValue<string>()).OfType<string>().ToList();
    }

    private static async Task<ContainerStatsResponse?> OneSampleAsync(CliContext ctx, string target)
    {
        var r = await ctx.Client.ContainerStatsAsync(target, new ContainerStatsOptions { Stream = false }).ConfigureAwait(false);
        await using var body = r.Body;
        using var reader = new StreamReader(body);
        var line = await reader.ReadLineAsync().ConfigureAwait(false);
        return string.IsNullOrWhiteSpace(line) ? null : JsonSerializer.Deserialize(line, ApiJsonContext.Default.ContainerStatsResponse);
    }

    private static async Task ReadStreamAsync(CliContext ctx, string target, bool trunc, Dictionary<string, JsonNode?> latest, CancellationToken ct)
    {
        var r = await ctx.Client.ContainerStatsAsync(target, new ContainerStatsOptions { Stream = true }, ct).ConfigureAwait(false);
        await using var body = r.Body;
        using var reader = new StreamReader(body);
        try
        {
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }
                var sample = JsonSerializer.Deserialize(line, ApiJsonContext.Default.ContainerStatsResponse);
                lock (latest) latest[target] = Row(target, sample, trunc);
            }
        }
        catch (OperationCanceledException)
        {
        }
        // The stream ended (the container stopped): docker shows dashes from then on.
        lock (latest) latest[target] = Row(target, null, trunc);
    }

    /// <summary>docker's StatsEntry and its formatter: the CLI computes CPU %, memory without cache, and I/O sums.</summary>
    internal static JsonObject Row(string container, ContainerStatsResponse? s, bool trunc)
    {
        if (s is null)
        {
            return new JsonObject
            {
                ["BlockIO"] = "--", ["CPUPerc"] = "--", ["Container"] = container, ["ID"] = trunc ? Rows.TruncateId(container) : container,
                ["MemPerc"] = "--", ["MemUsage"] = "-- / --", ["Name"] = "--", ["NetIO"] = "--", ["PIDs"] = "--",
            };
        }
        var cpu = CpuPercent(s);
        var mem = MemoryUsageNoCache(s.MemoryStats);
        double limit = s.MemoryStats.Limit;
        var memPercent = limit != 0 ? mem / limit * 100.0 : 0;
        ulong blkRead = 0, blkWrite = 0;
        foreach (var e in s.BlkioStats.IoServiceBytesRecursive ?? [])
        {
            if (e.Op.Length == 0)
            {
                continue;
            }
            switch (e.Op[0])
            {
                case 'r' or 'R':
                    blkRead += e.Value;
                    break;
                case 'w' or 'W':
                    blkWrite += e.Value;
                    break;
            }
        }
        double rx = 0, tx = 0;
        foreach (var n in (s.Networks ?? []).Values)
        {
            rx += n.RxBytes;
            tx += n.TxBytes;
        }
        return new JsonObject
        {
            ["BlockIO"] = $"{Units.HumanSize(blkRead)} / {Units.HumanSize(blkWrite)}",
            ["CPUPerc"] = Percent(cpu),
            ["Container"] = container,
            ["ID"] = trunc ? Rows.TruncateId(s.Id) : s.Id,
            ["MemPerc"] = Percent(memPercent),
            ["MemUsage"] = $"{Units.BytesSize(mem)} / {Units.BytesSize(limit)}",
            ["Name"] = s.Name.Length > 1 ? s.Name[1..] : "--",
            ["NetIO"] = $"{Units.HumanSize(rx)} / {Units.HumanSize(tx)}",
            ["PIDs"] = s.PidsStats.Current.ToString(CultureInfo.InvariantCulture),
        };
    }

    private static string Percent(double v) => v.ToString("F2", CultureInfo.InvariantCulture) + "%";

    internal static double CpuPercent(ContainerStatsResponse s)
    {
        double cpuDelta = (double)s.CpuStats.CpuUsage.TotalUsage - s.PreCpuStats.CpuUsage.TotalUsage;
        double systemDelta = (double)s.CpuStats.SystemCpuUsage - s.PreCpuStats.SystemCpuUsage;
        double online = s.CpuStats.OnlineCpus;
        if (online == 0)
        {
            online = s.CpuStats.CpuUsage.PercpuUsage?.Count ?? 0;
        }
        return systemDelta > 0 && cpuDelta > 0 ? cpuDelta / systemDelta * online * 100.0 : 0;
    }

    // cgroup v1 subtracts total_inactive_file, v2 inactive_file, as docker's CLI does.
    internal static double MemoryUsageNoCache(ContainerMemoryStats m)
    {
        var stats = m.Stats ?? [];
        if (stats.TryGetValue("total_inactive_file", out var v1) && v1 < m.Usage)
        {
            return m.Usage - v1;
        }
        if (stats.TryGetValue("inactive_file", out var v2) && v2 < m.Usage)
        {
            return m.Usage - v2;
        }
        return m.Usage;
    }
}
