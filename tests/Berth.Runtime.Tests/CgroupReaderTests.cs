using System.Text;
using System.Text.Json;
using Berth.Core;
using Berth.Runtime.Cgroups;

namespace Berth.Runtime.Tests;

/// <summary>Cgroup and /proc reading against fake trees written in a temp directory.</summary>
public sealed class CgroupReaderTests : IDisposable
{
    private readonly string _root = TestEnv.NewTempDir("cgroup");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string rel, string text)
    {
        var path = Path.Combine(_root, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private const string Cg = "/berth-x/abc";

    private void FakeV1(string memoryLimit = "9223372036854771712", string pidsMax = "max")
    {
        Write("memory/berth-x/abc/memory.usage_in_bytes", "10485760\n");
        Write("memory/berth-x/abc/memory.max_usage_in_bytes", "20971520\n");
        Write("memory/berth-x/abc/memory.failcnt", "3\n");
        Write("memory/berth-x/abc/memory.limit_in_bytes", memoryLimit + "\n");
        Write("memory/berth-x/abc/memory.stat", "cache 4096\nrss 8192\ninactive_file 1024\ntotal_cache 4096\ntotal_inactive_file 2048\n");
        Write("cpuacct/berth-x/abc/cpuacct.usage", "5000000000\n");
        Write("cpuacct/berth-x/abc/cpuacct.usage_percpu", "3000000000 2000000000 \n");
        Write("cpuacct/berth-x/abc/cpuacct.stat", "user 150\nsystem 50\n");
        Write("cpu/berth-x/abc/cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 12345\n");
        Write("pids/berth-x/abc/pids.current", "4\n");
        Write("pids/berth-x/abc/pids.max", pidsMax + "\n");
        Write("blkio/berth-x/abc/blkio.throttle.io_service_bytes", "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\nTotal 12288\n");
    }

    [Fact]
    public void V1_ReadsEveryController_InDockerUnits()
    {
        FakeV1(pidsMax: "50");
        var s = new CgroupReader(_root).Read(Cg, hostMemory: 8UL << 30);
        Assert.False(s.Unified);
        Assert.Equal(5_000_000_000UL, s.CpuTotal);
        Assert.Equal([3_000_000_000UL, 2_000_000_000UL], s.CpuPerCpu);
        // 150 and 50 ticks of USER_HZ=100 are 1.5 s and 0.5 s.
        Assert.Equal(1_500_000_000UL, s.CpuUser);
        Assert.Equal(500_000_000UL, s.CpuKernel);
        Assert.Equal((10UL, 2UL, 12345UL), (s.ThrottlePeriods, s.ThrottledPeriods, s.ThrottledTime));
        Assert.Equal(10_485_760UL, s.MemoryUsage);
        Assert.Equal(20_971_520UL, s.MemoryMaxUsage);
        Assert.Equal(3UL, s.MemoryFailcnt);
        Assert.Equal(2048UL, s.MemoryStat["total_inactive_file"]);
        Assert.Equal(1024UL, s.MemoryStat["inactive_file"]);
        Assert.Equal((4UL, 50UL), (s.PidsCurrent, s.PidsLimit));
        Assert.Equal(
            [new BlkioEntry(8, 0, "Read", 4096), new BlkioEntry(8, 0, "Write", 8192), new BlkioEntry(8, 0, "Sync", 0), new BlkioEntry(8, 0, "Async", 12288), new BlkioEntry(8, 0, "Total", 12288)],
            s.IoServiceBytes);
    }

    [Fact]
    public void V1_UnlimitedMemory_IsCappedAtHostMemory_AndPidsMaxIsZero()
    {
        FakeV1();
        var s = new CgroupReader(_root).Read(Cg, hostMemory: 8UL << 30);
        Assert.Equal(8UL << 30, s.MemoryLimit);
        Assert.Equal(0UL, s.PidsLimit);
    }

    [Fact]
    public void V1_SetLimit_IsKept()
    {
        FakeV1(memoryLimit: "67108864");
        Assert.Equal(67_108_864UL, new CgroupReader(_root).Read(Cg, hostMemory: 8UL << 30).MemoryLimit);
    }

    [Fact]
    public void V1_CombinedCpuCpuacctMount_IsFound()
    {
        Write("memory/berth-x/abc/memory.usage_in_bytes", "1\n");
        Write("cpu,cpuacct/berth-x/abc/cpuacct.usage", "777\n");
        Write("cpu,cpuacct/berth-x/abc/cpu.stat", "nr_periods 5\n");
        var s = new CgroupReader(_root).Read(Cg, 0);
        Assert.Equal(777UL, s.CpuTotal);
        Assert.Equal(5UL, s.ThrottlePeriods);
    }

    [Fact]
    public void MissingCgroup_IsNotFound()
    {
        var e = Assert.Throws<BerthException>(() => new CgroupReader(_root).Read(Cg, 0));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        Write("cgroup.controllers", "cpu memory pids io\n");
        Assert.Equal(ErrorKind.NotFound, Assert.Throws<BerthException>(() => new CgroupReader(_root).Read(Cg, 0)).Kind);
    }

    [Fact]
    public void EscapingPath_IsRejected()
    {
        Assert.Equal(ErrorKind.InvalidArgument, Assert.Throws<BerthException>(() => new CgroupReader(_root).Read("/../etc", 0)).Kind);
    }

    [Fact]
    public void V2_ReadsUnifiedFiles()
    {
        Write("cgroup.controllers", "cpuset cpu io memory pids\n");
        Write("berth-x/abc/cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 7\nnr_throttled 1\nthrottled_usec 3\n");
        Write("berth-x/abc/memory.current", "4194304\n");
        Write("berth-x/abc/memory.max", "max\n");
        Write("berth-x/abc/memory.stat", "anon 1024\nfile 2048\ninactive_file 512\n");
        Write("berth-x/abc/pids.current", "2\n");
        Write("berth-x/abc/pids.max", "100\n");
        Write("berth-x/abc/io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
        var reader = new CgroupReader(_root);
        Assert.True(reader.Unified);
        var s = reader.Read(Cg, hostMemory: 1UL << 30);
        Assert.True(s.Unified);
        Assert.Equal(2_500_000UL, s.CpuTotal);
        Assert.Null(s.CpuPerCpu);
        Assert.Equal((2_000_000UL, 500_000UL), (s.CpuUser, s.CpuKernel));
        Assert.Equal(3000UL, s.ThrottledTime);
        Assert.Equal(4_194_304UL, s.MemoryUsage);
        Assert.Null(s.MemoryMaxUsage);
        Assert.Equal(1UL << 30, s.MemoryLimit);
        Assert.Equal(512UL, s.MemoryStat["inactive_file"]);
        Assert.Equal((2UL, 100UL), (s.PidsCurrent, s.PidsLimit));
        Assert.Equal([new BlkioEntry(8, 0, "read", 100), new BlkioEntry(8, 0, "write", 200)], s.IoServiceBytes);
    }

    [Fact]
    public void ProcStat_SumsSevenFields_InNanoseconds_AndCountsCpus()
    {
        Write("stat", "cpu  100 1 50 1000 10 0 5 7 0 0\ncpu0 60 1 25 500 5 0 3 4 0 0\ncpu1 40 0 25 500 5 0 2 3 0 0\nintr 1 2 3\nctxt 99\n");
        var (ns, online) = HostCounters.ReadSystemCpu(Path.Combine(_root, "stat"), 100);
        // 100+1+50+1000+10+0+5 = 1166 ticks (steal left out) = 11.66 s.
        Assert.Equal(11_660_000_000UL, ns);
        Assert.Equal(2u, online);
    }

    [Fact]
    public void NetDev_ListsInterfacesWithoutLoopback()
    {
        Write("net/dev",
            "Inter-|   Receive                                                |  Transmit\n" +
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
            "    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\n" +
            "  eth0:    5338      36    1    2    0     0          0         0      648       8    3    4    0     0       0          0\n");
        var devs = HostCounters.ReadNetDev(Path.Combine(_root, "net/dev"));
        Assert.Equal(["eth0"], devs.Keys);
        Assert.Equal(new NetDevCounters(5338, 36, 1, 2, 648, 8, 3, 4), devs["eth0"]);
        Assert.Empty(HostCounters.ReadNetDev(Path.Combine(_root, "net/missing")));
    }

    [Fact]
    public void MemInfo_IsBytes()
    {
        Write("meminfo", "MemTotal:        8141772 kB\nMemFree:  1 kB\n");
        Assert.Equal(8141772UL * 1024, HostCounters.ReadHostMemory(Path.Combine(_root, "meminfo")));
    }

    [Fact]
    public void ResourceUpdate_WritesOnlyWhatChanges_InOciNames()
    {
        var json = Encoding.UTF8.GetString(new ResourceUpdate { Memory = 64 << 20, PidsLimit = 50, CpusetCpus = "0" }.ToRuncJson());
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(64 << 20, root.GetProperty("memory").GetProperty("limit").GetInt64());
        Assert.False(root.GetProperty("memory").TryGetProperty("swap", out _));
        Assert.Equal(50, root.GetProperty("pids").GetProperty("limit").GetInt64());
        Assert.Equal("0", root.GetProperty("cpu").GetProperty("cpus").GetString());
        Assert.False(root.TryGetProperty("blockIO", out _));
        Assert.True(new ResourceUpdate().IsEmpty);
        Assert.Equal("{}", Encoding.UTF8.GetString(new ResourceUpdate().ToRuncJson()));
    }
}
