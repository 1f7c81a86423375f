using Berth.Daemon.Config;

namespace Berth.Daemon.Tests;

public sealed class DaemonOptionsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"berth-daemon-test-{Guid.NewGuid():N}");

    public DaemonOptionsTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    private string Write(string json)
    {
        var path = Path.Combine(_root, $"daemon-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void Keys_AreApplied()
    {
        var path = Write("""
            {
              "hosts": ["unix:///tmp/a.sock", "tcp://127.0.0.1:2375"],
              "data-root": "/srv/berth",
              "exec-root": "/run/b",
              "pidfile": "/run/b.pid",
              "log-level": "warn",
              "storage-driver": "vfs",
              "bridge": "br-test",
              "bip": "10.99.0.1/24",
              "cgroup-parent": "cg",
              "init-path": "/sbin/tini",
              "group": "docker",
              "debug": true,
              "log-opts": { "max-size": "10m", "max-file": "3" }
            }
            """);
        var o = new DaemonOptions();
        o.ApplyConfigFile(path, new HashSet<string>());
        Assert.Equal(["unix:///tmp/a.sock", "tcp://127.0.0.1:2375"], o.Hosts);
        Assert.Equal("/srv/berth", o.DataRoot);
        Assert.Equal("/run/b", o.ExecRoot);
        Assert.Equal("/run/b.pid", o.PidFile);
        Assert.Equal("warn", o.LogLevel);
        Assert.Equal("vfs", o.StorageDriver);
        Assert.Equal("br-test", o.BridgeName);
        Assert.Equal("10.99.0.1/24", o.Bip);
        Assert.Equal("cg", o.CgroupParent);
        Assert.Equal("/sbin/tini", o.InitPath);
        Assert.Equal("docker", o.SocketGroup);
        Assert.True(o.Debug);
        Assert.Equal(new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" }, o.LogOpts);
    }

    [Fact]
    public void Graph_IsTheOldNameOfDataRoot()
    {
        var o = new DaemonOptions();
        o.ApplyConfigFile(Write("""{"graph":"/old/place"}"""), new HashSet<string>());
        Assert.Equal("/old/place", o.DataRoot);
    }

    [Fact]
    public void FlagsWin_OverFileKeys()
    {
        var o = new DaemonOptions { DataRoot = "/from/flag", Debug = false };
        o.ApplyConfigFile(Write("""{"data-root":"/from/file","exec-root":"/run/file","debug":true}"""), new HashSet<string> { "data-root", "debug" });
        Assert.Equal("/from/flag", o.DataRoot);
        Assert.False(o.Debug);
        Assert.Equal("/run/file", o.ExecRoot);
    }

    [Fact]
    public void MissingKeys_KeepDefaults()
    {
        var o = new DaemonOptions();
        o.ApplyConfigFile(Write("{}"), new HashSet<string>());
        Assert.Equal("/var/lib/berth", o.DataRoot);
        Assert.Equal("/run/berth", o.ExecRoot);
        Assert.Empty(o.Hosts);
    }

    [Fact]
    public void UnknownKey_Rejected_NamingIt()
    {
        var o = new DaemonOptions();
        var ex = Assert.Throws<InvalidOperationException>(() => o.ApplyConfigFile(Write("""{"data-rot":"/x"}"""), new HashSet<string>()));
        Assert.Contains("unknown configuration key \"data-rot\"", ex.Message);
    }

    [Fact]
    public void DockerdKeys_BerthIgnores_AreAccepted()
    {
        var o = new DaemonOptions();
        o.ApplyConfigFile(Write("""{"live-restore":true,"log-driver":"json-file","registry-mirrors":[],"insecure-registries":["127.0.0.1:5000"]}"""), new HashSet<string>());
        Assert.Equal("/var/lib/berth", o.DataRoot);
    }

    [Fact]
    public void CommentsAndTrailingCommas_Allowed()
    {
        var o = new DaemonOptions();
        o.ApplyConfigFile(Write("""
            {
              // where state lives
              "data-root": "/c",
            }
            """), new HashSet<string>());
        Assert.Equal("/c", o.DataRoot);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"data-root\"")]
    public void NotAnObject_Rejected(string json)
    {
        Assert.Throws<InvalidOperationException>(() => new DaemonOptions().ApplyConfigFile(Write(json), new HashSet<string>()));
    }
}
