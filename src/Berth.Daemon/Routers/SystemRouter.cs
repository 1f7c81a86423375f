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
