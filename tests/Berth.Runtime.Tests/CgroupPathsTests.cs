using Berth.Runtime.Cgroups;

namespace Berth.Runtime.Tests;

public sealed class CgroupPathsTests
{
    [Theory]
    [InlineData(null, "/berth/abc")]
    [InlineData("", "/berth/abc")]
    [InlineData("/mine", "/mine/abc")]
    [InlineData("/a/b/", "/a/b/abc")]
    [InlineData("mine", "/system.slice/berthd.service/mine/abc")]
    [InlineData("a//b", "/system.slice/berthd.service/a/b/abc")]
    public void ContainerCgroupIsUnderItsParentOrTheDaemons(string? parent, string expected) =>
        Assert.Equal(expected, CgroupPaths.For(parent, "berth", "abc", () => "/system.slice/berthd.service"));

    [Fact]
    public void RelativeParentOfADaemonAtTheRootIsUnderTheRoot() =>
        Assert.Equal("/mine/abc", CgroupPaths.For("mine", "berth", "abc", () => "/"));

    [Theory]
    [InlineData("/mine", true)]
    [InlineData("mine.slice", true)]
    [InlineData("a/b", true)]
    [InlineData("/a/../../escape", false)]
    [InlineData("..", false)]
    [InlineData("./x", false)]
    [InlineData("/", false)]
    [InlineData("a\nb", false)]
    public void ParentsThatLeaveTheirTreeAreRefused(string parent, bool valid) =>
        Assert.Equal(valid, CgroupPaths.IsValidParent(parent));
}
