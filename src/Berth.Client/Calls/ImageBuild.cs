using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Berth.Api;

namespace Berth.Client;

public sealed record ImageBuildOptions
{
    // The build context: a tar, plain or compressed (the daemon detects which).
    public required Stream Context { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    // The Dockerfile's path inside the context; null: the daemon's default ("Dockerfile").
    public string? Dockerfile { get; init; }
    // A null value: the name alone (the Dockerfile's ARG default applies).
    public IReadOnlyDictionary<string, string?> BuildArgs { get; init; } = new Dictionary<string, string?>();
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public string? Target { get; init; }
    public string? NetworkMode { get; init; }
    public bool NoCache { get; init; }
    public bool Quiet { get; init; }
    public bool Pull { get; init; }
    public bool Remove { get; init; } = true;
    public bool ForceRemove { get; init; }
    public string? Platform { get; init; }
    public IReadOnlyList<string> CacheFrom { get; init; } = [];
    // Limits and host settings of the RUN containers, as docker run's.
    public long Memory { get; init; }
    public long MemorySwap { get; init; }
    public long CpuShares { get; init; }
    public long CpuPeriod { get; init; }
    public long CpuQuota { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public string? CgroupParent { get; init; }
    public long ShmSize { get; init; }
    public IReadOnlyList<Api.Ulimit> Ulimits { get; init; } = [];
    public IReadOnlyList<string> ExtraHosts { get; init; } = [];
    public IReadOnlyList<string> SecurityOpt { get; init; } = [];
    // The X-Registry-Config value (RegistryAuth.EncodeConfig): the logins the daemon may pull bases with.
    public string? RegistryConfig { get; init; }
}

// Stream: the daemon's JSON-message stream (stream, aux ID, errorDetail); the caller disposes it.
public sealed record ImageBuildResult(Stream Stream);

public sealed partial class BerthClient
{
    public async Task<ImageBuildResult> ImageBuildAsync(ImageBuildOptions options, CancellationToken ct = default)
    {
        var query = new Query();
        foreach (var t in options.Tags)
        {
            query.Add("t", t);
        }
        query.Add("dockerfile", options.Dockerfile)
            .Flag("q", options.Quiet)
            .Flag("nocache", options.NoCache)
            .Flag("rm", options.Remove, includeFalse: true)
            .Flag("forcerm", options.ForceRemove)
            .Flag("pull", options.Pull)
            .Add("target", options.Target)
            .Add("networkmode", options.NetworkMode)
            .Add("platform", options.Platform)
            .Add("cpusetcpus", options.CpusetCpus)
            .Add("cpusetmems", options.CpusetMems)
            .Add("cgroupparent", options.CgroupParent);
        foreach (var (key, value) in new[] { ("memory", options.Memory), ("memswap", options.MemorySwap), ("cpushares", options.CpuShares),
            ("cpuperiod", options.CpuPeriod), ("cpuquota", options.CpuQuota), ("shmsize", options.ShmSize) })
        {
            if (value != 0)
            {
                query.Add(key, value);
            }
        }
        foreach (var h in options.ExtraHosts)
        {
            query.Add("extrahosts", h);
        }
        foreach (var o in options.SecurityOpt)
        {
            query.Add("securityopt", o);
        }
        if (options.CacheFrom.Count > 0)
        {
            query.Add("cachefrom", JsonSerializer.Serialize(options.CacheFrom, ApiJsonContext.Default.IReadOnlyListString));
        }
        if (options.Ulimits.Count > 0)
        {
            query.Add("ulimits", JsonSerializer.Serialize(options.Ulimits, ApiJsonContext.Default.IReadOnlyListUlimit));
        }
        if (options.BuildArgs.Count > 0)
        {
            query.Add("buildargs", JsonMap(options.BuildArgs));
        }
        if (options.Labels.Count > 0)
        {
            query.Add("labels", JsonMap(options.Labels.ToDictionary(kv => kv.Key, kv => (string?)kv.Value, StringComparer.Ordinal)));
        }
        var content = new StreamContent(options.Context, 1 << 16);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        var response = await SendAsync(HttpMethod.Post, "/build", query, content, ct, HttpCompletionOption.ResponseHeadersRead,
            string.IsNullOrEmpty(options.RegistryConfig) ? null : (RegistryAuth.ConfigHeader, options.RegistryConfig)).ConfigureAwait(false);
        return new ImageBuildResult(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
    }

    // {"K":"V","N":null}, written by hand: no reflection over a dictionary in the AOT-compiled CLI.
    private static string JsonMap(IReadOnlyDictionary<string, string?> map) => JsonWrite(w =>
    {
        w.WriteStartObject();
        foreach (var (k, v) in map)
        {
            if (v is null)
            {
                w.WriteNull(k);
            }
            else
            {
                w.WriteString(k, v);
            }
        }
        w.WriteEndObject();
    });

    private static string JsonWrite(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            write(w);
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
