using Berth.Content;
using Berth.Core.Interop;

namespace Berth.Builder;

public sealed partial class Executor
{
    /// <summary>The directories of <c>RUN --mount=type=cache</c> (kept across builds and restarts); null: cache mounts are refused.</summary>
    public CacheMounts? CacheMounts { get; init; }

    /// <summary>What a RUN step has set up for its mounts; disposing releases locks, leases and scratch copies.</summary>
    private sealed class PreparedMounts : IAsyncDisposable
    {
        public readonly List<StepMount> Mounts = [];
        public readonly List<Func<ValueTask>> Cleanup = [];

        public async ValueTask DisposeAsync()
        {
            for (int i = Cleanup.Count - 1; i >= 0; i--)
            {
                try { await Cleanup[i](); }
                catch (IOException) { /* best effort: a scratch copy that cannot be removed stays in the spool */ }
            }
            Cleanup.Clear();
        }
    }

    /// <summary>The step's <c>--mount</c> flags with build args substituted and targets made absolute (relative to WORKDIR, as BuildKit).</summary>
    private static List<RunMount> ParseMounts(Run run, State st, Instruction inst)
    {
        var list = new List<RunMount>();
        var lookup = Lookup(run, st);
        foreach (var (k, v) in inst.Flags)
        {
            if (k != "mount") continue;
            RunMount m;
            try { m = RunMount.Parse(ShellWords.ExpandVariables(v, lookup, run.File.Escape)); }
            catch (FormatException e) { throw run.Error(inst, $"--mount={v}: {e.Message}"); }
            var target = m.Target.StartsWith('/') ? m.Target : (st.Config.WorkingDir is { Length: > 0 } w ? w.TrimEnd('/') : "") + "/" + m.Target;
            target = "/" + string.Join('/', RootPath.Clean(target));
            if (target == "/") throw run.Error(inst, $"--mount={v}: cannot mount over the root directory");
            if (list.Any(o => o.Target == target)) throw run.Error(inst, $"--mount={v}: duplicate mount target {target}");
            list.Add(m with { Target = target });
        }
        return list;
    }

    private async Task<PreparedMounts> PrepareMountsAsync(Run run, Stage stage, Instruction inst, IReadOnlyList<RunMount> mounts)
    {
        var p = new PreparedMounts();
        try
        {
            // sharing=locked caches are taken all at once, in one order, so two builds that lock the same caches
            // in different orders (or one step that mounts a cache twice) cannot wait on each other.
            foreach (var id in mounts.Where(m => m.Type == "cache" && m.Sharing == "locked").Select(m => m.Id ?? m.Target).Distinct().Order(StringComparer.Ordinal))
            {
                if (CacheMounts is null) break;
                var locked = await CacheMounts.LockAsync(id, run.Ct);
                p.Cleanup.Add(() => { locked.Dispose(); return ValueTask.CompletedTask; });
            }
            foreach (var m in mounts)
            {
                switch (m.Type)
                {
                    case "tmpfs":
                        p.Mounts.Add(new StepMount("tmpfs", null, m.Target, false, m.Size));
                        break;
                    case "bind":
                        {
                            var (root, what) = await SourceRootAsync(run, stage, inst, m, p);
                            var host = ResolveSource(run, inst, m, root, what);
                            if (!m.ReadOnly)
                            {
                                // rw: the step writes into a scratch copy that is thrown away afterwards.
                                var scratch = Scratch(run, p);
                                var copy = Path.Combine(scratch, "src");
                                CopyAll(host, copy, run.Ct);
                                host = copy;
                            }
                            p.Mounts.Add(new StepMount("bind", host, m.Target, m.ReadOnly));
                            break;
                        }
                    case "cache":
                        p.Mounts.Add(new StepMount("bind", await CacheDirAsync(run, stage, inst, m, p), m.Target, m.ReadOnly));
                        break;
                }
            }
            return p;
        }
        catch
        {
            await p.DisposeAsync();
            throw;
        }
    }

    /// <summary>The host directory a bind's (or a cache's seed's) <c>source</c> is taken from: the context, or a stage's or image's root.</summary>
    private async Task<(string Root, string What)> SourceRootAsync(Run run, Stage stage, Instruction inst, RunMount m, PreparedMounts p)
    {
        if (m.From is null) return (run.Context.Dir, "build context");
        string image;
        if (FindStage(run, m.From, stage.Index) is { } s)
            image = s.ResultId ?? throw run.Error(inst, $"stage {m.From} has no image");
        else
            image = (await ImageAsync(run, m.From, run.Options.Platform, run.Options.Pull)).Id;
        var c = await containers.CreateAsync(new StepContainerSpec { ImageId = image, Cmd = ["/bin/sh"] }, run.Ct);
        p.Cleanup.Add(() => c.DisposeAsync());
        var root = await c.MountAsync(run.Ct);
        p.Cleanup.Add(() => { root.Dispose(); return ValueTask.CompletedTask; });
        return (root.Path, m.From);
    }

    /// <summary><c>source</c> inside its root: no climbing out with <c>..</c>, symlinks followed as if the root were <c>/</c>.</summary>
    private static string ResolveSource(Run run, Instruction inst, RunMount m, string root, string what)
    {
        var source = m.Source ?? "/";
        if (RootPath.ClimbsOut(source)) throw run.Error(inst, $"--mount source {source} is outside the {what}");
        var parts = RootPath.ResolveIn(x => Join(root, x), RootPath.Clean("/" + source), followLast: true);
        var host = Join(root, parts);
        if (Fs.LStat(host) is null) throw run.Error(inst, $"--mount source {source} not found in the {what}");
        return host;
    }

