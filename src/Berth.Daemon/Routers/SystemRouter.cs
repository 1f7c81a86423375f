using System.Runtime.InteropServices;
using Berth.Api;
using Berth.Daemon.Http;

namespace Berth.Daemon.Routers;

/// <summary>/_ping, /version, /info.</summary>
internal static class SystemRouter
{
    public static void Map(WebApplication app, Func<SystemInfo> info)
    {
        app.MapMethods("/_ping", ["GET", "HEAD"], (HttpContext ctx) =>
        {
            ctx.Response.Headers["Builder-Version"] = "1";
            ctx.Response.Headers["Swarm"] = "inactive";
            ctx.Response.Headers.CacheControl = "no-cache, no-store, must-revalidate";
            ctx.Response.Headers.Pragma = "no-cache";
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            ctx.Response.ContentLength = 2;
            return HttpMethods.IsHead(ctx.Request.Method) ? Task.CompletedTask : ctx.Response.WriteAsync("OK");
        });
        app.MapGet("/version", (HttpContext ctx) => HttpJson.WriteAsync(ctx, Version(), Wire.Json.SystemVersion));
        app.MapGet("/info", (HttpContext ctx) => HttpJson.WriteAsync(ctx, info(), Wire.Json.SystemInfo));
        MapSwarm(app);
    }

    /// <summary>
    /// The swarm-mode endpoints, as dockerd answers them on a node that is in no swarm (Berth never is: its
    /// daemons cooperate through etcd instead): 503 with dockerd's words, so <c>docker node ls</c> and
    /// <c>docker service ls</c> say what dockerd says; joining or starting a swarm is not something Berth does.
    /// </summary>
    private static void MapSwarm(WebApplication app)
    {
        const string notManager = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";
        app.MapPost("/swarm/init", (HttpContext ctx) => HttpJson.WriteErrorAsync(ctx, 501, "Berth has no swarm mode: a node cannot start a swarm"));
        app.MapPost("/swarm/join", (HttpContext ctx) => HttpJson.WriteErrorAsync(ctx, 501, "Berth has no swarm mode: a node cannot join a swarm"));
        app.MapPost("/swarm/leave", (HttpContext ctx) => HttpJson.WriteErrorAsync(ctx, 503, "This node is not part of a swarm"));
        foreach (var root in (string[])["/swarm", "/nodes", "/services", "/tasks", "/secrets", "/configs"])
        {
            app.Map(root, (HttpContext ctx) => HttpJson.WriteErrorAsync(ctx, 503, notManager));
            app.Map(root + "/{**rest}", (HttpContext ctx) => HttpJson.WriteErrorAsync(ctx, 503, notManager));
        }
    }

    public static string KernelVersion()
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { return ""; }
    }

    public static string Arch() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        var a => a.ToString().ToLowerInvariant(),
    };

    private static string BuildTime() => File.GetLastWriteTimeUtc(Path.Combine(AppContext.BaseDirectory, "berthd.dll")).ToString("o");

    private static SystemVersion Version()
    {
        var details = new Dictionary<string, string>
        {
            ["ApiVersion"] = ApiVersion.Current,
            ["MinAPIVersion"] = ApiVersion.Min,
            ["Os"] = "linux",
            ["Arch"] = Arch(),
            ["KernelVersion"] = KernelVersion(),
            ["GitCommit"] = "",
            ["GoVersion"] = $"dotnet{Environment.Version}",
            ["BuildTime"] = BuildTime(),
            ["Experimental"] = "false",
        };
        return new SystemVersion
        {
            Platform = new PlatformName { Name = "Berth Engine" },
            Components =
            [
                new ComponentVersion { Name = "Engine", Version = ApiVersion.ServerVersion, Details = details },
                new ComponentVersion { Name = "runc", Version = "runc", Details = new() { ["GitCommit"] = "" } },
            ],
            Version = ApiVersion.ServerVersion,
            ApiVersion = ApiVersion.Current,
            MinAPIVersion = ApiVersion.Min,
            GoVersion = $"dotnet{Environment.Version}",
            Os = "linux",
            Arch = Arch(),
            KernelVersion = KernelVersion(),
            BuildTime = BuildTime(),
        };
    }
}
