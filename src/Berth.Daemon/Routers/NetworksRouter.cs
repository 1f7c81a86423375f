using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;
using Berth.Network;

namespace Berth.Daemon.Routers;

/// <summary>/networks: the predefined networks (bridge, host, none), user-defined bridge networks, connect and disconnect.</summary>
internal static class NetworksRouter
{
    public static void Map(WebApplication app, NetworkController network, ContainerService containers)
    {
        app.MapGet("/networks", (HttpContext ctx) =>
        {
            var f = ctx.Request.QueryFilters();
            f.Validate("name", "id", "driver", "label", "type", "scope", "dangling");
            if (f.Get("type").FirstOrDefault(t => t is not ("custom" or "builtin")) is { } badType)
                throw BerthException.Invalid($"invalid filter: 'type'='{badType}'");
            var list = network.List().Where(n =>
                (!f.Has("name") || f.Get("name").Any(x => n.Name.Contains(x, StringComparison.Ordinal))) &&
                (!f.Has("id") || f.Get("id").Any(x => n.Id.StartsWith(x, StringComparison.Ordinal))) &&
                (!f.Has("driver") || f.Get("driver").Contains(n.Driver)) &&
                (!f.Has("scope") || f.Get("scope").Contains(n.Scope)) &&
                (!f.Has("type") || f.Get("type").Contains(n.IsPredefined ? "builtin" : "custom")) &&
                (!f.Has("dangling") || (f.Get("dangling")[0] is "true" or "1") == (!n.IsPredefined && network.EndpointsOn(n.Id).Count == 0)) &&
                ContainerFilter.LabelsMatch(n.User?.Labels ?? [], f.Get("label")))
                .Select(n => View(n, network, containers, withContainers: false)).ToList();
            return HttpJson.WriteAsync(ctx, list, Wire.Json.ListNetworkResource);
        });
        app.MapGet("/networks/{id}", (HttpContext ctx, string id) =>
        {
            var n = network.Find(id) ?? throw BerthException.NotFound($"network {id} not found");
            return HttpJson.WriteAsync(ctx, View(n, network, containers, withContainers: true), Wire.Json.NetworkResource);
        });
        app.MapPost("/networks/create", async (HttpContext ctx) =>
        {
            var req = await HttpJson.ReadAsync(ctx, Wire.Json.NetworkCreateRequest) ?? throw BerthException.Invalid("missing request body");
            var ipam = req.IPAM?.Config ?? [];
            var v4 = ipam.FirstOrDefault(c => c.Subnet is null || !c.Subnet.Contains(':'));
            var info = await network.CreateNetworkAsync(new Berth.Network.NetworkCreateRequest
            {
                Name = req.Name,
                Driver = req.Driver,
                Internal = req.Internal,
                Attachable = req.Attachable,
                EnableIPv6 = req.EnableIPv6 == true,
                Subnet = v4?.Subnet,
                IPRange = v4?.IPRange,
                Gateway = v4?.Gateway,
                IpamConfigCount = ipam.Count,
                IpamDriver = req.IPAM?.Driver,
                Labels = req.Labels ?? [],
                Options = req.Options ?? [],
            }, ctx.RequestAborted);
            containers.Events.Network("create", info.Id, info.Name, info.Driver);
            await HttpJson.WriteAsync(ctx, new NetworkCreateResponse { Id = info.Id }, Wire.Json.NetworkCreateResponse, 201);
        });
        app.MapDelete("/networks/{id}", async (HttpContext ctx, string id) =>
        {
            var n = await network.RemoveNetworkAsync(id, ctx.RequestAborted);
            containers.Events.Network("destroy", n.Id, n.Name, n.Driver);
            ctx.Response.StatusCode = 204;
        });
        app.MapPost("/networks/{id}/connect", async (HttpContext ctx, string id) =>
        {
            var req = await HttpJson.ReadAsync(ctx, Wire.Json.NetworkConnectRequest) ?? throw BerthException.Invalid("missing request body");
            if (string.IsNullOrEmpty(req.Container)) throw BerthException.Invalid("no container specified");
            await containers.ConnectNetworkAsync(id, req.Container, req.EndpointConfig, ctx.RequestAborted);
            ctx.Response.StatusCode = 200;
        });
        app.MapPost("/networks/{id}/disconnect", async (HttpContext ctx, string id) =>
        {
            var req = await HttpJson.ReadAsync(ctx, Wire.Json.NetworkDisconnectRequest) ?? throw BerthException.Invalid("missing request body");
            if (string.IsNullOrEmpty(req.Container)) throw BerthException.Invalid("no container specified");
            await containers.DisconnectNetworkAsync(id, req.Container, req.Force, ctx.RequestAborted);
            ctx.Response.StatusCode = 200;
        });
        app.MapPost("/networks/prune", async (HttpContext ctx) =>
        {
            var f = ctx.Request.QueryFilters();
            f.Validate("until", "label", "label!");
            var until = f.Get("until").Select(u => TimeParam.Parse(u) ?? throw BerthException.Invalid($"invalid until filter {u}")).ToList();
            var deleted = new List<string>();
            foreach (var n in network.List())
            {
                if (n.User is not { } rec) continue;
                if (until.Count > 0 && until.Any(u => rec.Created >= u)) continue;
                if (!ContainerFilter.LabelsMatch(rec.Labels, f.Get("label"))) continue;
                if (f.Get("label!").Any(l => ContainerFilter.LabelsMatch(rec.Labels, [l]))) continue;
                if (network.EndpointsOn(n.Id).Count > 0) continue;
                try
                {
                    await network.RemoveNetworkAsync(n.Id, ctx.RequestAborted);
                    containers.Events.Network("destroy", n.Id, n.Name, n.Driver);
                    deleted.Add(n.Name);
                }
                catch (BerthException) { /* raced with a connect: in use after all */ }
            }
            containers.Events.Pruned("network", 0);
            await HttpJson.WriteAsync(ctx, new NetworkPruneReport { NetworksDeleted = deleted.Count > 0 ? deleted : null }, Wire.Json.NetworkPruneReport);
        });
    }

