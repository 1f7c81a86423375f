using System.Runtime.InteropServices;
using Berth.Content;
using Berth.Core.Interop;

namespace Berth.Builder;

/// <summary>File operations inside a root that never write through a symlink to outside it.</summary>
internal static partial class FileOps
{
    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LchownNative(string path, int uid, int gid);

    public static void Lchown(string path, int uid, int gid) => Fs.Check(LchownNative(path, uid, gid), $"lchown {path}");

    /// <summary>Creates every missing directory of <paramref name="parts"/> under the root (mode 0755, the given owner).</summary>
    public static string MkdirAll(string root, IReadOnlyList<string> parts, int uid, int gid)
    {
        var done = new List<string>();
        foreach (var p in parts)
        {
            done.Add(p);
            var resolved = RootPath.Resolve(root, done);
            if (Fs.LStat(resolved) is { } st)
            {
                if ((st.Mode & Fs.S_IFMT) != Fs.S_IFDIR)
                    throw new BuildFailedException($"cannot create directory /{string.Join('/', done)}: a file of that name exists");
                continue;
            }
            Directory.CreateDirectory(resolved);
            Fs.Chmod(resolved, 0x1ED); // 0755
            Lchown(resolved, uid, gid);
        }
        return RootPath.Resolve(root, parts);
    }

    /// <summary>Copies one regular file, directory or symlink (not a directory's content) to <paramref name="target"/>.</summary>
    public static void CopyEntry(string source, string target, (int Uid, int Gid) owner, uint? chmod)
    {
        var st = Fs.LStat(source) ?? throw new BuildFailedException($"file not found: {source}");
        int type = st.Mode & Fs.S_IFMT;
        var existing = Fs.LStat(target);
        if (existing is { } ex)
        {
            bool exDir = (ex.Mode & Fs.S_IFMT) == Fs.S_IFDIR;
            if (type == Fs.S_IFDIR && exDir)
            {
                // An existing directory keeps its place; its mode and owner follow the copy.
            }
            else if (exDir) Directory.Delete(target, recursive: true);
            else File.Delete(target);
        }
        if (type == Fs.S_IFDIR)
        {
            if (existing is null || (existing.Value.Mode & Fs.S_IFMT) != Fs.S_IFDIR) Directory.CreateDirectory(target);
        }
        else if (type == Fs.S_IFLNK)
        {
            File.CreateSymbolicLink(target, new FileInfo(source).LinkTarget ?? "");
        }
        else if (type == Fs.S_IFREG)
        {
            // The target does not exist now (removed above), so the copy cannot follow a planted symlink.
            File.Copy(source, target, overwrite: false);
        }
        else
        {
            return; // devices, fifos, sockets in a context are skipped, as the legacy builder does
        }
        Lchown(target, owner.Uid, owner.Gid);
        if (type != Fs.S_IFLNK)
        {
            Fs.Chmod(target, chmod ?? KeptMode(st.Mode, type));
            KeepTimes(st, target);
        }
    }

    /// <summary>
    /// A copied file's mode: the source's, less what the kernel's chown takes from a regular file (set-user-ID, and
    /// set-group-ID when the group may execute), since dockerd's builder chowns what it copied after writing it.
    /// </summary>
    private static uint KeptMode(int mode, int type)
    {
        var kept = (uint)(mode & 0xFFF);
        if (type != Fs.S_IFREG) return kept;
        kept &= ~0x800u; // S_ISUID
        if ((kept & 0x8) != 0) kept &= ~0x400u; // S_ISGID with S_IXGRP
        return kept;
    }

    /// <summary>Gives <paramref name="target"/> the modification time of what it was copied from.</summary>
    public static void KeepTimes(Fs.StatX source, string target)
    {
        var mtime = DateTimeOffset.FromUnixTimeSeconds(source.Mtime.Sec).AddTicks(source.Mtime.Nsec / 100);
        Fs.SetTimes(target, mtime, mtime);
    }
}
