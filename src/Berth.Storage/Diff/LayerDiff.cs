using Berth.Core;
using Berth.Core.Interop;

namespace Berth.Storage.Diff;

/// <summary>Docker's change kinds, with its wire values (<c>docker diff</c> prints C, A, D).</summary>
public enum ChangeKind
{
    Modified = 0,
    Added = 1,
    Deleted = 2,
}

/// <summary>One changed path of a writable layer, as <c>GET /containers/{id}/changes</c> reports it.</summary>
public readonly record struct LayerChange(string Path, ChangeKind Kind)
{
    public char Letter => Kind switch { ChangeKind.Added => 'A', ChangeKind.Deleted => 'D', _ => 'C' };
}

/// <summary>
/// What an active snapshot changed relative to its parent: the list of changes (<c>docker diff</c>) and the layer
/// tar that reproduces them on the parent (<c>docker commit</c>, and the builder's steps). Overlay snapshots are
/// read from their upper directory (whiteout devices and opaque directories become deletions); full-copy (vfs)
/// snapshots are compared with their parent's tree.
/// </summary>
public sealed class LayerDiff
{
    private const string OpaqueXattr = "trusted.overlay.opaque";

    private readonly string _tree;               // overlay: the upper dir; vfs: the snapshot's full tree
    private readonly IReadOnlyList<string> _lowers; // overlay: lower dirs, nearest first
    private readonly string? _parentTree;        // vfs: the parent's full tree (null: everything is new)
    private readonly bool _overlay;

    private LayerDiff(string tree, IReadOnlyList<string> lowers, string? parentTree, bool overlay, IReadOnlySet<string>? ignore)
    {
        Ignore = ignore ?? new HashSet<string>(StringComparer.Ordinal);
        _tree = tree;
        _lowers = lowers;
        _parentTree = parentTree;
        _overlay = overlay;
    }

    /// <summary>
    /// Paths (absolute, as in the container) that are not part of the layer: the mount points the runtime creates
    /// (<c>/etc/hosts</c>, <c>/proc</c>...), which Docker keeps in a separate init layer.
    /// </summary>
    public IReadOnlySet<string> Ignore { get; }

    /// <summary>The diff of active snapshot <paramref name="key"/> against its parent.</summary>
    public static LayerDiff For(ISnapshotter snapshotter, string key, IReadOnlySet<string>? ignore = null)
    {
        var info = snapshotter.Stat(key) ?? throw BerthException.NotFound($"snapshot {key}: not found");
        if (info.Kind != SnapshotKind.Active) throw BerthException.Invalid($"snapshot {key} is not active");
        var mounts = snapshotter.Mounts(key);
        if (mounts.Count != 1) throw BerthException.Invalid($"snapshot {key}: {mounts.Count} mounts, expected one");
        var m = mounts[0];
        if (m.Type == "overlay")
        {
            string Opt(string name) => m.Options.FirstOrDefault(o => o.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..]
                ?? throw BerthException.Invalid($"snapshot {key}: overlay mount without {name}");
            return new LayerDiff(Opt("upperdir"), Opt("lowerdir").Split(':'), null, overlay: true, ignore);
        }
        string? parentTree = null;
        if (info.Parent is not null)
        {
            var pm = snapshotter.Mounts(info.Parent);
            if (pm.Count != 1 || pm[0].Type != "bind")
                throw new BerthException(ErrorKind.NotImplemented, $"snapshot {key}: cannot compare with a parent mounted as {pm[0].Type}");
            parentTree = pm[0].Source;
        }
        return new LayerDiff(m.Source, [], parentTree, overlay: false, ignore);
    }

    /// <summary>A diff of two plain trees (vfs) or of an upper dir over lower dirs (overlay); for tests and tools.</summary>
    public static LayerDiff OfTrees(string tree, string? parentTree, IReadOnlySet<string>? ignore = null) =>
        new(tree, [], parentTree, overlay: false, ignore);

    public static LayerDiff OfOverlay(string upper, IReadOnlyList<string> lowers, IReadOnlySet<string>? ignore = null) =>
        new(upper, lowers, null, overlay: true, ignore);

    /// <summary>The changes in walk order: each directory before its content, names sorted ordinally.</summary>
    public IReadOnlyList<LayerChange> Changes(CancellationToken ct = default) =>
        Collect(ct).Select(e => new LayerChange(e.Path, e.Kind)).ToList();

