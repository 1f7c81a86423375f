using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Text;

namespace Berth.Integration.Tests;

/// <summary>
/// /build with <c>remote</c> (as docker-py's <c>images.build(path=URL)</c> sends it): the daemon downloads a context
/// archive or a lone Dockerfile, or fetches a Git repository, all from a server on 127.0.0.1 that this test runs.
/// </summary>
public sealed class BuildRemoteTests(DaemonFixture d) : IClassFixture<DaemonFixture>, IAsyncLifetime
{
    private readonly EngineApi _api = new(d.Socket);
    private readonly StaticServer _server = new();
    private string Dir(string name) => Path.Combine(d.Root, "remote-" + name);

    public Task InitializeAsync()
    {
        _server.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _api.Dispose();
    }

    private async Task<ApiResponse> BuildAsync(string remote, string tag, string extra = "") =>
        await _api.PostAsync($"/build?remote={Uri.EscapeDataString(remote)}&t={tag}&rm=1{extra}");

    private async Task<string> RunAsync(string image, params string[] cmd)
    {
        var r = await d.DockerAsync(["run", "--rm", "--network", "none", image, .. cmd]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout;
    }

    private static byte[] TarGz(params (string Name, string Content)[] files)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var w = new TarWriter(gz, TarEntryFormat.Pax))
            foreach (var (name, content) in files)
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
        return ms.ToArray();
    }

    [Fact]
    public async Task ArchiveAndLoneDockerfileAreDownloaded()
    {
        string archiveTag = "br-archive-" + d.Tag, fileTag = "br-file-" + d.Tag;
        _server.Add("/ctx.tar.gz", "application/x-gzip",
            TarGz(("Dockerfile", "FROM busybox\nCOPY hello.txt /hello.txt\n"), ("hello.txt", "from the remote archive\n")));
        // Served as octet-stream, as servers often do for a file without an extension: the first bytes say it is text.
        _server.Add("/Dockerfile", "application/octet-stream", Encoding.UTF8.GetBytes($"FROM busybox\nRUN echo lone {d.Tag} > /r\n"));
        try
        {
            var archive = await BuildAsync($"{_server.Url}/ctx.tar.gz", archiveTag);
            Assert.Equal(HttpStatusCode.OK, archive.Status);
            Assert.Contains("Downloading build context from remote url: " + _server.Url + "/ctx.tar.gz", archive.Body);
            Assert.Contains("Successfully built", archive.Body);
            Assert.Equal("from the remote archive\n", await RunAsync(archiveTag, "cat", "/hello.txt"));

            var lone = await BuildAsync($"{_server.Url}/Dockerfile", fileTag);
            Assert.Contains("Successfully built", lone.Body);
            Assert.Equal($"lone {d.Tag}\n", await RunAsync(fileTag, "cat", "/r"));
        }
        finally
        {
            await d.DockerAsync("rmi", archiveTag, fileTag);
        }
    }

    [Fact]
    public async Task GitRepositoryAtARefAndDirectory()
    {
        var tag = "br-git-" + d.Tag;
        var work = Dir("git");
        // A repository whose default branch and feature branch differ; served by dumb HTTP (static files).
        var setup = await d.ShellAsync($"""
            set -e; rm -rf {work}; mkdir -p {work}/src/app; cd {work}/src
            git init -q -b main; echo main > app/which
            printf 'FROM busybox\nCOPY which /which\n' > app/Dockerfile
            git add -A; git -c user.name=t -c user.email=t@t commit -qm main
            git checkout -qb feature; echo feature > app/which; git -c user.name=t -c user.email=t@t commit -qam feature
            git checkout -q main; git clone -q --bare {work}/src {work}/repo.git; cd {work}/repo.git; git update-server-info
            """);
        Assert.True(setup.ExitCode == 0, setup.ToString());
        _server.AddDirectory("/repo.git", Path.Combine(work, "repo.git"));
        try
        {
            var feature = await BuildAsync($"{_server.Url}/repo.git#feature:app", tag);
            Assert.True(feature.Body.Contains("Successfully built"), feature.Body);
            Assert.Equal("feature\n", await RunAsync(tag, "cat", "/which"));

            // No fragment: the repository's default branch; the directory by itself.
            var main = await BuildAsync($"{_server.Url}/repo.git#:app", tag);
            Assert.True(main.Body.Contains("Successfully built"), main.Body);
            Assert.Equal("main\n", await RunAsync(tag, "cat", "/which"));

            // A directory that leaves the checkout, a ref that would be an option to git: clear errors.
            var outside = await BuildAsync($"{_server.Url}/repo.git#main:../..", tag);
            Assert.Contains("not within git root", outside.Body);
            var option = await BuildAsync($"{_server.Url}/repo.git#--upload-pack=touch /tmp/x{d.Tag}", tag);
            Assert.Equal(HttpStatusCode.BadRequest, option.Status);
            Assert.Contains("invalid git reference", option.Body);
            Assert.False(File.Exists($"/tmp/x{d.Tag}"));
            // The clone's working directories are gone.
            Assert.Empty(Directory.EnumerateDirectories(d.DataRoot, "git-*", SearchOption.AllDirectories));
        }
        finally
        {
            await d.DockerAsync("rmi", tag);
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task BadRemotesAreClearErrors()
    {
        _server.Add("/picture.png", "image/png", [0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]);
        var tag = "br-bad-" + d.Tag;
        var missing = await BuildAsync($"{_server.Url}/missing.tar", tag);
        Assert.True(missing.Body.Contains($"failed to GET {_server.Url}/missing.tar with status 404"), missing.Body);
        var png = await BuildAsync($"{_server.Url}/picture.png", tag);
        Assert.True(png.Body.Contains("unsupported Content-Type \\\"image/png\\\""), png.Body);
        var ftp = await BuildAsync("ftp://127.0.0.1/ctx.tar", tag);
        Assert.Equal(HttpStatusCode.BadRequest, ftp.Status);
        Assert.Contains("could not be recognized as URL", ftp.Body);
        Assert.Equal(1, (await d.DockerAsync("image", "inspect", tag)).ExitCode);
    }

    /// <summary>A static HTTP server on 127.0.0.1 with a free port: files added by path, 404 for the rest.</summary>
    private sealed class StaticServer : IAsyncDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Dictionary<string, (string Type, byte[] Body)> _files = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _dirs = new(StringComparer.Ordinal);
        private Task? _loop;

        public int Port { get; } = LoopbackRegistry.FreePort();
        public string Url => $"http://127.0.0.1:{Port}";

        public void Add(string path, string type, byte[] body)
        {
            lock (_files) _files[path] = (type, body);
        }

        public void AddDirectory(string prefix, string dir)
        {
            lock (_files) _dirs[prefix] = dir;
        }

        public void Start()
        {
            _listener.Prefixes.Add(Url + "/");
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext ctx;
                    try { ctx = await _listener.GetContextAsync(); }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
                    try { Answer(ctx); }
                    catch (Exception e) when (e is HttpListenerException or IOException) { }
                }
            });
        }

        private void Answer(HttpListenerContext ctx)
        {
            var path = ctx.Request.Url!.AbsolutePath;
            (string Type, byte[] Body)? found = null;
            lock (_files)
            {
                if (_files.TryGetValue(path, out var f)) found = f;
                else if (_dirs.FirstOrDefault(kv => path.StartsWith(kv.Key + "/", StringComparison.Ordinal)) is { Key: not null } dir)
                {
                    var file = Path.GetFullPath(Path.Combine(dir.Value, path[(dir.Key.Length + 1)..]));
                    if (file.StartsWith(dir.Value + "/", StringComparison.Ordinal) && File.Exists(file))
                        found = ("application/octet-stream", File.ReadAllBytes(file));
                }
            }
            var res = ctx.Response;
            res.KeepAlive = false; // one request per connection: the managed HttpListener's reuse is not what is tested here
            if (found is { } hit)
            {
                res.ContentType = hit.Type;
                res.ContentLength64 = hit.Body.Length;
                res.OutputStream.Write(hit.Body);
            }
            else
            {
                res.StatusCode = 404;
                res.OutputStream.Write("not here"u8);
            }
            res.Close();
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            if (_loop is not null) await _loop;
        }
    }
}
