using System.Net;
using Berth.Core;
using Berth.Daemon.Config;
using Berth.Daemon.Http;
using Berth.Daemon.Routers;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Berth.Daemon;

/// <summary>The composition root: builds every part from the options, wires routers, owns startup and shutdown.</summary>
internal static class DaemonHost
{
    public static async Task<int> RunAsync(DaemonOptions options)
    {
        Directory.CreateDirectory(options.DataRoot);
        Directory.CreateDirectory(options.ExecRoot);
        using var dataLock = FileLock.TryAcquire(Path.Combine(options.DataRoot, "berthd.lock"));
        if (dataLock is null)
        {
            await Console.Error.WriteLineAsync($"berthd: data-root {options.DataRoot} is in use by another berthd (lock held on {Path.Combine(options.DataRoot, "berthd.lock")})");
            return 1;
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; o.UseUtcTimestamp = true; });
        builder.Logging.SetMinimumLevel(options.LogLevel switch
        {
            "debug" => LogLevel.Debug,
            "warn" or "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "fatal" => LogLevel.Critical,
            _ => LogLevel.Information,
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);

        var sockets = new List<string>();
        var hijackRoutes = new HijackRoutes();
        HijackMiddleware? hijack = null;
        ConnectionDelegate WithHijack(ConnectionDelegate next) => ctx => hijack!.OnConnectionAsync(ctx, next);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null; // image imports are large; JSON bodies are bounded by HttpJson
            k.Limits.MinRequestBodyDataRate = null;
            k.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(10);
            k.AddServerHeader = false;
            foreach (var h in options.Hosts)
            {
                if (h.StartsWith("unix://", StringComparison.Ordinal))
                {
                    var path = h["unix://".Length..];
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    if (File.Exists(path)) File.Delete(path); // stale socket of a dead daemon: we hold the data-root lock
                    sockets.Add(path);
                    k.ListenUnixSocket(path, l => { l.Protocols = HttpProtocols.Http1; l.Use(WithHijack); });
                }
                else if (h.StartsWith("tcp://", StringComparison.Ordinal))
                {
                    var ep = IPEndPoint.Parse(h["tcp://".Length..]);
                    k.Listen(ep, l => { l.Protocols = HttpProtocols.Http1; l.Use(WithHijack); });
                }
                else
                {
                    throw new InvalidOperationException($"invalid host \"{h}\": expected unix:///path or tcp://ip:port");
                }
            }
        });

        var engine = Engine.Create(options, builder.Services);
        var app = builder.Build();
        app.Use(ApiVersion.Middleware);
        app.Use(HttpJson.ErrorMiddleware);
        app.UseRouting();
        engine.MapRoutes(app, hijackRoutes);
        hijack = new HijackMiddleware(hijackRoutes, app.Services.GetRequiredService<ILogger<HijackMiddleware>>());
        app.MapFallback((HttpContext ctx) => HttpJson.WriteErrorAsync(ctx, 404, "page not found"));

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("berthd");
        await engine.StartAsync(app.Services, CancellationToken.None);
        await app.StartAsync();
        foreach (var s in sockets)
            File.SetUnixFileMode(s, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        if (options.PidFile is { } pf) AtomicFile.WriteAllText(pf, Environment.ProcessId + "\n");
        log.LogInformation("berthd {Version} listening on {Hosts}, data-root {DataRoot}", ApiVersion.ServerVersion, string.Join(", ", options.Hosts), options.DataRoot);

        await app.WaitForShutdownAsync();
        log.LogInformation("berthd shutting down");
        await engine.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
        foreach (var s in sockets) TryDelete(s);
        if (options.PidFile is { } pf2) TryDelete(pf2);
        return 0;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
