using System.Formats.Tar;
using Berth.Core;
using Berth.Core.Interop;

namespace Berth.Storage.Diff;

/// <summary>
/// Writes filesystem entries into a tar stream (PAX), asynchronously and without buffering file content: the one
/// tar writer behind layer diffs, <c>docker cp</c> archives and <c>docker export</c>. Modes (with setuid/setgid/
/// sticky), owners, mtimes and symlinks are kept; a file met again through another hard link becomes a link entry.
/// </summary>
public sealed class FsTarWriter : IAsyncDisposable
{
    private readonly TarWriter _writer;

    // The first archive name of every multiply-linked inode written so far.
    private readonly Dictionary<(uint, uint, ulong), string> _links = [];

    public FsTarWriter(Stream output, bool leaveOpen = true)
    {
        _writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen);
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
        int type = st.Mode & Fs.S_IFMT;
        if (type == Fs.S_IFDIR && !name.EndsWith('/')) name += "/";
        if (name.Length == 0) name = "./";
        if (type != Fs.S_IFDIR && st.Nlink > 1)
        {
            var id = (st.DevMajor, st.DevMinor, st.Ino);
            if (_links.TryGetValue(id, out var first))
            {
                var link = NewEntry(TarEntryType.HardLink, name, st);
                link.LinkName = first;
                await _writer.WriteEntryAsync(link, ct).ConfigureAwait(false);
                return;
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
                await using (var file = new FileStream(hostPath, new FileStreamOptions
                {
                    Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite,
                    Options = FileOptions.Asynchronous | FileOptions.SequentialScan, BufferSize = 0,
                }))
                {
                    // A file that grows or shrinks while it is archived must not corrupt the archive: exactly
                    // the size in the header is written.
                    entry.DataStream = new FixedLengthStream(file, (long)st.Size);
                    await _writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
                }
                return;
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
                return;
        }
        await _writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
    }

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
        var stack = new Stack<List<string>>();
        stack.Push([.. start]);
        while (stack.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var parts = stack.Pop();
            if (exclude is not null && parts.Count > start.Count && exclude(parts)) continue;
            var host = hostOf(parts);
            if (Fs.LStat(host) is not { } st) continue;
            if (includeStart || parts.Count > start.Count) await WriteEntryAsync(host, nameOf(parts), st, ct).ConfigureAwait(false);
            if ((st.Mode & Fs.S_IFMT) != Fs.S_IFDIR) continue;
            var children = Directory.EnumerateFileSystemEntries(host).Select(Path.GetFileName).OfType<string>()
                .OrderDescending(StringComparer.Ordinal);
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

    public ValueTask DisposeAsync() => _writer.DisposeAsync();

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
