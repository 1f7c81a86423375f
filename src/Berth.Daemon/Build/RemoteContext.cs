using System.Formats.Tar;
using System.Text;
using System.Text.RegularExpressions;
using Berth.Api;
using Berth.Builder;
using Berth.Core;
using Berth.Daemon.Http;

namespace Berth.Daemon.Build;

/// <summary>
/// /build's <c>remote</c>: the context fetched by the daemon instead of sent in the body, as dockerd's classic builder
/// does. A Git repository (an http(s) URL ending in <c>.git</c>, <c>git://</c>, <c>git@</c>, <c>ssh://</c>,
/// <c>github.com/</c>; <c>#ref:subdir</c> picks a branch, tag or commit and a directory) is fetched with the host's
/// git and goes on as a tar of its checkout; another http(s) URL is downloaded: an archive is the context, plain text
/// the Dockerfile alone.
/// </summary>
internal static partial class RemoteContext
{
    /// <summary>What the type of a downloaded context may be (dockerd's list): a tar, compressed or not, or a Dockerfile.</summary>
    [GeneratedRegex(@"application/(?:(?:x-)?tar|octet-stream|(?:x-)?(?:gzip|bzip2?|xz))|text/plain")]
    private static partial Regex AcceptableType();

    [GeneratedRegex(@"\.git(?:#.+)?$")]
    private static partial Regex GitSuffix();

    /// <summary>A Dockerfile served alone is read whole; one this large is not a Dockerfile.</summary>
    private const int MaxDockerfile = 4 << 20;

