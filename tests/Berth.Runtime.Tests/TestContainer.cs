using Berth.Core.Interop;
using Berth.Runtime.Runc;
using Berth.Runtime.Shim;
using Berth.Runtime.Spec;

namespace Berth.Runtime.Tests;

/// <summary>
/// One container for one test: its own temp dir (bundle, busybox rootfs, runc root, state, log), its own cgroup
/// parent "/berth-test-&lt;rand&gt;". Disposal ends the shim, force-deletes the container and removes the cgroups and
/// files, whatever state the test left them in.
/// </summary>
internal sealed class TestContainer : IAsyncDisposable
{
    private static readonly string[] CgroupRoots = Directory.Exists("/sys/fs/cgroup")
        ? Directory.GetDirectories("/sys/fs/cgroup")
        : [];

    private TestContainer(string dir, string id, string cgroupParent)
    {
        Dir = dir;
        Id = id;
        CgroupParent = cgroupParent;
    }

    public string Dir { get; }
    public string Id { get; }
    public string CgroupParent { get; }
    public string Bundle => Path.Combine(Dir, "bundle");
    public string Rootfs => Path.Combine(Bundle, "rootfs");
    public string RuncRoot => Path.Combine(Dir, "runc");
    public string StateDir => Path.Combine(Dir, "state");
    public string LogPath => Path.Combine(Dir, "ctr-json.log");
    public string SocketPath => Path.Combine(Dir, "s.sock");
    public string CgroupsPath => $"{CgroupParent}/{Id}";
    public ShimClient? Shim { get; private set; }

    public static TestContainer Prepare(ContainerProcessSpec? template = null, Func<ContainerProcessSpec, ContainerProcessSpec>? edit = null, string[]? args = null)
    {
        var rand = TestEnv.Rand();
        var t = new TestContainer(TestEnv.NewTempDir("rt"), $"berth-test-{rand}", $"/berth-test-{rand}");
        BusyboxRootfs.Create(t.Rootfs);
        var spec = template ?? new ContainerProcessSpec
        {
            Args = args ?? ["echo", "hi"],
            RootfsPath = t.Rootfs,
            Hostname = "berthtest",
            CgroupsPath = t.CgroupsPath,
        };
        if (edit is not null) spec = edit(spec);
        t.Spec = spec;
        SpecBuilder.WriteConfig(t.Bundle, SpecBuilder.Build(spec));
        return t;
    }

    /// <summary>The spec written to the bundle; the shim is told what it needs of it on its command line.</summary>
    public ContainerProcessSpec Spec { get; private set; } = null!;

    public ShimLaunchOptions Options(bool openStdin = false, bool stdinOnce = false) => new()
    {
        ShimPath = TestEnv.ShimPath,
        RuncPath = TestEnv.Runc,
        RuncRoot = RuncRoot,
        Id = Id,
        BundleDir = Bundle,
        SocketPath = SocketPath,
        StateDir = StateDir,
        LogPath = LogPath,
        OpenStdin = openStdin,
        StdinOnce = stdinOnce,
        Terminal = Spec.Terminal,
        CgroupsPath = Spec.CgroupsPath,
    };

    public async Task<ShimClient> LaunchAsync(bool openStdin = false, bool stdinOnce = false)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Shim = await ShimClient.LaunchAsync(Options(openStdin, stdinOnce), cts.Token);
        return Shim;
    }

    /// <summary>Runs the container to completion and returns its exit status.</summary>
    public async Task<ExitStatus> RunAsync()
    {
        var shim = await LaunchAsync();
        await shim.StartAsync();
        return await WaitAsync(shim);
    }

    public static async Task<ExitStatus> WaitAsync(ShimClient shim)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await shim.WaitAsync(cts.Token);
    }

    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    public async ValueTask DisposeAsync()
    {
        // The shim first (by its recorded pid), so it cannot race the forced delete.
        var pidFile = Path.Combine(StateDir, "shim.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var shimPid) && shimPid > 1 && IsOurShim(shimPid))
            Sys.Kill(shimPid, 9);
        try
        {
            await new RuncDriver(TestEnv.Runc, RuncRoot).DeleteAsync(Id, force: true);
        }
        catch (Berth.Core.BerthException)
        {
        }
        foreach (var root in CgroupRoots.Append("/sys/fs/cgroup/unified"))
        {
            var parent = Path.Combine(root, CgroupParent.TrimStart('/'));
            // Processes may take a moment to leave a cgroup after a kill; bounded retries.
            for (int i = 0; i < 50 && Directory.Exists(parent); i++)
            {
                try
                {
                    foreach (var child in Directory.GetDirectories(parent)) Directory.Delete(child);
                    Directory.Delete(parent);
                }
                catch (IOException) { await Task.Delay(100); }
            }
        }
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    // Guards against pid reuse: only signal a process that is still a berth-shim serving our socket.
    private bool IsOurShim(int pid)
    {
        try
        {
            var cmd = File.ReadAllText($"/proc/{pid}/cmdline");
            return cmd.Contains(SocketPath, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
