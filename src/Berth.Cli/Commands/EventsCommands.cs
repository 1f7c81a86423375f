using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;
using Berth.Cli.Templates;
using Berth.Client;

namespace Berth.Cli.Commands;

// berth events, system df, system prune and port, with docker's output.
internal static class EventsCommands
{
    // ---- events ----

    public static async Task<int> EventsAsync(CliContext ctx, ParsedArgs args)
    {
        var now = ctx.Time.GetUtcNow();
        var format = args.Get("format");
        GoTemplate? template = null;
        if (!string.IsNullOrEmpty(format))
        {
            template = GoTemplate.Parse(OutputFormat.IsJson(format) ? "{{json .}}" : format);
        }
        var options = new SystemEventsOptions
        {
            Since = args.Get("since") is { Length: > 0 } s ? Units.ToApiTimestamp(s, now) : null,
            Until = args.Get("until") is { Length: > 0 } u ? Units.ToApiTimestamp(u, now) : null,
            Filters = Support.ParseFilters(args),
        };
        await foreach (var e in ctx.Client.SystemEventsAsync(options).ConfigureAwait(false))
        {
            ctx.Out.Write(template is null ? PrettyEvent(e) : template.Execute(e) + "\n");
        }
        return 0;
    }

    // docker's default line: local time with nanoseconds, type, action, actor ID, then the attributes sorted by key.
    internal static string PrettyEvent(JsonObject e)
    {
        var sb = new StringBuilder();
        long nano = Long(e["timeNano"]);
        long secs = Long(e["time"]);
        if (nano != 0 || secs != 0)
        {
            if (nano == 0)
            {
                nano = secs * 1_000_000_000;
            }
            sb.Append(FormatTime(nano)).Append(' ');
        }
        var actor = e["Actor"] as JsonObject;
        sb.Append(Str(e["Type"])).Append(' ').Append(Str(e["Action"])).Append(' ').Append(Str(actor?["ID"]));
        if (actor?["Attributes"] is JsonObject attrs && attrs.Count > 0)
        {
            sb.Append(" (");
            sb.Append(string.Join(", ", attrs.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={Str(p.Value)}")));
            sb.Append(')');
        }
        return sb.Append('\n').ToString();
    }

    // Go's "2006-01-02T15:04:05.000000000Z07:00" in the local zone.
    internal static string FormatTime(long unixNano, TimeZoneInfo? zone = null)
    {
        var utc = DateTimeOffset.UnixEpoch.AddTicks(unixNano / 100);
        var local = TimeZoneInfo.ConvertTime(utc, zone ?? TimeZoneInfo.Local);
        var offset = local.Offset;
        var zoneText = offset == TimeSpan.Zero ? "Z" : (offset < TimeSpan.Zero ? "-" : "+") + offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture);
        var fraction = (unixNano % 1_000_000_000 + 1_000_000_000) % 1_000_000_000;
        return local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + "." + fraction.ToString("D9", CultureInfo.InvariantCulture) + zoneText;
    }

    // ---- system df ----

    private const string DfFormat = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
    private const string DfImageFormat = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
    private const string DfContainerFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
    private const string DfVolumeFormat = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
    private const string DfCacheFormat = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";

    private static readonly JsonObject DfHeaders = new()
    {
        ["Active"] = "ACTIVE", ["Reclaimable"] = "RECLAIMABLE", ["Size"] = "SIZE", ["TotalCount"] = "TOTAL", ["Type"] = "TYPE",
    };

    private static readonly JsonObject CacheHeaders = new()
    {
        ["CacheType"] = "CACHE TYPE", ["CreatedSince"] = "CREATED", ["ID"] = "CACHE ID", ["LastUsedSince"] = "LAST USED", ["Shared"] = "SHARED",
        ["Size"] = "SIZE", ["UsageCount"] = "USAGE",
    };

    public static async Task<int> DiskUsageAsync(CliContext ctx, ParsedArgs args)
    {
        var du = (await ctx.Client.SystemDiskUsageAsync().ConfigureAwait(false)).Raw;
        var now = ctx.Time.GetUtcNow();
        var images = (du["Images"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var containers = (du["Containers"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var volumes = (du["Volumes"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var cache = (du["BuildCache"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var format = args.Get("format");
        if (args.GetBool("verbose") && format is null)
        {
            var sb = new StringBuilder();
            sb.Append("Images space usage:\n\n");
            sb.Append(OutputFormat.Render(DfImageFormat, images.SelectMany(i => Rows.Images(i, trunc: true, digests: false, now)), Rows.ImageHeaders));
            sb.Append("\nContainers space usage:\n\n");
            sb.Append(OutputFormat.Render(DfContainerFormat, containers.Select(c => DfContainerRow(c, now)), Rows.ContainerHeaders));
            sb.Append("\nLocal Volumes space usage:\n\n");
            sb.Append(OutputFormat.Render(DfVolumeFormat, volumes.Select(v => Rows.Volume(v)), Rows.VolumeHeaders));
            sb.Append("\nBuild cache usage: ").Append(Units.HumanSize(cache.Sum(c => Long(c["Size"])), 4)).Append("\n\n");
            sb.Append(OutputFormat.Render(DfCacheFormat, cache.Select(c => CacheRow(c, now)), CacheHeaders));
            ctx.Out.Write(sb.ToString());
            return 0;
        }
        var rows = new List<JsonNode?>
        {
            ImagesRow(Long(du["LayersSize"]), images),
            ContainersRow(containers),
            VolumesRow(volumes),
            CacheSummaryRow(cache),
        };
        ctx.Out.Write(OutputFormat.Render(format ?? DfFormat, rows, DfHeaders));
        return 0;
    }

    // go-units HumanSize (precision 4), and the share of the total in whole percent when there is a total.
    private static string Reclaimable(long reclaimable, long total) =>
        total > 0 ? $"{Units.HumanSize(reclaimable, 4)} ({reclaimable * 100 / total}%)" : Units.HumanSize(reclaimable, 4);

    private static JsonObject DfRow(string type, int total, int active, long size, string reclaimable) => new()
    {
        ["Active"] = active.ToString(CultureInfo.InvariantCulture),
        ["Reclaimable"] = reclaimable,
        ["Size"] = Units.HumanSize(size, 4),
        ["TotalCount"] = total.ToString(CultureInfo.InvariantCulture),
        ["Type"] = type,
    };

    internal static JsonObject ImagesRow(long layersSize, List<JsonObject> images)
    {
        long used = 0;
        foreach (var i in images.Where(i => Long(i["Containers"]) != 0))
        {
            if (Long(i["Size"]) == -1 || Long(i["SharedSize"]) == -1)
            {
                continue;
            }
            used += Long(i["Size"]) - Long(i["SharedSize"]);
        }
        return DfRow("Images", images.Count, images.Count(i => Long(i["Containers"]) > 0), layersSize, Reclaimable(layersSize - used, layersSize));
    }

    private static bool IsActive(JsonObject c)
    {
        var state = Str(c["State"]);
        return state.Contains("running", StringComparison.Ordinal) || state.Contains("paused", StringComparison.Ordinal) || state.Contains("restarting", StringComparison.Ordinal);
    }

    internal static JsonObject ContainersRow(List<JsonObject> containers)
    {
        long size = containers.Sum(c => Long(c["SizeRw"]));
        long reclaimable = containers.Where(c => !IsActive(c)).Sum(c => Long(c["SizeRw"]));
        return DfRow("Containers", containers.Count, containers.Count(IsActive), size, Reclaimable(reclaimable, size));
    }

    internal static JsonObject VolumesRow(List<JsonObject> volumes)
    {
        long size = 0, reclaimable = 0;
        int active = 0;
        foreach (var v in volumes)
        {
            var usage = v["UsageData"] as JsonObject;
            var s = Long(usage?["Size"]);
            var refs = Long(usage?["RefCount"]);
            if (refs > 0)
            {
                active++;
            }
            if (s == -1)
            {
                continue;
            }
            size += s;
            if (refs == 0)
            {
                reclaimable += s;
            }
        }
        return DfRow("Local Volumes", volumes.Count, active, size, Reclaimable(reclaimable, size));
    }

    private static JsonObject CacheSummaryRow(List<JsonObject> cache)
    {
        long size = cache.Where(c => !Bool(c["Shared"])).Sum(c => Long(c["Size"]));
        long reclaimable = cache.Where(c => !Bool(c["Shared"]) && !Bool(c["InUse"])).Sum(c => Long(c["Size"]));
        return DfRow("Build Cache", cache.Count, cache.Count(c => Bool(c["InUse"])), size, Units.HumanSize(reclaimable, 4));
    }

    private static JsonObject CacheRow(JsonObject c, DateTimeOffset now)
    {
        string Since(JsonNode? n) => DateTimeOffset.TryParse(Str(n), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? Units.HumanDuration(now - t) + " ago" : "";
        return new JsonObject
        {
            ["CacheType"] = Str(c["Type"]),
            ["CreatedSince"] = Since(c["CreatedAt"]),
            ["ID"] = Str(c["ID"]),
            ["LastUsedSince"] = Since(c["LastUsedAt"]),
            ["Shared"] = Bool(c["Shared"]) ? "true" : "false",
            ["Size"] = Units.HumanSize(Long(c["Size"]), 4),
            ["UsageCount"] = Long(c["UsageCount"]).ToString(CultureInfo.InvariantCulture),
        };
    }

    // df's container rows show the writable layer alone, without ps's "(virtual ...)".
    private static JsonObject DfContainerRow(JsonObject c, DateTimeOffset now)
    {
        var row = Rows.Container(c, trunc: true, now);
        row["Size"] = Units.HumanSize(Long(c["SizeRw"]));
        return row;
    }

    // ---- system prune ----

    public static async Task<int> SystemPruneAsync(CliContext ctx, ParsedArgs args)
    {
        var all = args.GetBool("all");
        var volumes = args.GetBool("volumes");
        if (!args.GetBool("force"))
        {
            var warning = new StringBuilder("WARNING! This will remove:\n");
            warning.Append("  - all stopped containers\n");
            warning.Append("  - all networks not used by at least one container\n");
            if (volumes)
            {
                warning.Append("  - all anonymous volumes not used by at least one container\n");
            }
            warning.Append(all ? "  - all images without at least one container associated to them\n" : "  - all dangling images\n");
            warning.Append(all ? "  - all build cache\n" : "  - unused build cache\n");
            warning.Append("\nAre you sure you want to continue? [y/N] ");
            if (!ContainerCommands.Confirm(ctx, warning.ToString()))
            {
                return 0;
            }
        }
        var filters = Support.ParseFilters(args);
        long reclaimed = 0;

        var containers = (await ctx.Client.ContainerPruneAsync(new ContainerPruneOptions { Filters = filters }).ConfigureAwait(false)).Report;
        if (containers.ContainersDeleted is { Count: > 0 } cd)
        {
            Section(ctx, "Deleted Containers:", cd);
            reclaimed += containers.SpaceReclaimed;
        }
        var networks = (await ctx.Client.NetworkPruneAsync(new NetworkPruneOptions { Filters = filters }).ConfigureAwait(false)).Report;
        if (networks.NetworksDeleted is { Count: > 0 } nd)
        {
            Section(ctx, "Deleted Networks:", nd);
        }
        if (volumes)
        {
            var v = (await ctx.Client.VolumePruneAsync(new VolumePruneOptions { Filters = filters }).ConfigureAwait(false)).Report;
            if (v.VolumesDeleted is { Count: > 0 } vd)
            {
                Section(ctx, "Deleted Volumes:", vd);
                reclaimed += v.SpaceReclaimed;
            }
        }
        var imageFilters = new Dictionary<string, IReadOnlyList<string>>(filters) { ["dangling"] = [all ? "false" : "true"] };
        var images = (await ctx.Client.ImagePruneAsync(new ImagePruneOptions { Filters = imageFilters }).ConfigureAwait(false)).Report;
        if (images.ImagesDeleted is { Count: > 0 } id)
        {
            Section(ctx, "Deleted Images:", id.SelectMany(d => new[] { d.Untagged is { } u ? $"untagged: {u}" : null, d.Deleted is { } x ? $"deleted: {x}" : null }).OfType<string>());
            reclaimed += images.SpaceReclaimed;
        }
        var cache = await ctx.Client.BuildCachePruneAsync(new BuildCachePruneOptions { All = all, Filters = filters }).ConfigureAwait(false);
        if (cache.CachesDeleted.Count > 0)
        {
            Section(ctx, "Deleted build cache objects:", cache.CachesDeleted);
        }
        reclaimed += cache.SpaceReclaimed;
        ctx.Out.WriteLine($"Total reclaimed space: {Units.HumanSize(reclaimed, 4)}");
        return 0;
    }

    private static void Section(CliContext ctx, string title, IEnumerable<string> lines)
    {
        ctx.Out.WriteLine(title);
        foreach (var l in lines)
        {
            ctx.Out.WriteLine(l);
        }
        ctx.Out.WriteLine();
    }

    // ---- port ----

    public static async Task<int> PortAsync(CliContext ctx, ParsedArgs args)
    {
        var name = args.Positionals[0];
        var info = (await ctx.Client.ContainerInspectAsync(name).ConfigureAwait(false)).Raw;
        var ports = info["NetworkSettings"]?["Ports"] as JsonObject;
        var output = new List<string>();
        if (args.Positionals.Count > 1)
        {
            var spec = args.Positionals[1];
            var slash = spec.IndexOf('/');
            var port = slash < 0 ? spec : spec[..slash];
            var proto = slash < 0 ? "tcp" : spec[(slash + 1)..];
            if (proto.Length == 0)
            {
                proto = "tcp";
            }
            if (!ushort.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                throw new ExitException(1, $"Error: invalid port ({port}): strconv.ParseUint: parsing \"{port}\": invalid syntax");
            }
            if (ports?[$"{port}/{proto}"] is not JsonArray bindings || bindings.Count == 0)
            {
                throw new ExitException(1, $"Error: No public port '{spec}' published for {name}");
            }
            output.AddRange(bindings.Select(b => JoinHostPort(Str(b?["HostIp"]), Str(b?["HostPort"]))));
        }
        else
        {
            foreach (var (from, value) in ports ?? [])
            {
                foreach (var b in (value as JsonArray) ?? [])
                {
                    output.Add($"{from} -> {JoinHostPort(Str(b?["HostIp"]), Str(b?["HostPort"]))}");
                }
            }
        }
        if (output.Count > 0)
        {
            output.Sort(NaturalCompare);
            ctx.Out.WriteLine(string.Join("\n", output));
        }
        return 0;
    }

    // Go's net.JoinHostPort: IPv6 hosts in brackets.
    private static string JoinHostPort(string host, string port) => host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";

    // sortorder.NaturalLess: runs of digits compare as numbers, everything else by character.
    internal static int NaturalCompare(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            if (char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                int si = i, sj = j;
                while (i < a.Length && char.IsAsciiDigit(a[i]))
                {
                    i++;
                }
                while (j < b.Length && char.IsAsciiDigit(b[j]))
                {
                    j++;
                }
                var na = a[si..i].TrimStart('0');
                var nb = b[sj..j].TrimStart('0');
                if (na.Length != nb.Length)
                {
                    return na.Length.CompareTo(nb.Length);
                }
                var c = string.CompareOrdinal(na, nb);
                if (c != 0)
                {
                    return c;
                }
                continue;
            }
            if (a[i] != b[j])
            {
                return a[i].CompareTo(b[j]);
            }
            i++;
            j++;
        }
        return (a.Length - i).CompareTo(b.Length - j);
    }

    // ---- JSON helpers ----

    private static string Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToString() ?? "";

    private static long Long(JsonNode? n) => n is JsonValue v && v.TryGetValue<long>(out var l) ? l : n is JsonValue d && d.TryGetValue<double>(out var x) ? (long)x : 0;

    private static bool Bool(JsonNode? n) => n is JsonValue v && v.TryGetValue<bool>(out var b) && b;
}