    /// <summary>
    /// Writes the layer as an uncompressed OCI tar: added and modified entries with their content, deletions as
    /// <c>.wh.&lt;name&gt;</c>, directories that replace a lower one entirely followed by <c>.wh..wh..opq</c>.
    /// Returns how many changes it wrote: 0 is a tar of nothing, which a commit takes as no layer at all.
    /// </summary>
    public async Task<int> WriteTarAsync(Stream output, CancellationToken ct = default)
    {
        var entries = Collect(ct);
        // The layer's tree is written by the container through its merged view (which can plant symlinks between
        // a stat and an open): file content is opened beneath the tree with no symlink followed.
        await using var tar = new FsTarWriter(output, leaveOpen: true, beneath: _tree);
        foreach (var e in entries)
        {
            ct.ThrowIfCancellationRequested();
            var name = e.Path.TrimStart('/');
            if (e.Kind == ChangeKind.Deleted && !e.Opaque)
            {
                int slash = name.LastIndexOf('/');
                var marker = slash < 0 ? ".wh." + name : name[..(slash + 1)] + ".wh." + name[(slash + 1)..];
                await tar.WriteMarkerAsync(marker, e.Mtime, ct).ConfigureAwait(false);
                continue;
            }
            await tar.WriteEntryAsync(e.HostPath!, name, ct).ConfigureAwait(false);
            if (e.Opaque) await tar.WriteMarkerAsync(name + "/.wh..wh..opq", e.Mtime, ct).ConfigureAwait(false);
        }
        // No change is still a layer: the end-of-archive blocks alone (Docker's well-known empty layer), which the
        // tar writer only adds after an entry.
        if (entries.Count == 0) await output.WriteAsync(new byte[1024], ct).ConfigureAwait(false);
        return entries.Count;
    }

    private sealed record Entry(string Path, ChangeKind Kind, string? HostPath, bool Opaque, DateTimeOffset Mtime);

    private List<Entry> Collect(CancellationToken ct)
    {
        var list = new List<Entry>();
        _treeFd = Fs.OpenDirectoryPath(_tree);
        try
        {
            if (_overlay) WalkUpper(list, ct);
            else CompareTrees(_tree, _parentTree, "", list, ct);
        }
        finally
        {
            _treeFd.Dispose();
            _treeFd = null;
        }
        return list;
    }

    // The layer's tree, open while a walk runs. The container writes the tree through its merged view and may plant
    // symlinks in it at any moment: the walk stats and lists it relative to this handle with no symlink followed in
    // any component (openat2), so a directory swapped for a link never leads the walk to the host's files.
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _treeFd;

    private bool InTree(string hostPath) =>
        hostPath == _tree || hostPath.StartsWith(_tree.TrimEnd('/') + "/", StringComparison.Ordinal);

    /// <summary>lstat of <paramref name="hostPath"/> (below the tree), confined to it; null when gone or reached through a link.</summary>
    private Fs.StatX? StatInTree(string hostPath)
    {
        if (_treeFd is null || !InTree(hostPath)) return Fs.LStat(hostPath);
        var rel = hostPath[Math.Min(hostPath.Length, _tree.TrimEnd('/').Length)..].TrimStart('/');
        if (rel.Length == 0) return Fs.LStat(_tree);
        using var h = Fs.OpenBeneath(_treeFd, rel);
        return h is null ? null : Fs.FStat(h);
    }

