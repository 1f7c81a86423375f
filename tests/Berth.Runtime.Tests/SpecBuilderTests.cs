using System.Text.Json;
using Berth.Core;
using Berth.Runtime.Spec;

namespace Berth.Runtime.Tests;

public sealed class SpecBuilderTests
{
    private static ContainerProcessSpec Basic => new() { Args = ["sh"], RootfsPath = "/rootfs" };

    private static JsonElement Json(ContainerProcessSpec s) => JsonDocument.Parse(SpecBuilder.Serialize(SpecBuilder.Build(s))).RootElement;

    [Fact]
    public void Defaults_AreDockers()
    {
        var spec = SpecBuilder.Build(Basic);
        Assert.Equal(14, spec.Process.Capabilities!.Bounding!.Count);
        Assert.Contains("CAP_NET_BIND_SERVICE", spec.Process.Capabilities.Effective!);
        Assert.DoesNotContain("CAP_SYS_ADMIN", spec.Process.Capabilities.Permitted!);
        Assert.Equal(["pid", "ipc", "mount", "uts", "network"], spec.Linux!.Namespaces!.Select(n => n.Type));
        Assert.Null(spec.Linux.Namespaces!.Single(n => n.Type == "network").Path);
        Assert.Contains("/proc/kcore", spec.Linux.MaskedPaths!);
        Assert.Contains("/proc/sysrq-trigger", spec.Linux.ReadonlyPaths!);
        Assert.Equal("SCMP_ACT_ERRNO", spec.Linux.Seccomp!.DefaultAction);
        Assert.Equal(1u, spec.Linux.Seccomp.DefaultErrnoRet);
        Assert.Contains(spec.Mounts!, m => m.Destination == "/dev/shm" && m.Options!.Contains("size=67108864"));
        Assert.Contains(spec.Mounts!, m => m.Destination == "/sys" && m.Options!.Contains("ro"));
        var devices = spec.Linux.Resources!.Devices!;
        Assert.False(devices[0].Allow);
        Assert.Equal("rwm", devices[0].Access);
        Assert.Contains(devices, d => d.Allow && d.Major == 1 && d.Minor == 3);
        Assert.Equal("RLIMIT_NOFILE", spec.Process.Rlimits!.Single().Type);
        Assert.StartsWith("PATH=", spec.Process.Env![0]);
        var names = spec.Linux.Seccomp.Syscalls!.SelectMany(r => r.Names).ToHashSet();
        Assert.Contains("read", names);
        Assert.DoesNotContain("mount", names);
        Assert.DoesNotContain("unshare", names);
    }

    [Fact]
    public void Json_UsesSpecNames_AndOmitsNulls()
    {
        var j = Json(Basic with { CgroupsPath = "/berth/x", Memory = 1 << 20, PidsLimit = 10, NanoCpus = 1_500_000_000, OomScoreAdj = 5 });
        Assert.Equal("1.0.2", j.GetProperty("ociVersion").GetString());
        Assert.Equal("/berth/x", j.GetProperty("linux").GetProperty("cgroupsPath").GetString());
        Assert.Equal(5, j.GetProperty("process").GetProperty("oomScoreAdj").GetInt32());
        Assert.True(j.GetProperty("process").TryGetProperty("noNewPrivileges", out _));
        var res = j.GetProperty("linux").GetProperty("resources");
        Assert.Equal(1 << 20, res.GetProperty("memory").GetProperty("limit").GetInt64());
        Assert.Equal(10, res.GetProperty("pids").GetProperty("limit").GetInt64());
        Assert.Equal(150000, res.GetProperty("cpu").GetProperty("quota").GetInt64());
        Assert.Equal(100000, res.GetProperty("cpu").GetProperty("period").GetInt64());
        Assert.False(res.GetProperty("cpu").TryGetProperty("shares", out _));
        Assert.False(j.TryGetProperty("annotations", out _));
        Assert.Contains("\"defaultErrnoRet\":1", System.Text.Encoding.UTF8.GetString(SpecBuilder.Serialize(SpecBuilder.Build(Basic))));
        // Round trip.
        Assert.Equal("/berth/x", SpecBuilder.Deserialize(SpecBuilder.Serialize(SpecBuilder.Build(Basic with { CgroupsPath = "/berth/x" }))).Linux!.CgroupsPath);
    }

