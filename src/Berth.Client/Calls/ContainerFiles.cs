using System.Net.Http.Headers;
using System.Text.Json;
using Berth.Api;

namespace Berth.Client;

// docker cp, diff, export and commit: the archive endpoints, /changes, /export and /commit.

public sealed record ContainerCopyToOptions
{
    // A tar archive (plain or gzip) to extract into DestinationPath, which must be a directory.
    public required Stream Content { get; init; }
    public required string DestinationPath { get; init; }
    public bool CopyUidGid { get; init; }
    public bool NoOverwriteDirNonDir { get; init; } = true;
}

// Content: the tar stream of the source path; the caller disposes it.
public sealed record ContainerCopyFromResult(Stream Content, ContainerPathStat Stat);

public sealed record ContainerCommitOptions
{
    public string? Repository { get; init; }
    public string? Tag { get; init; }
    public string? Comment { get; init; }
    public string? Author { get; init; }
    public bool Pause { get; init; } = true;
    public IReadOnlyList<string> Changes { get; init; } = [];
}

public sealed partial class BerthClient
{
    private const string PathStatHeader = "X-Docker-Container-Path-Stat";

    public async Task<ContainerPathStat> ContainerStatPathAsync(string id, string path, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Head, $"/containers/{Escape(id)}/archive", new Query().Add("path", path), null, ct).ConfigureAwait(false);
        return DecodeStat(response);
    }

    public async Task<ContainerCopyFromResult> CopyFromContainerAsync(string id, string path, CancellationToken ct = default)
    {
        var response = await SendAsync(HttpMethod.Get, $"/containers/{Escape(id)}/archive", new Query().Add("path", path), null, ct,
            HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        try
        {
            var stat = DecodeStat(response);
            return new ContainerCopyFromResult(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false), stat);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public async Task CopyToContainerAsync(string id, ContainerCopyToOptions options, CancellationToken ct = default)
    {
        var query = new Query()
            .Add("path", options.DestinationPath)
            .Add("noOverwriteDirNonDir", options.NoOverwriteDirNonDir ? "true" : "false")
            .Add("copyUIDGID", options.CopyUidGid ? "true" : "false");
        var content = new StreamContent(options.Content);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        await SendAndDiscardAsync(HttpMethod.Put, $"/containers/{Escape(id)}/archive", query, content, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<FilesystemChange>> ContainerDiffAsync(string id, CancellationToken ct = default)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/containers/{Escape(id)}/changes", null, null, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        // dockerd answers null for a container without changes.
        return string.IsNullOrWhiteSpace(text) ? [] : JsonSerializer.Deserialize(text, ApiJsonContext.Default.ListFilesystemChange) ?? [];
    }

    // The tar stream of the container's filesystem; the caller disposes it.
    public async Task<Stream> ContainerExportAsync(string id, CancellationToken ct = default)
    {
        var response = await SendAsync(HttpMethod.Get, $"/containers/{Escape(id)}/export", null, null, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        return await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
    }

    public async Task<IdResponse> ContainerCommitAsync(string id, ContainerCommitOptions options, CancellationToken ct = default)
    {
        var query = new Query()
            .Add("container", id)
            .Add("repo", options.Repository)
            .Add("tag", options.Tag)
            .Add("comment", options.Comment)
            .Add("author", options.Author)
            .Add("pause", options.Pause ? "1" : "0");
        foreach (var change in options.Changes)
        {
            query.Add("changes", change);
        }
        return await SendForAsync(HttpMethod.Post, "/commit", query, null, ApiJsonContext.Default.IdResponse, ct).ConfigureAwait(false);
    }

    private static ContainerPathStat DecodeStat(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues(PathStatHeader, out var values) || values.FirstOrDefault() is not { Length: > 0 } b64)
        {
            throw new DockerApiException((int)response.StatusCode, "unable to get resource stat from response: no path stat header");
        }
        try
        {
            return JsonSerializer.Deserialize(Convert.FromBase64String(b64), ApiJsonContext.Default.ContainerPathStat)
                ?? throw new DockerApiException((int)response.StatusCode, "unable to get resource stat from response: empty");
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new DockerApiException((int)response.StatusCode, $"unable to get resource stat from response: {e.Message}");
        }
    }
}
