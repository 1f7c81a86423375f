using Berth.Core;
using Berth.Core.Interop;

namespace Berth.Daemon.Containers;

/// <summary>Resolves Docker's <c>--user</c> forms (name, uid, name:group, uid:gid) through the container's /etc/passwd and /etc/group.</summary>
internal static class UserResolver
{
    public sealed record ExecUser(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids, string Home);

    public static ExecUser Resolve(string rootfs, string? user, IReadOnlyList<string>? groupAdd)
    {
        var passwd = ReadDb(rootfs, "etc/passwd");
        var group = ReadDb(rootfs, "etc/group");
        string userPart = string.IsNullOrEmpty(user) ? "0" : user;
        string? groupPart = null;
        int colon = userPart.IndexOf(':');
        if (colon >= 0)
        {
            groupPart = userPart[(colon + 1)..];
            userPart = userPart[..colon];
        }

        uint uid, gid = 0;
        string home = "/";
        string? userName = null;
        var byName = passwd.FirstOrDefault(p => p.Length > 3 && p[0] == userPart);
        if (byName is not null)
        {
            userName = byName[0];
            uid = ParseId(byName[2]);
            gid = ParseId(byName[3]);
            if (byName.Length > 5 && byName[5].Length > 0) home = byName[5];
        }
        else if (uint.TryParse(userPart, out uid))
        {
            var byUid = passwd.FirstOrDefault(p => p.Length > 3 && p[2] == userPart);
            if (byUid is not null)
            {
                userName = byUid[0];
                gid = ParseId(byUid[3]);
                if (byUid.Length > 5 && byUid[5].Length > 0) home = byUid[5];
            }
        }
        else
        {
            throw new BerthException(ErrorKind.InvalidArgument, $"unable to find user {userPart}: no matching entries in passwd file");
        }

        if (groupPart is not null)
        {
            var g = group.FirstOrDefault(e => e.Length > 2 && e[0] == groupPart);
            if (g is not null) gid = ParseId(g[2]);
            else if (!uint.TryParse(groupPart, out gid))
                throw new BerthException(ErrorKind.InvalidArgument, $"unable to find group {groupPart}: no matching entries in group file");
        }

        // As dockerd: the primary group is a supplementary group too, then the user's groups, then --group-add.
        var extra = new List<uint> { gid };
        if (userName is not null && groupPart is null)
        {
            foreach (var g in group)
                if (g.Length > 3 && g[3].Split(',').Contains(userName) && uint.TryParse(g[2], out var gg) && gg != gid && !extra.Contains(gg))
                    extra.Add(gg);
        }
        foreach (var ga in groupAdd ?? [])
        {
            var g = group.FirstOrDefault(e => e.Length > 2 && e[0] == ga);
            uint id = g is not null ? ParseId(g[2]) : uint.TryParse(ga, out var n) ? n
                : throw new BerthException(ErrorKind.InvalidArgument, $"unable to find group {ga}: no matching entries in group file");
            if (!extra.Contains(id)) extra.Add(id);
        }
        return new ExecUser(uid, gid, extra, home);
    }

    private static uint ParseId(string s) => uint.TryParse(s, out var v) ? v : 0;

    private static List<string[]> ReadDb(string rootfs, string rel)
    {
        // Resolved inside the container's root: symlinks (/etc -> /host/etc, ../../..) stay in it.
        string path;
        try { path = Berth.Content.RootPath.Resolve(rootfs, rel.Split('/')); }
        catch (BerthException) { return []; }
        var list = new List<string[]>();
        const int MaxBytes = 16 * 1024 * 1024;
        try
        {
            // The container may have made this a device (/dev/zero), a FIFO or a symlink: only a regular file is read,
            // and no more of it than a real passwd file could need.
            using var file = Fs.OpenRegularNoFollow(path);
            if (file is null) return list;
            using var reader = new StreamReader(new BoundedStream(file, MaxBytes));
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                if (line.Length == 0 || line[0] == '#') continue;
                list.Add(line.Split(':'));
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return list;
    }

    /// <summary>Reads at most <c>limit</c> bytes of the inner stream, then reports its end.</summary>
    private sealed class BoundedStream(Stream inner, long limit) : Core.IO.ReadOnlyStream
    {
        private long _left = limit;

        public override int Read(Span<byte> buffer)
        {
            if (_left <= 0) return 0;
            int n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
            _left -= n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }
}
