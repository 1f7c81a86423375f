using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Berth.Api;
using Berth.Core;

namespace Berth.Daemon.Containers;

/// <summary>
/// Runs <c>berth-fshelper</c> (src/Berth.FsHelper) on a leased container root: the helper enters a private mount
/// namespace, mounts the container's volumes and binds inside the root and chroots there, so no path it follows can
/// leave the container. Tars go through its stdin/stdout; its failures ("KIND\tmessage" on stderr) come back as
/// Docker's errors.
/// </summary>
internal static class FsHelperRunner
{
    private static string HelperPath
    {
        get
        {
            var beside = Path.Combine(AppContext.BaseDirectory, "berth-fshelper");
            return File.Exists(beside) ? beside : "berth-fshelper";
        }
    }

    /// <summary>The helper's command line for <paramref name="op"/> on <paramref name="lease"/>'s root.</summary>
    public static List<string> Args(string op, RootfsLease lease, string? path, bool withMounts = true)
    {
        var args = new List<string> { op, "--root", lease.Rootfs };
        if (withMounts)
        {
            foreach (var (dest, source) in lease.Binds)
            {
                bool rw = lease.Record.Mounts.FirstOrDefault(m => m.Destination == dest) is not { RW: false };
                args.AddRange([rw ? "--bind" : "--bind-ro", source, dest]);
            }
        }
        if (lease.Record.HostConfig.ReadonlyRootfs) args.Add("--readonly-rootfs");
        if (path is not null) args.AddRange(["--path", path]);
        return args;
    }

    /// <summary>A started helper: its stdout to read, stdin to write, and the outcome to check.</summary>
    public sealed class Run : IAsyncDisposable
    {
        private readonly Process _p;
        private readonly Task<string> _stderr;
        private readonly CancellationTokenRegistration _cancel;
        private readonly Func<string, string, BerthException> _error;

        public Run(List<string> args, Func<string, string, BerthException> error, CancellationToken ct)
        {
            _error = error;
            var psi = new ProcessStartInfo(HelperPath)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in args) psi.ArgumentList.Add(a);
            try
            {
                _p = Process.Start(psi) ?? throw new BerthException(ErrorKind.Unknown, "cannot start berth-fshelper");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new BerthException(ErrorKind.Unknown, $"cannot start berth-fshelper: {e.Message}");
            }
            _stderr = _p.StandardError.ReadToEndAsync(CancellationToken.None);
            // Only this helper, by the process we started: a client that leaves ends its work.
            _cancel = ct.Register(() => { try { _p.Kill(); } catch (InvalidOperationException) { } });
        }

        public Stream Stdout => _p.StandardOutput.BaseStream;
        public Stream Stdin => _p.StandardInput.BaseStream;

        /// <summary>Waits for the helper to end; its failure becomes the typed error it reported.</summary>
        public async Task CheckAsync()
        {
            try { _p.StandardInput.Close(); } catch (IOException) { }
            await _p.WaitForExitAsync(CancellationToken.None);
            var err = await _stderr;
            if (_p.ExitCode == 0) return;
            var line = err.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            var tab = line.IndexOf('\t');
            if (tab < 0) throw new BerthException(ErrorKind.Unknown, $"berth-fshelper failed (exit {_p.ExitCode}): {line}");
            throw _error(line[..tab], line[(tab + 1)..]);
        }

        public async ValueTask DisposeAsync()
        {
            await _cancel.DisposeAsync();
            if (!_p.HasExited)
            {
                try { _p.Kill(); } catch (InvalidOperationException) { }
                await _p.WaitForExitAsync(CancellationToken.None);
            }
            _p.Dispose();
        }
    }

    /// <summary>Maps a helper failure: notfound, invalid, forbidden, else a server error.</summary>
    public static BerthException Error(string kind, string message, Func<BerthException> notFound) => kind switch
    {
        "notfound" => notFound(),
        "invalid" => BerthException.Invalid(message),
        "forbidden" => new BerthException(ErrorKind.Forbidden, message),
        _ => new BerthException(ErrorKind.Unknown, message),
    };

    /// <summary>Reads the helper's first line (a JSON stat) from <paramref name="stdout"/>; null at end of output.</summary>
    public static async Task<(ContainerPathStat? Stat, byte[] Remainder)> ReadStatLineAsync(Stream stdout, CancellationToken ct)
    {
        var buf = new MemoryStream();
        var chunk = new byte[4096];
        while (true)
        {
            int n = await stdout.ReadAsync(chunk, ct);
            if (n == 0) return (null, []);
            int nl = Array.IndexOf(chunk, (byte)'\n', 0, n);
            if (nl < 0)
            {
                buf.Write(chunk, 0, n);
                if (buf.Length > 1 << 20) throw new BerthException(ErrorKind.Unknown, "berth-fshelper: stat line too long");
                continue;
            }
            buf.Write(chunk, 0, nl);
            return (ParseStat(buf.ToArray()), chunk[(nl + 1)..n]);
        }
    }

    private static ContainerPathStat ParseStat(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        long sec = r.GetProperty("mtimeSec").GetInt64();
        long nsec = r.GetProperty("mtimeNsec").GetInt64();
        return new ContainerPathStat
        {
            Name = r.GetProperty("name").GetString() ?? "",
            Size = r.GetProperty("size").GetInt64(),
            Mode = ContainerFiles.GoMode(r.GetProperty("mode").GetInt32()),
            Mtime = DateTimeOffset.UnixEpoch.AddTicks(sec * TimeSpan.TicksPerSecond + nsec / 100),
            LinkTarget = r.GetProperty("linkTarget").GetString() ?? "",
        };
    }

}
