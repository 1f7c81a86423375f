using System.Formats.Tar;
using Berth.Core;
using Berth.Core.Interop;

namespace Berth.Storage.Diff;

/// <summary>
/// Writes filesystem entries into a tar stream (PAX), asynchronously and without buffering file content: the one
/// tar writer behind layer diffs, <c>docker cp</c> archives and <c>docker export</c>. Modes (with setuid/setgid/
/// sticky), owners, mtimes and symlinks are kept; a file met again through another hard link becomes a link entry.
/// </summary>
public sealed class FsTarWriter : IAsyncDisposable, IDisposable
{
    private readonly TarWriter _writer;

    // Where every written path lies (see the constructor), opened once; null when paths are used as they are.
    private readonly string? _beneath;
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _beneathFd;

    // The first archive name of every multiply-linked inode written so far.
    private readonly Dictionary<(uint, uint, ulong), string> _links = [];

    /// <summary>
    /// A writer onto <paramref name="output"/>. With <paramref name="beneath"/>, every file whose content is read
    /// lies below that directory and is opened relative to it with no symlink followed in any component (openat2),
    /// so a tree that others can change while it is read (a container's writable layer) cannot lead the reads out.
    /// </summary>
    public FsTarWriter(Stream output, bool leaveOpen = true, string? beneath = null)
    {
        _writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen);
        _beneath = beneath?.TrimEnd('/');
    }

    /// <summary>
    /// Writes the entry at <paramref name="hostPath"/> (never following a symlink) as <paramref name="name"/>;
    /// a directory's content is not included. Sockets are skipped, as Docker's archiver does.
    /// </summary>
    public async Task WriteEntryAsync(string hostPath, string name, CancellationToken ct)
    {
        if (Fs.LStat(hostPath) is not { } st) return;
        await WriteEntryAsync(hostPath, name, st, ct).ConfigureAwait(false);
    }

    public async Task WriteEntryAsync(string hostPath, string name, Fs.StatX st, CancellationToken ct)
    {
        if (Prepare(hostPath, name, st, out var data) is not { } entry) return;
        await using (data)
        {
            await _writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The synchronous <see cref="WriteEntryAsync(string, string, Fs.StatX, CancellationToken)"/>.</summary>
    public void WriteEntry(string hostPath, string name, Fs.StatX st)
    {
        if (Prepare(hostPath, name, st, out var data) is not { } entry) return;
        using (data)
        {
            _writer.WriteEntry(entry);
        }
    }

    /// <summary>
    /// The tar entry for <paramref name="hostPath"/> as lstat'ed in <paramref name="st"/>, or null when it is not
    /// archived. A regular file is opened here, before its header is written, without following a symlink and
    /// without blocking; it must still be the inode the header describes, else the entry is skipped (it changed
    /// while being archived, for example swapped for a link to a file elsewhere or a FIFO).
    /// </summary>
    private PaxTarEntry? Prepare(string hostPath, string name, Fs.StatX st, out FileStream? data)
    {
        data = null;
        int type = st.Mode & Fs.S_IFMT;
        if (type == Fs.S_IFDIR && !name.EndsWith('/')) name += "/";
        if (name.Length == 0) name = "./";
        if (type == Fs.S_IFREG)
        {
            var handle = OpenRegular(hostPath, st);
            if (handle is null) return null;
            data = new FileStream(handle, FileAccess.Read, bufferSize: 0, isAsync: false);
        }
        if (type != Fs.S_IFDIR && st.Nlink > 1)
        {
            var id = (st.DevMajor, st.DevMinor, st.Ino);
            if (_links.TryGetValue(id, out var first))
            {
                data?.Dispose();
                data = null;
                var link = NewEntry(TarEntryType.HardLink, name, st);
                link.LinkName = first;
                return link;
            }
            _links[id] = name;
        }
        PaxTarEntry entry;
        switch (type)
        {
            case Fs.S_IFDIR:
                entry = NewEntry(TarEntryType.Directory, name, st);
                break;
            case Fs.S_IFREG:
                entry = NewEntry(TarEntryType.RegularFile, name, st);
                // A file that grows or shrinks while it is archived must not corrupt the archive: exactly
                // the size in the header is written.
                entry.DataStream = new FixedLengthStream(data!, (long)st.Size);
                break;
            case Fs.S_IFLNK:
                entry = NewEntry(TarEntryType.SymbolicLink, name, st);
                entry.LinkName = new FileInfo(hostPath).LinkTarget ?? "";
                break;
            case Fs.S_IFCHR or Fs.S_IFBLK:
                entry = NewEntry(type == Fs.S_IFCHR ? TarEntryType.CharacterDevice : TarEntryType.BlockDevice, name, st);
                entry.DeviceMajor = (int)st.RdevMajor;
                entry.DeviceMinor = (int)st.RdevMinor;
                break;
            case Fs.S_IFIFO:
                entry = NewEntry(TarEntryType.Fifo, name, st);
                break;
            default:
                return null;
        }
        return entry;
    }

    /// <summary>
    /// A readable handle on the regular file <paramref name="st"/> describes, or null when the path no longer leads
    /// to it. Beneath a root: an O_PATH handle first (opening a FIFO or a device node swapped in would block or run
    /// its driver), checked, then reopened for reading. Otherwise (the confined helper, whose mounts are nodev):
    /// O_NOFOLLOW|O_NONBLOCK, then checked.
    /// </summary>
    private Microsoft.Win32.SafeHandles.SafeFileHandle? OpenRegular(string hostPath, Fs.StatX st)
    {
        if (_beneath is null)
        {
            var direct = Fs.OpenNoFollow(hostPath);
            if (direct is null) return null;
            if (IsFile(Fs.FStat(direct), st)) return direct;
            direct.Dispose();
            return null;
        }
        if (!hostPath.StartsWith(_beneath + "/", StringComparison.Ordinal))
            throw new BerthException(ErrorKind.InvalidArgument, $"{hostPath} is not below {_beneath}");
        _beneathFd ??= Fs.OpenDirectoryPath(_beneath.Length == 0 ? "/" : _beneath);
        // openat2 refuses an absolute path beneath a directory: "tree//f" must not turn into a skipped "/f".
        using var path = Fs.OpenBeneath(_beneathFd, hostPath[(_beneath.Length + 1)..].TrimStart('/'));
        if (path is null || !IsFile(Fs.FStat(path), st)) return null;
        return Fs.Reopen(path);
    }

    private static bool IsFile(in Fs.StatX real, in Fs.StatX st) => (real.Mode & Fs.S_IFMT) == Fs.S_IFREG && Fs.SameFile(real, st);

    /// <summary>An OCI whiteout: an empty regular file named <c>.wh.&lt;name&gt;</c> (or <c>.wh..wh..opq</c>).</summary>
    public Task WriteMarkerAsync(string name, DateTimeOffset mtime, CancellationToken ct)
    {
        var e = new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Mode = 0,
            ModificationTime = mtime,
        };
        return _writer.WriteEntryAsync(e, ct);
    }

    /// <summary>
    /// Writes a whole tree in walk order (each directory before its content, names sorted ordinally). Paths are
    /// root-relative components; <paramref name="hostOf"/> maps them to host paths (mount points switch to their
    /// source), <paramref name="nameOf"/> gives the archive name, and <paramref name="exclude"/> prunes subtrees.
    /// </summary>
    public async Task WriteTreeAsync(IReadOnlyList<string> start, Func<IReadOnlyList<string>, string> hostOf,
        Func<IReadOnlyList<string>, string> nameOf, Func<IReadOnlyList<string>, bool>? exclude, CancellationToken ct,
        bool includeStart = true)
    {
        foreach (var (parts, host, st) in Walk(start, hostOf, exclude, includeStart, ct))
            await WriteEntryAsync(host, nameOf(parts), st, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The synchronous <see cref="WriteTreeAsync"/>, for a caller that must do all its file work on one thread
    /// (the confined file helper: only its main thread is inside the container's root).
    /// </summary>
    public void WriteTree(IReadOnlyList<string> start, Func<IReadOnlyList<string>, string> hostOf,
        Func<IReadOnlyList<string>, string> nameOf, Func<IReadOnlyList<string>, bool>? exclude, CancellationToken ct,
        bool includeStart = true)
    {
        foreach (var (parts, host, st) in Walk(start, hostOf, exclude, includeStart, ct))
            WriteEntry(host, nameOf(parts), st);
    }

    private static IEnumerable<(List<string> Parts, string Host, Fs.StatX Stat)> Walk(IReadOnlyList<string> start,
        Func<IReadOnlyList<string>, string> hostOf, Func<IReadOnlyList<string>, bool>? exclude, bool includeStart, CancellationToken ct)
    {
        var stack = new Stack<List<string>>();
        stack.Push([.. start]);
        while (stack.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var parts = stack.Pop();
            if (exclude is not null && parts.Count > start.Count && exclude(parts)) continue;
            var host = hostOf(parts);
            if (Fs.LStat(host) is not { } st) continue;
            if (includeStart || parts.Count > start.Count) yield return (parts, host, st);
            if ((st.Mode & Fs.S_IFMT) != Fs.S_IFDIR) continue;
            List<string> children;
            try
            {
                children = Directory.EnumerateFileSystemEntries(host).Select(Path.GetFileName).OfType<string>()
                    .OrderDescending(StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is DirectoryNotFoundException or IOException)
            {
                continue; // removed or replaced since its lstat
            }
            foreach (var child in children) stack.Push([.. parts, child]);
        }
    }

    private static PaxTarEntry NewEntry(TarEntryType type, string name, Fs.StatX st) => new(type, name)
    {
        Mode = (UnixFileMode)(st.Mode & 0xFFF),
        Uid = (int)st.Uid,
        Gid = (int)st.Gid,
        ModificationTime = DateTimeOffset.UnixEpoch.AddTicks(st.Mtime.Sec * TimeSpan.TicksPerSecond + st.Mtime.Nsec / 100),
    };

    public ValueTask DisposeAsync()
    {
        _beneathFd?.Dispose();
        return _writer.DisposeAsync();
    }

    /// <summary>Finishes the archive synchronously (see <see cref="WriteTree"/>).</summary>
    public void Dispose()
    {
        _beneathFd?.Dispose();
        _writer.Dispose();
    }

    /// <summary>Exactly <c>length</c> bytes of the inner stream: cut when it grew, zero-padded when it shrank.</summary>
    private sealed class FixedLengthStream(Stream inner, long length) : Stream
    {
        private long _pos;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_pos >= length) return 0;
            var want = buffer[..(int)Math.Min(buffer.Length, length - _pos)];
            int n = inner.Read(want);
            if (n == 0)
            {
                want.Clear();
                n = want.Length;
            }
            _pos += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_pos >= length) return 0;
            var want = buffer[..(int)Math.Min(buffer.Length, length - _pos)];
            int n = await inner.ReadAsync(want, ct).ConfigureAwait(false);
            if (n == 0)
            {
                want.Span.Clear();
                n = want.Length;
            }
            _pos += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        public override long Seek(long offset, SeekOrigin origin)
        {
            if (offset == 0 && origin == SeekOrigin.Current) return _pos;
            throw new NotSupportedException();
        }

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
