using System.Text.Json;
using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;
using Berth.Daemon.Http;

namespace Berth.Daemon.Routers;

/// <summary>A container's files: /containers/{id}/archive (HEAD, GET, PUT), /export, /changes, and POST /commit.</summary>
internal static class ContainerFilesRouter
{
    private const string StatHeader = "X-Docker-Container-Path-Stat";

    public static void Map(WebApplication app, ContainerService containers, string spoolDir)
    {
        var files = new ContainerFiles(containers, spoolDir);
        var commit = new ContainerCommit(containers, files, spoolDir);

        app.MapMethods("/containers/{id}/archive", ["HEAD"], async (HttpContext ctx, string id) =>
        {
            var stat = await files.StatAsync(id, ContainerFiles.ValidatePath(ctx.Request.Query["path"]), ctx.RequestAborted);
            ctx.Response.Headers[StatHeader] = EncodeStat(stat);
            ctx.Response.StatusCode = 200;
        });

        app.MapGet("/containers/{id}/archive", (HttpContext ctx, string id) =>
            files.ArchiveAsync(id, ContainerFiles.ValidatePath(ctx.Request.Query["path"]), stat =>
            {
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/x-tar";
                ctx.Response.Headers[StatHeader] = EncodeStat(stat);
                return ctx.Response.Body;
            }, ctx.RequestAborted));

        app.MapPut("/containers/{id}/archive", async (HttpContext ctx, string id) =>
        {
            var path = ContainerFiles.ValidatePath(ctx.Request.Query["path"]);
            // The docker CLI sends both as "true"/"false"; older clients send 1/0.
            bool noOverwrite = ctx.Request.QueryBool("noOverwriteDirNonDir");
            bool copyUidGid = ctx.Request.QueryBool("copyUIDGID");
            await files.ExtractAsync(id, path, ctx.Request.Body, copyUidGid, noOverwrite, ctx.RequestAborted);
            ctx.Response.StatusCode = 200;
        });

        app.MapGet("/containers/{id}/export", (HttpContext ctx, string id) =>
            files.ExportAsync(id, () =>
            {
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/x-tar";
                return ctx.Response.Body;
            }, ctx.RequestAborted));

        app.MapGet("/containers/{id}/changes", async (HttpContext ctx, string id) =>
        {
            var changes = await files.ChangesAsync(id, ctx.RequestAborted);
            var list = changes.Select(c => new FilesystemChange { Path = c.Path, Kind = (int)c.Kind }).ToList();
            await HttpJson.WriteAsync(ctx, list, Wire.Json.ListFilesystemChange);
        });

        app.MapPost("/commit", async (HttpContext ctx) =>
        {
            var q = ctx.Request;
            var container = q.QueryString("container") ?? throw BerthException.Invalid("container is required");
            var config = await HttpJson.ReadAsync(ctx, Wire.Json.ContainerConfig);
            var img = await commit.CommitAsync(new CommitRequest
            {
                Container = container,
                Repo = q.QueryString("repo"),
                Tag = q.QueryString("tag"),
                Comment = q.QueryString("comment"),
                Author = q.QueryString("author"),
                Pause = q.QueryBool("pause", dflt: true),
                Changes = q.Query["changes"].Where(s => !string.IsNullOrEmpty(s)).Select(s => s!).ToList(),
                Config = config,
            }, ctx.RequestAborted);
            await HttpJson.WriteAsync(ctx, new IdResponse { Id = img.Id }, Wire.Json.IdResponse, 201);
        });
    }

    private static string EncodeStat(ContainerPathStat stat) =>
        Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(stat, Wire.Json.ContainerPathStat));
}
