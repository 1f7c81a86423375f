using System.Globalization;
using System.Text.Json.Nodes;
using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;
using Berth.Client;

namespace Berth.Cli.Commands;

internal static class NetworkCommands
{
    private const string DefaultFormat = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

    public static readonly JsonObject Headers = new()
    {
        ["CreatedAt"] = "CREATED", ["Driver"] = "DRIVER", ["ID"] = "NETWORK ID", ["IPv4"] = "IPV4", ["IPv6"] = "IPV6", ["Internal"] = "INTERNAL",
        ["Labels"] = "LABELS", ["Name"] = "NAME", ["Scope"] = "SCOPE",
    };

    public static async Task<int> CreateAsync(CliContext ctx, ParsedArgs args)
    {
        var subnets = args.GetAll("subnet");
        var gateways = args.GetAll("gateway");
        var ranges = args.GetAll("ip-range");
        if (gateways.Count > subnets.Count || ranges.Count > subnets.Count)
        {
            throw new ExitException(1, "no matching subnet for gateway or range");
        }
        var aux = KeyValues(args.GetAll("aux-address"));
        var pools = subnets.Select((s, i) => new NetworkIpamPool
        {
            Subnet = s,
            Gateway = i < gateways.Count ? gateways[i] : null,
            IPRange = i < ranges.Count ? ranges[i] : null,
            AuxAddresses = i == 0 && aux.Count > 0 ? aux : null,
        }).ToList();
        var r = await ctx.Client.NetworkCreateAsync(new NetworkCreateOptions
        {
            Name = args.Positionals[0],
            Driver = args.Get("driver"),
            Internal = args.GetBool("internal"),
            Attachable = args.GetBool("attachable"),
            EnableIPv6 = args.IsSet("ipv6") ? args.GetBool("ipv6") : null,
            EnableIPv4 = args.IsSet("ipv4") ? args.GetBool("ipv4") : null,
            Scope = args.Get("scope"),
            IpamDriver = args.Get("ipam-driver"),
            IpamOptions = KeyValues(args.GetAll("ipam-opt")),
            Pools = pools,
            Options = KeyValues(args.GetAll("opt")),
            Labels = KeyValues(args.GetAll("label")),
        }).ConfigureAwait(false);
        if (r.Warning is { } warning)
        {
            ctx.Err.WriteLine($"WARNING: {warning}");
        }
        ctx.Out.WriteLine(r.Id);
        return 0;
    }

    private static Dictionary<string, string> KeyValues(IReadOnlyList<string> items)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in items)
        {
            var eq = kv.IndexOf('=');
            map[eq < 0 ? kv : kv[..eq]] = eq < 0 ? "" : kv[(eq + 1)..];
        }
        return map;
    }

    public static async Task<int> ListAsync(CliContext ctx, ParsedArgs args)
    {
        var list = await ctx.Client.NetworkListAsync(new NetworkListOptions { Filters = Support.ParseFilters(args) }).ConfigureAwait(false);
        var trunc = !args.GetBool("no-trunc");
        var rows = list.Items.Where(n => n is not null).Select(n => Row(n!, trunc))
            .OrderBy(n => n["Name"]!.ToString(), StringComparer.Ordinal).Cast<JsonNode?>().ToList();
        var format = args.Get("format");
        if (args.GetBool("quiet") && format is null)
        {
            format = "{{.ID}}";
        }
        if (format is null or "table")
        {
            format = DefaultFormat;
        }
        Support.WriteFormatted(ctx, format, rows, Headers);
        return 0;
    }

    internal static JsonObject Row(JsonNode n, bool trunc)
    {
        var id = n["Id"]?.ToString() ?? "";
        var labels = n["Labels"] as JsonObject;
        var created = n["Created"]?.ToString();
        return new JsonObject
        {
            ["CreatedAt"] = created is not null && DateTimeOffset.TryParse(created, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? Rows.GoTime(t) : "",
            ["Driver"] = n["Driver"]?.ToString() ?? "",
            ["ID"] = trunc ? Rows.TruncateId(id) : id,
            ["IPv4"] = (n["EnableIPv4"]?.ToString() ?? "true").ToLowerInvariant(),
            ["IPv6"] = (n["EnableIPv6"]?.ToString() ?? "false").ToLowerInvariant(),
            ["Internal"] = (n["Internal"]?.ToString() ?? "false").ToLowerInvariant(),
            ["Labels"] = labels is null ? "" : string.Join(",", labels.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")),
            ["Name"] = n["Name"]?.ToString() ?? "",
            ["Scope"] = n["Scope"]?.ToString() ?? "",
        };
    }

    public static async Task<int> RemoveAsync(CliContext ctx, ParsedArgs args)
    {
        var force = args.GetBool("force");
        var failed = false;
        foreach (var name in args.Positionals)
        {
            try
            {
                await ctx.Client.NetworkRemoveAsync(name).ConfigureAwait(false);
                ctx.Out.WriteLine(name);
            }
            catch (DockerApiException e) when (force && e.IsNotFound)
            {
                // -f: a network that is already gone is not an error.
            }
            catch (DockerApiException e)
            {
                ctx.Err.WriteLine($"Error response from daemon: {e.Message}");
                failed = true;
            }
        }
        return failed ? 1 : 0;
    }

    public static async Task<int> PruneAsync(CliContext ctx, ParsedArgs args)
    {
        if (!args.GetBool("force") && !ContainerCommands.Confirm(ctx, "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] "))
        {
            return 0;
        }
        var r = (await ctx.Client.NetworkPruneAsync(new NetworkPruneOptions { Filters = Support.ParseFilters(args) }).ConfigureAwait(false)).Report;
        if (r.NetworksDeleted is { Count: > 0 } deleted)
        {
            ctx.Out.WriteLine("Deleted Networks:");
            foreach (var d in deleted)
            {
                ctx.Out.WriteLine(d);
            }
        }
        return 0;
    }

    public static async Task<int> ConnectAsync(CliContext ctx, ParsedArgs args)
    {
        await ctx.Client.NetworkConnectAsync(args.Positionals[0], new NetworkConnectOptions
        {
            Container = args.Positionals[1],
            Aliases = args.GetAll("alias").SelectMany(a => a.Split(',')).ToList(),
            IPv4Address = args.Get("ip"),
            IPv6Address = args.Get("ip6"),
            DriverOpts = KeyValues(args.GetAll("driver-opt").SelectMany(a => a.Split(',')).ToList()),
        }).ConfigureAwait(false);
        return 0;
    }

    public static async Task<int> DisconnectAsync(CliContext ctx, ParsedArgs args)
    {
        await ctx.Client.NetworkDisconnectAsync(args.Positionals[0], new NetworkDisconnectOptions
        {
            Container = args.Positionals[1],
            Force = args.GetBool("force"),
        }).ConfigureAwait(false);
        return 0;
    }
}
