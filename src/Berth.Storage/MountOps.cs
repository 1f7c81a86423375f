using Berth.Core;
using Berth.Core.Interop;

namespace Berth.Storage;

/// <summary>Turns the <see cref="Mount"/> lists snapshotters emit into real mounts, and back.</summary>
public static class MountOps
{
    /// <summary>
    /// Mounts each of <paramref name="mounts"/> in order at <paramref name="target"/> (joined with the mount's own
    /// Target when it has one). On failure the mounts already made are undone.
    /// </summary>
    public static void MountAll(IReadOnlyList<Mount> mounts, string target)
    {
        var done = new List<string>();
        try
        {
            foreach (var m in mounts)
            {
                var at = string.IsNullOrEmpty(m.Target) ? target : Path.Combine(target, m.Target.TrimStart('/'));
                MountOne(m, at);
                done.Add(at);
            }
        }
        catch
        {
            for (int i = done.Count - 1; i >= 0; i--) Unmount(done[i]);
            throw;
        }
    }

    private static void MountOne(Mount m, string at)
    {
        ulong flags = 0;
        var data = new List<string>();
        foreach (var o in m.Options)
        {
            switch (o)
            {
                case "ro": flags |= Sys.MS_RDONLY; break;
                case "rw": flags &= ~Sys.MS_RDONLY; break;
                case "bind": flags |= Sys.MS_BIND; break;
                case "rbind": flags |= Sys.MS_BIND | Sys.MS_REC; break;
                case "nosuid": flags |= Sys.MS_NOSUID; break;
                case "nodev": flags |= Sys.MS_NODEV; break;
                case "noexec": flags |= Sys.MS_NOEXEC; break;
                default: data.Add(o); break;
            }
        }
        bool bind = m.Type == "bind" || (flags & Sys.MS_BIND) != 0;
        if (bind)
        {
            flags |= Sys.MS_BIND;
            Sys.CheckIo(Sys.Mount(m.Source, at, null, flags & (Sys.MS_BIND | Sys.MS_REC), null), $"bind mount {m.Source} on {at}");
            // A bind mount ignores every flag but MS_BIND|MS_REC; read-only and the rest need a remount.
            ulong extra = flags & (Sys.MS_RDONLY | Sys.MS_NOSUID | Sys.MS_NODEV | Sys.MS_NOEXEC);
            if (extra != 0)
            {
                int r = Sys.Mount(null, at, null, Sys.MS_REMOUNT | Sys.MS_BIND | extra, null);
                if (r != 0)
                {
                    int errno = Sys.Errno;
                    Unmount(at);
                    throw new BerthException(ErrorKind.Unknown, $"remount {at} read-only: {Sys.ErrorText(errno)}");
                }
            }
            return;
        }
        Sys.CheckIo(Sys.Mount(m.Source, at, m.Type, flags, data.Count > 0 ? string.Join(',', data) : null), $"mount {m.Type} on {at}");
    }

    /// <summary>
    /// Unmounts everything stacked at <paramref name="target"/>; a busy mount is detached lazily. Not being a
    /// mount point is not an error.
    /// </summary>
    public static void Unmount(string target)
    {
        for (int i = 0; i < 32; i++)
        {
            if (Sys.Umount2(target, 0) == 0) continue;
            int errno = Sys.Errno;
            if (errno == Sys.EBUSY)
            {
                if (Sys.Umount2(target, Sys.MNT_DETACH) == 0) continue;
                errno = Sys.Errno;
            }
            if (errno is Sys.EINVAL or Sys.ENOENT) return;
            throw new BerthException(ErrorKind.Unknown, $"unmount {target}: {Sys.ErrorText(errno)}");
        }
    }

    /// <summary>Whether anything is mounted at or below <paramref name="dir"/> (this mount namespace's mountinfo).</summary>
    public static bool AnyMountUnder(string dir)
    {
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // Field 5 is the mount point, with spaces and the like escaped as octal (\040).
            var fields = line.Split(' ');
            if (fields.Length < 5) continue;
            var point = fields[4].Replace("\\040", " ", StringComparison.Ordinal);
            if (point == prefix || point.StartsWith(prefix + "/", StringComparison.Ordinal)) return true;
        }
        return false;
    }
}

/// <summary>Where a layer is written for a prepared snapshot, and how its whiteouts must be expressed there.</summary>
public static class ApplyTarget
{
    /// <summary>
    /// Overlay: the upperdir, with overlay whiteouts (the lower layers stay untouched and are hidden by the kernel).
    /// Bind: the source directory itself, a full tree in which whiteouts are deletions.
    /// </summary>
    public static (string Dir, WhiteoutMode Mode) For(IReadOnlyList<Mount> mounts)
    {
        if (mounts.Count != 1)
            throw BerthException.Invalid($"cannot apply a layer to {mounts.Count} mounts; expected exactly one");
        var m = mounts[0];
        if (m.Type == "overlay")
        {
            var upper = m.Options.FirstOrDefault(o => o.StartsWith("upperdir=", StringComparison.Ordinal))
                ?? throw BerthException.Invalid("cannot apply a layer to a read-only overlay (no upperdir)");
            return (upper["upperdir=".Length..], WhiteoutMode.Overlay);
        }
        if (m.Type == "bind" || m.Options.Contains("bind") || m.Options.Contains("rbind"))
        {
            if (m.Options.Contains("ro"))
                throw BerthException.Invalid($"cannot apply a layer to read-only bind mount of {m.Source}");
            return (m.Source, WhiteoutMode.Delete);
        }
        throw BerthException.Invalid($"cannot apply a layer to a {m.Type} mount");
    }
}

/// <summary>Chooses a snapshotter by Docker's storage-driver name.</summary>
public static class StorageFactory
{
    public static IReadOnlyList<string> Drivers { get; } = ["overlay2", "vfs"];

    public static ISnapshotter Create(string driver, string root) => driver switch
    {
        "overlay2" or "overlay" => new Snapshots.OverlaySnapshotter(root),
        "vfs" => new Snapshots.VfsSnapshotter(root),
        _ => throw BerthException.Invalid($"unknown storage driver \"{driver}\" (supported: overlay2, vfs)"),
    };

    /// <summary>overlay2 when the kernel has overlayfs, vfs otherwise (Docker's default choice).</summary>
    public static string DefaultDriver()
    {
        try
        {
            return File.ReadLines("/proc/filesystems").Any(l => l.EndsWith("\toverlay", StringComparison.Ordinal)) ? "overlay2" : "vfs";
        }
        catch (IOException)
        {
            return "vfs";
        }
    }
}