    private static readonly HttpClient Http = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30) })
    {
        Timeout = Timeout.InfiniteTimeSpan, // a large context takes what it takes; the client's disconnect ends it
    };

    public static bool IsUrl(string s) => s.StartsWith("http://", StringComparison.Ordinal) || s.StartsWith("https://", StringComparison.Ordinal);

    public static bool IsGitUrl(string s) =>
        (IsUrl(s) && GitSuffix().IsMatch(s)) || new[] { "git://", "github.com/", "git@", "ssh://" }.Any(p => s.StartsWith(p, StringComparison.Ordinal));

    /// <summary>A remote the request may name (a 400 otherwise): an http(s) URL or a Git repository whose ref is no option.</summary>
    public static void Validate(string remote)
    {
        if (IsGitUrl(remote)) ParseGitUrl(remote);
        else if (!IsUrl(remote)) throw BerthException.Invalid($"remoteURL ({remote}) could not be recognized as URL");
    }

    /// <summary>
    /// Writes the context <paramref name="remote"/> names, as a tar (or a compressed one, as a body may be), to
    /// <paramref name="sink"/>. <paramref name="dockerfile"/> names a Dockerfile that is downloaded alone.
    /// </summary>
    public static Task FetchAsync(string remote, string dockerfile, string workDir, Func<ReadOnlyMemory<byte>, ValueTask> sink,
        Func<JsonMessage, Task> progress, CancellationToken ct)
    {
        if (IsGitUrl(remote)) return CloneAsync(remote, workDir, sink, ct);
        if (IsUrl(remote)) return DownloadAsync(remote, dockerfile, sink, progress, ct);
        throw BerthException.Invalid($"remoteURL ({remote}) could not be recognized as URL");
    }

    // ---- a URL ----

    private static async Task DownloadAsync(string url, string dockerfile, Func<ReadOnlyMemory<byte>, ValueTask> sink,
        Func<JsonMessage, Task> progress, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await Http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (Exception e) when (e is HttpRequestException or UriFormatException or ArgumentException)
        {
            throw new BuildFailedException($"error downloading remote context {url}: {e.Message}");
        }
        using (response)
        {
            if ((int)response.StatusCode >= 400)
            {
                var text = await response.Content.ReadAsStringAsync(ct);
                if (text.Length > 1024) text = text[..1024];
                throw new BuildFailedException(
                    $"error downloading remote context {url}: failed to GET {url} with status {(int)response.StatusCode} {response.ReasonPhrase}: {text.Trim()}");
            }
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            var (head, whole) = await Content.Compression.PeekAsync(body, 100, ct, leaveOpen: true);
            await using var _ = whole;
            if (head.Length == 0) throw new BuildFailedException($"error detecting content type for remote {url}: empty response");
            // Servers often call a file without an extension (a Dockerfile) octet-stream: the first bytes decide then.
            var type = response.Content.Headers.ContentType?.MediaType ?? "";
            if (type is "" or "application/octet-stream") type = LooksLikeText(head) ? "text/plain" : "application/octet-stream";
            var accepted = AcceptableType().Match(type);
            if (!accepted.Success)
                throw new BuildFailedException($"error detecting content type for remote {url}: unsupported Content-Type \"{type}\"");

            if (accepted.Value == "text/plain")
            {
                // The Dockerfile alone: a context of that one file.
                var text = new MemoryStream();
                var chunk = new byte[81920];
                int n;
                while ((n = await whole.ReadAsync(chunk, ct)) > 0)
                {
                    if (text.Length + n > MaxDockerfile) throw new BuildFailedException($"the Dockerfile at {url} is larger than {MaxDockerfile >> 20} MiB");
                    text.Write(chunk, 0, n);
                }
                await sink(SingleFileTar(dockerfile, text.ToArray()));
                return;
            }

            var status = "Downloading build context from remote url: " + url;
            long total = response.Content.Headers.ContentLength ?? 0, done = 0;
            var buffer = new byte[1 << 16];
            var shown = DateTime.UtcNow;
            int read;
            while ((read = await whole.ReadAsync(buffer, ct)) > 0)
            {
                await sink(buffer.AsMemory(0, read));
                done += read;
                if (DateTime.UtcNow - shown >= TimeSpan.FromMilliseconds(100))
                {
                    shown = DateTime.UtcNow;
                    await progress(JsonMessageStream.Status(null, status, done, total));
                }
            }
            await progress(JsonMessageStream.Status(null, status, done, total));
        }
    }

    /// <summary>Text if the first bytes are UTF-8 without control characters other than whitespace.</summary>
    private static bool LooksLikeText(byte[] head)
    {
        // The preamble may end inside a multi-byte character: only what decodes before that counts.
        var decoder = new UTF8Encoding(false, throwOnInvalidBytes: true).GetDecoder();
        var chars = new char[head.Length];
        try { decoder.Convert(head, chars, flush: false, out _, out int used, out _); chars = chars[..used]; }
        catch (DecoderFallbackException) { return false; }
        return chars.All(c => !char.IsControl(c) || c is '\n' or '\r' or '\t' or '\f');
    }

    private static byte[] SingleFileTar(string name, byte[] content)
    {
        var tar = new MemoryStream();
        using (var w = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name.TrimStart('/'))
            {
                DataStream = new MemoryStream(content),
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = DateTimeOffset.UnixEpoch,
            });
        return tar.ToArray();
    }

    // ---- a Git repository ----

    /// <summary>The repository, the ref (empty: the remote's HEAD) and the directory of a Git context's URL.</summary>
    internal static (string Url, string Ref, string Subdir) ParseGitUrl(string remote)
    {
        if (!(IsUrl(remote) || remote.StartsWith("git://", StringComparison.Ordinal) || remote.StartsWith("git@", StringComparison.Ordinal)
            || remote.StartsWith("ssh://", StringComparison.Ordinal)))
            remote = "https://" + remote; // github.com/...
        var hash = remote.IndexOf('#');
        var (url, fragment) = hash < 0 ? (remote, "") : (remote[..hash], remote[(hash + 1)..]);
        var colon = fragment.IndexOf(':');
        var (gitRef, subdir) = colon < 0 ? (fragment, "") : (fragment[..colon], fragment[(colon + 1)..]);
        // Neither may pass for one of git's options.
        if (gitRef.StartsWith('-') || url.StartsWith('-')) throw BerthException.Invalid($"invalid git reference in {remote}");
        return (url, gitRef, subdir);
    }

    private static async Task CloneAsync(string remote, string workDir, Func<ReadOnlyMemory<byte>, ValueTask> sink, CancellationToken ct)
    {
        var (url, gitRef, subdir) = ParseGitUrl(remote);
        var root = Path.Combine(workDir, $"git-{Guid.NewGuid():N}");
        var checkout = Path.Combine(root, "checkout");
        Directory.CreateDirectory(checkout);
        // No configuration but the repository's own, no prompt for credentials, no local or ext transports for
        // submodules; only the checkout's directory is written.
        var env = new Dictionary<string, string?>
        {
            ["HOME"] = root, ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_TERMINAL_PROMPT"] = "0", ["GIT_ASKPASS"] = "/bin/false",
            ["SSH_ASKPASS"] = "/bin/false", ["GIT_PROTOCOL_FROM_USER"] = "0",
        };
        async Task<HostToolResult> Git(params string[] args) =>
            await HostTool.RunAsync("git", ["-c", "protocol.file.allow=never", "-c", "protocol.ext.allow=never", .. args], null, ct, env, checkout);
        async Task GitChecked(string what, params string[] args)
        {
            var r = await Git(args);
            if (r.ExitCode != 0) throw new BuildFailedException($"{what}: {(r.Stderr + r.Stdout).Trim()}");
        }
        try
        {
            await GitChecked($"failed to init repo at {checkout}", "init", "-q");
            await GitChecked($"failed add origin repo at {url}", "remote", "add", "origin", url);
            var wanted = gitRef.Length > 0 ? gitRef : "HEAD";
            // Shallow where the server can (a dumb HTTP server cannot), else the whole history.
            var fetched = await Git("fetch", "-q", "--depth", "1", "origin", "--", wanted);
            if (fetched.ExitCode != 0) await GitChecked("error fetching", "fetch", "-q", "origin", "--", wanted);
            await GitChecked($"error checking out {wanted}", "checkout", "-q", "FETCH_HEAD");
            await GitChecked("error initializing submodules", "submodule", "update", "-q", "--init", "--recursive", "--depth=1");

            var dir = checkout;
            foreach (var part in subdir.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                dir = Path.Combine(dir, part);
                if (part is "." or ".." || new FileInfo(dir).LinkTarget is not null || !Directory.Exists(dir))
                    throw new BuildFailedException($"error setting git context, \"{subdir}\" not within git root or not a directory");
            }
            // As dockerd, the context is the checkout as it is, .git included.
            var tar = new SinkStream(sink);
            await TarFile.CreateFromDirectoryAsync(dir, tar, includeBaseDirectory: false, ct);
        }
        catch (BerthException e) when (e.Kind == ErrorKind.Unavailable) // git itself could not run
        {
            throw new BuildFailedException($"cannot build from a Git repository: {e.Message}");
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>A write-only stream that hands each write to the spool.</summary>
    private sealed class SinkStream(Func<ReadOnlyMemory<byte>, ValueTask> sink) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => sink(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => sink(buffer);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => sink(buffer.AsMemory(offset, count)).AsTask();
    }
}