    /// <summary>The names in the tree's directory <paramref name="hostPath"/>, listed from a handle opened confined to the tree.</summary>
    private List<string> ChildrenInTree(string hostPath)
    {
        if (_treeFd is null || !InTree(hostPath)) return [.. Children(hostPath)];
        var rel = hostPath[Math.Min(hostPath.Length, _tree.TrimEnd('/').Length)..].TrimStart('/');
        using var h = rel.Length == 0 ? null : Fs.OpenBeneath(_treeFd, rel);
        var dirFd = rel.Length == 0 ? _treeFd : h;
        if (dirFd is null || (Fs.FStat(dirFd).Mode & Fs.S_IFMT) != Fs.S_IFDIR) return [];
        // /proc/self/fd/N names the open directory itself, not a path that could have changed since.
        var dir = $"/proc/self/fd/{dirFd.DangerousGetHandle()}";
        try
        {
            return Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OfType<string>().ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }

    // ---- overlay: walk the upper dir, as moby's overlay changes do ----

    private void WalkUpper(List<Entry> list, CancellationToken ct)
    {
        var changedDirs = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        foreach (var c in ChildrenInTree(_tree).OrderDescending(StringComparer.Ordinal)) stack.Push("/" + c);
        while (stack.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var path = stack.Pop();
            var host = _tree + path;
            if (StatInTree(host) is not { } st) continue;
            bool isDir = (st.Mode & Fs.S_IFMT) == Fs.S_IFDIR;
            if (isDir)
                foreach (var c in ChildrenInTree(host).OrderDescending(StringComparer.Ordinal)) stack.Push(path + "/" + c);
            if (Ignore.Contains(path)) continue;

            var mtime = Mtime(st);
            Entry? change;
            if ((st.Mode & Fs.S_IFMT) == Fs.S_IFCHR && st.RdevMajor == 0 && st.RdevMinor == 0)
            {
                change = new Entry(path, ChangeKind.Deleted, null, false, mtime);
            }
            else if (isDir && Fs.GetXattr(host, OpaqueXattr) is [(byte)'y'])
            {
                change = new Entry(path, ChangeKind.Deleted, host, true, mtime);
            }
            else
            {
                var kind = ChangeKind.Added;
                foreach (var lower in _lowers)
                {
                    if (Fs.LStat(lower + path) is not { } ls) continue;
                    if (isDir && (ls.Mode & Fs.S_IFMT) == Fs.S_IFDIR && SameDir(st, ls, path)) goto next;
                    kind = ChangeKind.Modified;
                    break;
                }
                change = new Entry(path, kind, host, false, mtime);
            }
            if (isDir) changedDirs.Add(path);
            if (change.Kind is ChangeKind.Added or ChangeKind.Deleted)
            {
                var parent = Parent(path);
                if (parent != "/" && changedDirs.Add(parent))
                    list.Add(new Entry(parent, ChangeKind.Modified, _tree + parent, false, mtime));
            }
            list.Add(change);
        next:;
        }
    }

    /// <summary>
    /// A directory copied up only because something inside it changed is not itself a change. Its mtime counts
    /// unless the runtime created one of the ignored mount points in it.
    /// </summary>
    private bool SameDir(Fs.StatX upper, Fs.StatX lower, string path)
    {
        if (upper.Mode != lower.Mode || upper.Uid != lower.Uid || upper.Gid != lower.Gid) return false;
        if (Ignore.Any(i => Parent(i) == path)) return true;
        return upper.Size == lower.Size && SameTime(upper.Mtime, lower.Mtime);
    }

    // ---- vfs: compare two full trees, as moby's naive diff does ----

    private void CompareTrees(string newDir, string? oldDir, string path, List<Entry> list, CancellationToken ct)
    {
        var names = new SortedSet<string>(ChildrenInTree(newDir), StringComparer.Ordinal);
        if (oldDir is not null) names.UnionWith(Children(oldDir));
        foreach (var name in names)
        {
            ct.ThrowIfCancellationRequested();
            var child = path + "/" + name;
            if (Ignore.Contains(child)) continue;
            var newHost = newDir + "/" + name;
            var ns = StatInTree(newHost);
            var os = oldDir is null ? null : Fs.LStat(oldDir + "/" + name);
            int before = list.Count;
            if (ns is not { } n)
            {
                if (os is { } o) list.Add(new Entry(child, ChangeKind.Deleted, null, false, Mtime(o)));
                continue;
            }
            bool newIsDir = (n.Mode & Fs.S_IFMT) == Fs.S_IFDIR;
            bool recorded = false;
            if (os is not { } old)
            {
                list.Add(new Entry(child, ChangeKind.Added, newHost, false, Mtime(n)));
                recorded = true;
            }
            else if (StatDifferent(old, n))
            {
                list.Add(new Entry(child, ChangeKind.Modified, newHost, false, Mtime(n)));
                recorded = true;
            }
            if (newIsDir)
            {
                bool oldIsDir = os is { } od && (od.Mode & Fs.S_IFMT) == Fs.S_IFDIR;
                int mark = list.Count;
                CompareTrees(newHost, oldIsDir ? oldDir + "/" + name : null, child, list, ct);
                // Changes inside make the directory part of the layer, so its metadata is restored with them.
                if (list.Count > mark && !recorded)
                    list.Insert(before, new Entry(child, ChangeKind.Modified, newHost, false, Mtime(n)));
            }
        }
    }

    private static bool StatDifferent(Fs.StatX a, Fs.StatX b)
    {
        if (a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.RdevMajor != b.RdevMajor || a.RdevMinor != b.RdevMinor) return true;
        if ((a.Mode & Fs.S_IFMT) == Fs.S_IFDIR) return false;
        return !SameTime(a.Mtime, b.Mtime) || a.Size != b.Size;
    }

    // ---- helpers ----

    private static IEnumerable<string> Children(string dir)
    {
        if (Fs.LStat(dir) is not { } st || (st.Mode & Fs.S_IFMT) != Fs.S_IFDIR) return [];
        return Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OfType<string>();
    }

    private static string Parent(string path)
    {
        int i = path.LastIndexOf('/');
        return i <= 0 ? "/" : path[..i];
    }

    // Some filesystems keep only seconds: a zero nanosecond part on either side compares seconds only. Copies made
    // through .NET times (vfs snapshots) keep 100 ns, so that is the finest difference that counts.
    private static bool SameTime(Fs.StatXTimestamp a, Fs.StatXTimestamp b) =>
        a.Sec == b.Sec && (a.Nsec / 100 == b.Nsec / 100 || a.Nsec == 0 || b.Nsec == 0);

    private static DateTimeOffset Mtime(Fs.StatX st) =>
        DateTimeOffset.UnixEpoch.AddTicks(st.Mtime.Sec * TimeSpan.TicksPerSecond + st.Mtime.Nsec / 100);
}