    private static string Scratch(Run run, PreparedMounts p)
    {
        var dir = run.Context.Dir.TrimEnd('/') + "-mount-" + Guid.NewGuid().ToString("N");
        Directory.CreateDirectory(dir);
        p.Cleanup.Add(() => { Directory.Delete(dir, recursive: true); return ValueTask.CompletedTask; });
        return dir;
    }

    /// <summary>The persistent directory of a cache mount, created with its mode and owner on first use.</summary>
    private async Task<string> CacheDirAsync(Run run, Stage stage, Instruction inst, RunMount m, PreparedMounts p)
    {
        if (CacheMounts is null) throw run.Error(inst, "RUN --mount=type=cache is not available in this builder");
        var id = m.Id ?? m.Target;
        var lease = CacheMounts.Acquire(id, $"cached mount {m.Target} from exec {inst.Args} with id \"{id}\"");
        p.Cleanup.Add(() => { lease.Dispose(); return ValueTask.CompletedTask; });
        if (m.Sharing == "private" && lease.Busy)
        {
            // Another build is using the cache: this one gets a fresh directory of its own, dropped afterwards.
            var dir = Path.Combine(Scratch(run, p), "cache");
            Create(dir, m);
            return dir;
        }
        if (!lease.Exists)
        {
            (string Root, string What)? seedRoot = m.From is null ? null : await SourceRootAsync(run, stage, inst, m, p);
            lease.Create(tmp =>
            {
                Create(tmp, m);
                if (seedRoot is not { } sr) return;
                // Seeded from a stage or image (its source path), as BuildKit's cache "from".
                var seed = ResolveSource(run, inst, m, sr.Root, sr.What);
                if (Directory.Exists(seed))
                    foreach (var e in new DirectoryInfo(seed).EnumerateFileSystemInfos())
                        CopyAll(e.FullName, Path.Combine(tmp, e.Name), run.Ct);
            });
        }
        return lease.Path;
    }

    private static void Create(string dir, RunMount m)
    {
        Directory.CreateDirectory(dir);
        Fs.Chmod(dir, m.Mode);
        FileOps.Lchown(dir, m.Uid, m.Gid);
    }

    /// <summary>Copies a file, symlink or directory tree with modes and owners (no symlink followed).</summary>
    private static void CopyAll(string source, string target, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var st = Fs.LStat(source) ?? throw new BuildFailedException($"file not found: {source}");
        FileOps.CopyEntry(source, target, ((int)st.Uid, (int)st.Gid), null);
        if ((st.Mode & Fs.S_IFMT) != Fs.S_IFDIR) return;
        foreach (var e in new DirectoryInfo(source).EnumerateFileSystemInfos())
            CopyAll(e.FullName, Path.Combine(target, e.Name), ct);
    }

    /// <summary>Mount points the runtime will make in the step's root, and the mtimes of the directories they go into.</summary>
    private sealed record Mountpoints(List<List<string>> Created, List<(List<string> Parts, DateTimeOffset Mtime)> Parents);

    /// <summary>
    /// The mount targets' directories that the image does not have: the runtime creates them as mount points, and
    /// they are removed again before the commit when still empty (their parent's mtime put back), so a mount leaves
    /// no trace in the layer, as with BuildKit.
    /// </summary>
    private static async Task<Mountpoints> MissingMountpointsAsync(IStepContainer c, IReadOnlyList<RunMount> mounts, CancellationToken ct)
    {
        var result = new Mountpoints([], []);
        using var root = await c.MountAsync(ct);
        foreach (var m in mounts)
        {
            var parts = RootPath.Clean(m.Target);
            for (int i = 1; i <= parts.Count; i++)
            {
                var prefix = parts.Take(i).ToList();
                if (result.Created.Any(x => x.SequenceEqual(prefix))) break;
                if (Fs.LStat(RootPath.Resolve(root.Path, prefix)) is not null) continue;
                var parent = prefix[..^1];
                if (Fs.LStat(RootPath.Resolve(root.Path, parent)) is { } ps && !result.Parents.Any(x => x.Parts.SequenceEqual(parent)))
                    result.Parents.Add((parent, DateTimeOffset.UnixEpoch.AddTicks(ps.Mtime.Sec * TimeSpan.TicksPerSecond + ps.Mtime.Nsec / 100)));
                for (int j = i; j <= parts.Count; j++) result.Created.Add(parts.Take(j).ToList());
                break;
            }
        }
        return result;
    }

    private static async Task RemoveMountpointsAsync(IStepContainer c, Mountpoints points, CancellationToken ct)
    {
        if (points.Created.Count == 0) return;
        using var root = await c.MountAsync(ct);
        foreach (var parts in points.Created.OrderByDescending(x => x.Count))
        {
            // The parent is resolved within the root: a symlink the step planted cannot lead the removal outside it.
            var host = RootPath.Resolve(root.Path, parts[..^1]).TrimEnd('/') + "/" + parts[^1];
            if (Fs.LStat(host) is not { } st) continue;
            int type = st.Mode & Fs.S_IFMT;
            if (type == Fs.S_IFDIR && !Directory.EnumerateFileSystemEntries(host).Any()) Directory.Delete(host);
            else if (type == Fs.S_IFREG && st.Size == 0) File.Delete(host);
        }
        foreach (var (parts, mtime) in points.Parents)
        {
            if (parts.Count == 0) continue;
            var host = RootPath.Resolve(root.Path, parts);
            if (Fs.LStat(host) is { } st && (st.Mode & Fs.S_IFMT) == Fs.S_IFDIR) Fs.SetTimes(host, mtime, mtime);
        }
    }
}
