using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;
using Berth.Network;

namespace Berth.Daemon.Routers;

/// <summary>/networks: the predefined networks (bridge, host, none) and the containers on them. Creating networks is the networking issue's.</summary>
internal static class NetworksRouter
{
    public static void Map(WebApplication app, NetworkController network, ContainerService containers)
    {
        app.MapGet("/networks", (HttpContext ctx) =>
        {
            var f = ctx.Request.QueryFilters();
            f.Validate("name", "id", "driver", "label", "type", "scope", "dangling");
            var list = network.List().Where(n =>
                (!f.Has("name") || f.Get("name").Any(x => n.Name.Contains(x, StringComparison.Ordinal))) &&
                (!f.Has("id") || f.Get("id").Any(x => n.Id.StartsWith(x, StringComparison.Ordinal))) &&
                (!f.Has("driver") || f.Get("driver").Contains(n.Driver)) &&
                (!f.Has("type") || f.Get("type").Contains("builtin")) &&
                (!f.Has("label") || f.Get("label").Count == 0))
                .Select(n => View(n, containers, withContainers: false)).ToList();
            return HttpJson.WriteAsync(ctx, list, Wire.Json.ListNetworkResource);
        });
        app.MapGet("/networks/{id}", (HttpContext ctx, string id) =>
        {
            var n = network.Find(id) ?? throw BerthException.NotFound($"network {id} not found");
            return HttpJson.WriteAsync(ctx, View(n, containers, withContainers: true), Wire.Json.NetworkResource);
        });
        app.MapDelete("/networks/{id}", (HttpContext ctx, string id) =>
        {
            var n = network.Find(id) ?? throw BerthException.NotFound($"network {id} not found");
            // Every network there is now is one of the predefined ones, which dockerd refuses to remove with 403.
            throw new BerthException(ErrorKind.Forbidden, $"{n.Name} is a pre-defined network and cannot be removed");
        });
        // Only the predefined networks exist so far, and those are never pruned: the answer is an empty report.
        app.MapPost("/networks/prune", (HttpContext ctx) =>
        {
            ctx.Request.QueryFilters().Validate("until", "label", "label!");
            containers.Events.Pruned("network", 0);
            return HttpJson.WriteAsync(ctx, new PruneReport { NetworksDeleted = [] }, Wire.Json.PruneReport);
        });
    }

    private static NetworkResource View(NetworkInfo n, ContainerService containers, bool withContainers)
    {
        var members = new Dictionary<string, NetworkContainer>();
        if (withContainers)
        {
            foreach (var c in containers.All)
            {
                var r = c.Record;
                var mode = r.HostConfig.NetworkMode is null or "default" ? "bridge" : r.HostConfig.NetworkMode;
                if (mode != n.Name || !r.IsRunning) continue;
                members[r.Id] = new NetworkContainer
                {
                    Name = r.Name.TrimStart('/'),
                    EndpointID = r.Endpoint?.EndpointId ?? "",
                    MacAddress = r.Endpoint?.MacAddress ?? "",
                    IPv4Address = r.Endpoint is { } ep ? $"{ep.IPv4}/{ep.PrefixLen}" : "",
                };
            }
        }
        var options = new Dictionary<string, string>();
        if (n.BridgeName is { } b)
        {
            options["com.docker.network.bridge.name"] = b;
            options["com.docker.network.bridge.default_bridge"] = "true";
            options["com.docker.network.bridge.enable_ip_masquerade"] = "true";
        }
        return new NetworkResource
        {
            Name = n.Name,
            Id = n.Id,
            Created = HumanTime.Rfc3339(DateTimeOffset.UnixEpoch),
            Scope = n.Scope,
            Driver = n.Driver,
            IPAM = new Ipam { Config = n.Subnet is null ? [] : [new IpamConfig { Subnet = n.Subnet, Gateway = n.Gateway }] },
            Containers = members,
            Options = options,
        };
    }
}