    private static NetworkResource View(NetworkInfo n, NetworkController network, ContainerService containers, bool withContainers)
    {
        var members = new Dictionary<string, NetworkContainer>();
        if (withContainers)
        {
            foreach (var ep in network.EndpointsOn(n.Id))
            {
                string name;
                try { name = containers.Get(ep.ContainerId).Record.Name.TrimStart('/'); }
                catch (BerthException) { continue; }
                members[ep.ContainerId] = new NetworkContainer
                {
                    Name = name,
                    EndpointID = ep.EndpointId,
                    MacAddress = ep.MacAddress,
                    IPv4Address = $"{ep.IPv4}/{ep.PrefixLen}",
                };
            }
        }
        var options = new Dictionary<string, string>();
        var rec = n.User;
        if (rec is not null)
        {
            foreach (var (k, v) in rec.Options) options[k] = v;
        }
        else if (n.BridgeName is { } b)
        {
            options["com.docker.network.bridge.name"] = b;
            options["com.docker.network.bridge.default_bridge"] = "true";
            options["com.docker.network.bridge.enable_ip_masquerade"] = "true";
        }
        return new NetworkResource
        {
            Name = n.Name,
            Id = n.Id,
            Created = HumanTime.Rfc3339(rec?.Created ?? DateTimeOffset.UnixEpoch),
            Scope = n.Scope,
            Driver = n.Driver,
            IPAM = new Ipam
            {
                // A macvlan network created without --gateway has none (dockerd leaves Gateway out).
                Config = n.Subnet is null ? [] : [new IpamConfig { Subnet = n.Subnet, Gateway = string.IsNullOrEmpty(n.Gateway) ? null : n.Gateway, IPRange = rec?.IPRange }],
                Options = rec is null ? null : new Dictionary<string, string>(),
            },
            Internal = rec?.Internal ?? false,
            Attachable = rec?.Attachable ?? false,
            Containers = members,
            Options = options,
            Labels = rec?.Labels ?? new Dictionary<string, string>(),
        };
    }
}
