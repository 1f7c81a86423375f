using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Berth.Api;

namespace Berth.Client;

// An Engine API client over a UNIX socket or TCP. Each call lives in its own file (ContainerStart.cs ...),
// taking XxxOptions and returning XxxResult, like moby's client package.
public sealed partial class BerthClient : IDisposable
{
    // The newest API version this client speaks; lowered to the daemon's if that is older.
    public const string MaxApiVersion = "1.51";

    private readonly HttpClient _http;
    private readonly SemaphoreSlim _negotiateLock = new(1, 1);
    private string? _version;

    public BerthClient(BerthHost host, string? apiVersion = null)
    {
        Host = host;
        _version = apiVersion;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) => new NetworkStream(await host.ConnectAsync(ct).ConfigureAwait(false), ownsSocket: true),
            UseProxy = false,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        _http = new HttpClient(handler)
        {
            BaseAddress = new Uri(host.IsUnix ? "http://api.moby.localhost" : $"http://{host.HostHeader}"),
            // Streams (logs -f, wait, attach) last as long as the container: no client-side timeout.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Berth-Client", "1.0"));
    }

    public BerthHost Host { get; }

    public string? ApiVersion => _version;

    public void Dispose()
    {
        _http.Dispose();
        _negotiateLock.Dispose();
    }

    // GET /_ping once, and talk the daemon's version when it is older than ours.
    internal async Task<string> NegotiateAsync(CancellationToken ct)
    {
        if (_version is not null)
        {
            return _version;
        }
        await _negotiateLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_version is not null)
            {
                return _version;
            }
            var ping = await PingAsync(ct).ConfigureAwait(false);
            _version = ping.ApiVersion is { } v && CompareVersions(v, MaxApiVersion) < 0 ? v : MaxApiVersion;
            return _version;
        }
        finally
        {
            _negotiateLock.Release();
        }
    }

    internal static int CompareVersions(string a, string b)
    {
        var pa = a.Split('.');
        var pb = b.Split('.');
        for (var i = 0; i < Math.Max(pa.Length, pb.Length); i++)
        {
            var x = i < pa.Length && int.TryParse(pa[i], CultureInfo.InvariantCulture, out var xi) ? xi : 0;
            var y = i < pb.Length && int.TryParse(pb[i], CultureInfo.InvariantCulture, out var yi) ? yi : 0;
            if (x != y)
            {
                return x.CompareTo(y);
            }
        }
        return 0;
    }

    internal async Task<string> VersionedPathAsync(string path, Query? query, CancellationToken ct)
    {
        var version = await NegotiateAsync(ct).ConfigureAwait(false);
        var q = query?.ToString() ?? "";
        return $"/v{version}{path}{q}";
    }

    // Sends a request and turns an error status into DockerApiException; the caller owns the response.
    internal async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, Query? query, HttpContent? content, CancellationToken ct,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, (string Name, string Value)? header = null)
    {
        var uri = await VersionedPathAsync(path, query, ct).ConfigureAwait(false);
        return await SendRawAsync(method, uri, content, ct, completion, header).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string uri, HttpContent? content, CancellationToken ct, HttpCompletionOption completion,
        (string Name, string Value)? header = null)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = content };
        if (header is { } h) request.Headers.TryAddWithoutValidation(h.Name, h.Value);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (e.InnerException is DaemonUnreachableException d)
        {
            throw d;
        }
        catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            throw new DaemonUnreachableException(Host.Raw, e);
        }
        if ((int)response.StatusCode >= 400)
        {
            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                throw new DockerApiException((int)response.StatusCode, ErrorMessage(body, response.StatusCode));
            }
        }
        return response;
    }

    internal static string ErrorMessage(string body, HttpStatusCode status)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject o && o["message"] is JsonValue m && m.TryGetValue<string>(out var msg))
            {
                return msg;
            }
        }
        catch (JsonException)
        {
        }
        body = body.Trim();
        return body.Length > 0 ? body : $"{(int)status} {status}";
    }

    internal async Task SendAndDiscardAsync(HttpMethod method, string path, Query? query, HttpContent? content, CancellationToken ct)
    {
        using var response = await SendAsync(method, path, query, content, ct).ConfigureAwait(false);
    }

    internal async Task<JsonNode?> SendForNodeAsync(HttpMethod method, string path, Query? query, HttpContent? content, CancellationToken ct)
    {
        using var response = await SendAsync(method, path, query, content, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    internal async Task<T> SendForAsync<T>(HttpMethod method, string path, Query? query, HttpContent? content, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await SendAsync(method, path, query, content, ct).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        return (await JsonSerializer.DeserializeAsync(stream, type, ct).ConfigureAwait(false))!;
    }

    internal static HttpContent JsonContent<T>(T value, JsonTypeInfo<T> type) =>
        new StringContent(JsonSerializer.Serialize(value, type), Encoding.UTF8, "application/json");

    internal static string Escape(string segment) => Uri.EscapeDataString(segment);
}

// Query-string builder that leaves out unset values.
internal sealed class Query
{
    private readonly List<KeyValuePair<string, string>> _items = [];

    public Query Add(string key, string? value)
    {
        if (value is not null)
        {
            _items.Add(new(key, value));
        }
        return this;
    }

    public Query Flag(string key, bool value, bool includeFalse = false)
    {
        if (value || includeFalse)
        {
            _items.Add(new(key, value ? "1" : "0"));
        }
        return this;
    }

    public Query Add(string key, long? value) => value is null ? this : Add(key, value.Value.ToString(CultureInfo.InvariantCulture));

    public Query Filters(IReadOnlyDictionary<string, IReadOnlyList<string>>? filters)
    {
        if (filters is null || filters.Count == 0)
        {
            return this;
        }
        var f = new Filters();
        foreach (var (k, vs) in filters)
        {
            foreach (var v in vs)
            {
                f.Add(k, v);
            }
        }
        return Add("filters", f.ToJson());
    }

    public override string ToString() =>
        _items.Count == 0 ? "" : "?" + string.Join("&", _items.Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value)));
}