    [Fact]
    public void Capabilities_AddAndDrop_AcceptBothSpellings()
    {
        var spec = SpecBuilder.Build(Basic with { CapAdd = ["net_admin", "CAP_SYS_ADMIN"], CapDrop = ["chown", "CAP_KILL"] });
        var caps = spec.Process.Capabilities!.Bounding!;
        Assert.Contains("CAP_NET_ADMIN", caps);
        Assert.Contains("CAP_SYS_ADMIN", caps);
        Assert.DoesNotContain("CAP_CHOWN", caps);
        Assert.DoesNotContain("CAP_KILL", caps);
        // A granted capability opens the syscalls it governs (and clone with namespace flags).
        var names = spec.Linux!.Seccomp!.Syscalls!.SelectMany(r => r.Names).ToHashSet();
        Assert.Contains("mount", names);
        Assert.Contains("unshare", names);

        Assert.Empty(SpecBuilder.Build(Basic with { CapDrop = ["ALL"] }).Process.Capabilities!.Bounding!);
        Assert.Equal(["CAP_CHOWN"], SpecBuilder.Build(Basic with { CapDrop = ["ALL"], CapAdd = ["CHOWN"] }).Process.Capabilities!.Bounding!);
        Assert.Throws<BerthException>(() => SpecBuilder.Build(Basic with { CapAdd = ["NOT_A_CAP"] }));
    }

    [Fact]
    public void Privileged_LiftsConfinement()
    {
        var spec = SpecBuilder.Build(Basic with { Privileged = true });
        Assert.Null(spec.Linux!.Seccomp);
        Assert.Null(spec.Linux.MaskedPaths);
        Assert.Null(spec.Linux.ReadonlyPaths);
        Assert.True(spec.Linux.Resources!.Devices!.Single().Allow);
        Assert.True(spec.Process.Capabilities!.Bounding!.Count >= 14);
        Assert.DoesNotContain(spec.Mounts!, m => m.Destination == "/sys" && m.Options!.Contains("ro"));
    }

    [Fact]
    public void Network_JoinsPath_OrHost()
    {
        var joined = SpecBuilder.Build(Basic with { NetworkNamespacePath = "/run/berth/netns/abc" });
        Assert.Equal("/run/berth/netns/abc", joined.Linux!.Namespaces!.Single(n => n.Type == "network").Path);
        var host = SpecBuilder.Build(Basic with { NetworkMode = NetworkMode.Host, Hostname = "h" });
        Assert.DoesNotContain(host.Linux!.Namespaces!, n => n.Type is "network" or "uts");
        Assert.Null(host.Hostname);
    }

    [Fact]
    public void UserMounts_AndInit()
    {
        var spec = SpecBuilder.Build(Basic with
        {
            Init = true,
            InitPath = "/usr/libexec/berth-init",
            Mounts =
            [
                new Mount { Type = "bind", Source = "/data", Target = "/data", Options = ["ro"] },
                new Mount { Type = "tmpfs", Source = "tmpfs", Target = "/dev/shm", Options = ["size=1g"] },
            ],
        });
        Assert.Equal(["/sbin/docker-init", "--", "sh"], spec.Process.Args);
        Assert.Contains(spec.Mounts!, m => m.Destination == "/sbin/docker-init" && m.Source == "/usr/libexec/berth-init");
        var data = spec.Mounts!.Single(m => m.Destination == "/data");
        Assert.Equal(["rbind", "ro"], data.Options);
        Assert.Equal(["size=1g"], spec.Mounts!.Single(m => m.Destination == "/dev/shm").Options);
        Assert.Throws<BerthException>(() => SpecBuilder.Build(Basic with { Mounts = [new Mount { Type = "bind", Source = "/a", Target = "rel" }] }));
    }
}
