using Berth.Core;
using Berth.Daemon.Containers;

namespace Berth.Daemon.Tests;

public sealed class UserResolverTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"berth-daemon-test-{Guid.NewGuid():N}");
    private readonly string _rootfs;

    public UserResolverTests()
    {
        _rootfs = Path.Combine(_root, "rootfs");
        Directory.CreateDirectory(Path.Combine(_rootfs, "etc"));
        File.WriteAllText(Path.Combine(_rootfs, "etc", "passwd"), """
            root:x:0:0:root:/root:/bin/sh
            # a comment line
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
            alice:x:1000:1000:Alice:/home/alice:/bin/sh
            bob:x:1001:1001::/home/bob:/bin/sh
            nohome:x:1002:1002:::/bin/sh

            """);
        File.WriteAllText(Path.Combine(_rootfs, "etc", "group"), """
            root:x:0:
            daemon:x:1:
            alice:x:1000:
            bob:x:1001:
            wheel:x:10:alice
            staff:x:50:bob,alice
            audio:x:29:bob
            video:x:44:

            """);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    [Fact]
    public async Task ADeviceOrFifoAsPasswdOrGroup_IsNotRead()
    {
        // A container can make /etc/passwd a character device (an endless /dev/zero) or a FIFO nobody writes to:
        // the daemon must neither read forever nor block; such files count as absent.
        var passwd = Path.Combine(_rootfs, "etc", "passwd");
        var group = Path.Combine(_rootfs, "etc", "group");
        File.Delete(passwd);
        File.Delete(group);
        Assert.Equal(0, Berth.Core.Interop.Sys.Mknod(passwd, (uint)(Berth.Core.Interop.Fs.S_IFCHR | 0x1b6), (1 << 8) | 5)); // /dev/zero
        Assert.Equal(0, Berth.Core.Interop.Sys.Mknod(group, (uint)(Berth.Core.Interop.Fs.S_IFIFO | 0x1b6), 0));
        // Bounded: a resolver that blocks fails the test instead of hanging it.
        var user = await Task.Run(() => UserResolver.Resolve(_rootfs, "1000:50", null)).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1000u, user.Uid);
        Assert.Equal(50u, user.Gid);
        Assert.Throws<BerthException>(() => UserResolver.Resolve(_rootfs, "alice", null));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("root")]
    [InlineData("0")]
    public void Default_IsRoot(string? user)
    {
        var u = UserResolver.Resolve(_rootfs, user, null);
        Assert.Equal(0u, u.Uid);
        Assert.Equal(0u, u.Gid);
        Assert.Equal("/root", u.Home);
        // dockerd lists the primary group among the supplementary ones (`id` shows groups=0(root)).
        Assert.Equal([0u], u.AdditionalGids);
    }

    [Fact]
    public void ByName_TakesUidGidHome_AndGroupMemberships()
    {
        var u = UserResolver.Resolve(_rootfs, "alice", null);
        Assert.Equal(1000u, u.Uid);
        Assert.Equal(1000u, u.Gid);
        Assert.Equal("/home/alice", u.Home);
        Assert.Equal([10u, 50u, 1000u], u.AdditionalGids.Order());
    }

    [Fact]
    public void ByUid_FindsTheSameEntry()
    {
        var u = UserResolver.Resolve(_rootfs, "1001", null);
        Assert.Equal(1001u, u.Uid);
        Assert.Equal(1001u, u.Gid);
        Assert.Equal("/home/bob", u.Home);
        Assert.Equal([29u, 50u, 1001u], u.AdditionalGids.Order());
    }

    [Fact]
    public void UnknownUid_IsAllowed_WithGidZero()
    {
        var u = UserResolver.Resolve(_rootfs, "4242", null);
        Assert.Equal(4242u, u.Uid);
        Assert.Equal(0u, u.Gid);
        Assert.Equal("/", u.Home);
        Assert.Equal([0u], u.AdditionalGids);
    }

    [Fact]
    public void EmptyHomeField_FallsBackToRoot()
    {
        Assert.Equal("/", UserResolver.Resolve(_rootfs, "nohome", null).Home);
    }

    [Fact]
    public void NameColonGroupName()
    {
        var u = UserResolver.Resolve(_rootfs, "alice:staff", null);
        Assert.Equal(1000u, u.Uid);
        Assert.Equal(50u, u.Gid);
    }

    [Fact]
    public void NameColonGid()
    {
        var u = UserResolver.Resolve(_rootfs, "bob:44", null);
        Assert.Equal(1001u, u.Uid);
        Assert.Equal(44u, u.Gid);
    }

    [Fact]
    public void UidColonGid_Numeric_EvenWhenUnknown()
    {
        var u = UserResolver.Resolve(_rootfs, "5000:6000", null);
        Assert.Equal(5000u, u.Uid);
        Assert.Equal(6000u, u.Gid);
    }

    [Fact]
    public void UidColonGroupName()
    {
        var u = UserResolver.Resolve(_rootfs, "1000:video", null);
        Assert.Equal(1000u, u.Uid);
        Assert.Equal(44u, u.Gid);
    }

    [Fact]
    public void UnknownUserName_Throws()
    {
        var ex = Assert.Throws<BerthException>(() => UserResolver.Resolve(_rootfs, "mallory", null));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal("unable to find user mallory: no matching entries in passwd file", ex.Message);
    }

    [Fact]
    public void UnknownGroupName_Throws()
    {
        var ex = Assert.Throws<BerthException>(() => UserResolver.Resolve(_rootfs, "alice:nogroup", null));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
        Assert.Contains("unable to find group nogroup", ex.Message);
    }

    [Fact]
    public void GroupAdd_ByNameAndNumber_AppendsWithoutDuplicates()
    {
        var u = UserResolver.Resolve(_rootfs, "bob", ["video", "77", "audio"]);
        Assert.Equal(1001u, u.Gid);
        Assert.Equal([29u, 44u, 50u, 77u, 1001u], u.AdditionalGids.Order());
        Assert.Equal(u.AdditionalGids.Count, u.AdditionalGids.Distinct().Count());
    }

    [Fact]
    public void GroupAdd_UnknownName_Throws()
    {
        var ex = Assert.Throws<BerthException>(() => UserResolver.Resolve(_rootfs, "bob", ["nogroup"]));
        Assert.Equal(ErrorKind.InvalidArgument, ex.Kind);
    }

    [Fact]
    public void NoPasswdFile_NumericWorks_NamesFail()
    {
        var empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);
        var u = UserResolver.Resolve(empty, "1000:1000", null);
        Assert.Equal((1000u, 1000u), (u.Uid, u.Gid));
        Assert.Throws<BerthException>(() => UserResolver.Resolve(empty, "alice", null));
    }

    [Fact]
    public void PasswdSymlinkOutOfRootfs_IsNotFollowed()
    {
        // A hostile image may point /etc/passwd at a host file; the resolver must not read through it.
        var outside = Path.Combine(_root, "host-passwd");
        File.WriteAllText(outside, "mallory:x:666:666::/m:/bin/sh\n");
        var rootfs = Path.Combine(_root, "evil");
        Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
        File.CreateSymbolicLink(Path.Combine(rootfs, "etc", "passwd"), outside);
        Assert.Throws<BerthException>(() => UserResolver.Resolve(rootfs, "mallory", null));
    }

    [Fact]
    public void EtcSymlinkOutOfRootfs_IsNotFollowed()
    {
        // The same escape one level up: /etc itself a symlink to a host directory.
        var hostEtc = Path.Combine(_root, "host-etc");
        Directory.CreateDirectory(hostEtc);
        File.WriteAllText(Path.Combine(hostEtc, "passwd"), "mallory:x:666:666::/m:/bin/sh\n");
        var rootfs = Path.Combine(_root, "evil2");
        Directory.CreateDirectory(rootfs);
        Directory.CreateSymbolicLink(Path.Combine(rootfs, "etc"), hostEtc);
        Assert.Throws<BerthException>(() => UserResolver.Resolve(rootfs, "mallory", null));
    }
}
