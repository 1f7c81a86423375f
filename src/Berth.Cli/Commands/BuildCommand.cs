using System.Formats.Tar;
using System.IO.Pipelines;
using System.Text.Json.Nodes;
using Berth.Cli.CommandLine;
using Berth.Cli.Formatting;
using Berth.Client;

namespace Berth.Cli.Commands;

// docker build (the legacy builder's protocol, POST /build): a context directory tarred here, or a tar or a
// Dockerfile on stdin ("-"); the daemon's stream printed as docker prints it.
internal static class BuildCommand
{
    public static async Task<int> BuildAsync(CliContext ctx, ParsedArgs args)
    {
        var path = args.Positionals[0];
        var quiet = args.GetBool("quiet");
        var dockerfile = args.Get("file");
        if (path != "-" && (path.StartsWith("http://", StringComparison.Ordinal) || path.StartsWith("https://", StringComparison.Ordinal)
            || path.StartsWith("git@", StringComparison.Ordinal) || path.StartsWith("git://", StringComparison.Ordinal)))
        {
            throw new ExitException(1, $"unable to prepare context: remote contexts are not supported by berth: {path}");
        }
        if (path == "-" && dockerfile == "-")
        {
            throw new ExitException(1, "invalid argument: can't use stdin for both build context and dockerfile");
        }

        using var cts = new CancellationTokenSource();
        var counted = new CountingStream();
        Task producer;
        string? dockerfileInTar = dockerfile;
        if (path == "-")
        {
            var (stream, isTar) = await PeekStdinAsync(ctx.Stdin).ConfigureAwait(false);
            if (isTar)
            {
                counted.Inner = stream;
                producer = Task.CompletedTask;
            }
            else
            {
                // A Dockerfile, not an archive: sent as the only file of an empty context, as docker does.
                var text = new MemoryStream();
                await stream.CopyToAsync(text).ConfigureAwait(false);
                var tar = new MemoryStream();
                using (var w = new TarWriter(tar, TarEntryFormat.Gnu, leaveOpen: true))
                {
                    text.Position = 0;
                    w.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, "Dockerfile") { DataStream = text, Mode = (UnixFileMode)420 });
                }
                tar.Position = 0;
                counted.Inner = tar;
                dockerfileInTar = null;
                producer = Task.CompletedTask;
            }
        }
        else
        {
            // Checked before anything is sent: a missing directory or Dockerfile is the CLI's error, not the daemon's.
            BuildContextTar.Resolve(path, dockerfile);
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19));
            var nameReady = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            counted.Inner = pipe.Reader.AsStream();
            producer = Task.Run(async () =>
            {
                var writer = pipe.Writer.AsStream();
                try
                {
                    BuildContextTar.Write(path, dockerfile, writer, nameReady);
                    await writer.FlushAsync().ConfigureAwait(false);
                    await pipe.Writer.CompleteAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    nameReady.TrySetException(e);
                    // A broken context is never sent as a short tar: the request is abandoned.
                    await cts.CancelAsync().ConfigureAwait(false);
                    await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                    throw;
                }
            });
            // The Dockerfile's name in the tar (a generated one for a Dockerfile outside the context) is known before the first byte.
            dockerfileInTar = await nameReady.Task.ConfigureAwait(false);
        }

        var options = new ImageBuildOptions
        {
            Context = counted,
            Tags = args.GetAll("tag"),
            Dockerfile = dockerfileInTar,
            BuildArgs = BuildArgs(ctx, args.GetAll("build-arg")),
            Labels = Labels(args.GetAll("label")),
            Target = args.Get("target"),
            NetworkMode = args.Get("network"),
            NoCache = args.GetBool("no-cache"),
            Quiet = quiet,
            Pull = args.GetBool("pull"),
            Remove = args.GetBool("rm", true),
            ForceRemove = args.GetBool("force-rm"),
            Platform = args.Get("platform"),
            CacheFrom = args.GetAll("cache-from"),
            Memory = RunOptions.Bytes(args, "memory", 'm') ?? 0,
            MemorySwap = RunOptions.MemorySwap(args),
            CpuShares = RunOptions.Int(args, "cpu-shares", 'c') ?? 0,
            CpuPeriod = RunOptions.Int(args, "cpu-period", null) ?? 0,
            CpuQuota = RunOptions.Int(args, "cpu-quota", null) ?? 0,
            CpusetCpus = args.Get("cpuset-cpus"),
            CpusetMems = args.Get("cpuset-mems"),
            CgroupParent = args.Get("cgroup-parent"),
            ShmSize = RunOptions.Bytes(args, "shm-size", null) ?? 0,
            Ulimits = [.. args.GetAll("ulimit").Select(u => RunOptions.ParseUlimit(u, args))],
            ExtraHosts = args.GetAll("add-host"),
            SecurityOpt = args.GetAll("security-opt"),
            RegistryConfig = RegistryAuthCommands.RegistryConfig(ctx),
        };
        // As docker: a failed build leaves no ID from an earlier one in the --iidfile.
        if (args.Get("iidfile") is { Length: > 0 } staleIid) File.Delete(staleIid);
        ImageBuildResult result;
        try
        {
            result = await ctx.Client.ImageBuildAsync(options, cts.Token).ConfigureAwait(false);
        }
        catch (Exception) when (producer.IsFaulted || cts.IsCancellationRequested)
        {
            await producer.ConfigureAwait(false);
            throw;
        }
        await producer.ConfigureAwait(false);

        // Docker's progress line for the upload, its last state only ("\r\r\n" as docker's raw formatter leaves it).
        var progress = $"Sending build context to Docker daemon {Units.HumanSize(counted.Count, 4),8}\r\r\n";
        // Quiet: the upload's progress and the daemon's messages are held back (docker's progBuff and buildBuff).
        var buffer = new StringWriter();
        var progressBuffer = new StringWriter();
        if (quiet)
        {
            progressBuffer.Write(progress);
        }
        else
        {
            ctx.Out.Write(progress);
        }
        string? imageId = null;
        await using (result.Stream.ConfigureAwait(false))
        {
            var renderer = quiet ? new JsonMessageRenderer(buffer, terminal: false) : JsonMessageRenderer.For(ctx, ctx.Out);
            var error = await renderer.RenderAsync(result.Stream,
                aux => imageId = aux is JsonObject o && o["ID"] is JsonValue id && id.TryGetValue<string>(out var s) ? s : imageId).ConfigureAwait(false);
            if (error is not null)
            {
                // As docker: quiet output shown only on failure, then the error with the build's exit code.
                if (quiet)
                {
                    ctx.Err.Write(progressBuffer.ToString() + buffer);
                }
                ctx.Out.Flush();
                throw new ExitException(renderer.ErrorCode, error);
            }
        }
        if (args.Get("iidfile") is { Length: > 0 } iidfile)
        {
            if (imageId is null) throw new ExitException(1, "Server did not provide an image ID. Cannot write " + iidfile);
            await File.WriteAllTextAsync(iidfile, imageId).ConfigureAwait(false);
        }
        if (quiet)
        {
            // dockerd answers q=1 with the image ID as the only stream text; a daemon that sends only aux gets it from there.
            var text = buffer.ToString();
            if (text.Length > 0)
            {
                ctx.Out.Write(text);
            }
            else if (imageId is not null)
            {
                ctx.Out.WriteLine(imageId);
            }
        }
        return 0;
    }

    // --build-arg K=V, or K alone: the value from the environment when it is set, else the name only (null), as docker's ValidateEnv.
    internal static Dictionary<string, string?> BuildArgs(CliContext ctx, IReadOnlyList<string> values)
    {
        var map = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            var eq = v.IndexOf('=');
            if (eq == 0)
            {
                throw new UsageException($"invalid argument \"{v}\" for \"--build-arg\" flag: invalid environment variable: {v}");
            }
            if (eq > 0)
            {
                map[v[..eq]] = v[(eq + 1)..];
            }
            else
            {
                map[v] = ctx.Env(v);
            }
        }
        return map;
    }

    private static Dictionary<string, string> Labels(IReadOnlyList<string> values)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            var eq = v.IndexOf('=');
            if (eq < 0)
            {
                map[v] = "";
            }
            else
            {
                map[v[..eq]] = v[(eq + 1)..];
            }
        }
        return map;
    }

    // An archive on stdin (tar, gzip, bzip2, xz, zstd) goes to the daemon as it is; anything else is a Dockerfile.
    private static async Task<(Stream Stream, bool IsArchive)> PeekStdinAsync(Stream stdin)
    {
        var head = new byte[512];
        var n = 0;
        while (n < head.Length && await stdin.ReadAsync(head.AsMemory(n)).ConfigureAwait(false) is var r and > 0)
        {
            n += r;
        }
        var span = head.AsSpan(0, n);
        var archive = span.StartsWith((ReadOnlySpan<byte>)[0x1f, 0x8b]) || span.StartsWith("BZh"u8)
            || span.StartsWith((ReadOnlySpan<byte>)[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) || span.StartsWith((ReadOnlySpan<byte>)[0x28, 0xb5, 0x2f, 0xfd])
            || (n >= 262 && span.Slice(257, 5).SequenceEqual("ustar"u8));
        return (new ConcatStream(head.AsMemory(0, n), stdin), archive);
    }

    // The bytes already read, then the rest of the source.
    private sealed class ConcatStream(ReadOnlyMemory<byte> head, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _head = head;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_head.Length > 0)
            {
                var n = Math.Min(buffer.Length, _head.Length);
                _head.Span[..n].CopyTo(buffer);
                _head = _head[n..];
                return n;
            }
            return rest.Read(buffer);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_head.Length > 0)
            {
                return Read(buffer.Span);
            }
            return await rest.ReadAsync(buffer, ct).ConfigureAwait(false);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    // Counts what the request body reads, for the "Sending build context" line.
    private sealed class CountingStream : Stream
    {
        public Stream Inner { get; set; } = Null;
        public long Count { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Inner.Read(buffer, offset, count);
            Count += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            var n = await Inner.ReadAsync(buffer, ct).ConfigureAwait(false);
            Count += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
