using System.Diagnostics;
using System.Security.Cryptography;
using Berth.Core.Interop;

namespace Berth.Network.Tests;

/// <summary>
/// A NetworkController on its own bridge (bt + 6 hex), /24 out of 10.213.0.0/16, nft table and temp roots.
/// Dispose removes everything it could have created, whatever the test did.
/// </summary>
internal sealed class TestNetwork : IAsyncDisposable
{
    private static readonly HashSet<int> UsedThirdOctets = [];
    private static readonly Lock UsedLock = new();

    public TestNetwork()
    {
        var hex = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        int third;
        lock (UsedLock)
        {
            int tries = 0;
            do third = RandomNumberGenerator.GetInt32(0, 256);
            while (!UsedThirdOctets.Add(third) && ++tries < 1000);
        }
        Prefix = $"10.213.{third}";
        Root = Path.Combine(Path.GetTempPath(), $"berth-test-net-{hex}");
        Options = new NetworkOptions
        {
            ExecRoot = Path.Combine(Root, "exec"),
            DataRoot = Path.Combine(Root, "data"),
            BridgeName = $"bt{hex}",
            BridgeCidr = $"{Prefix}.1/24",
            NftTablePrefix = $"berthtest{hex}",
        };
        Controller = new NetworkController(Options);
    }

    public string Root { get; }
    public string Prefix { get; }
    public NetworkOptions Options { get; }
    public NetworkController Controller { get; }
    public string Gateway => $"{Prefix}.1";
    public string NetnsDir => Path.Combine(Options.ExecRoot, "netns");

    public async ValueTask DisposeAsync()
    {
        try { await Controller.ShutdownAsync(removeBridge: true, CancellationToken.None); }
        catch (Exception) { /* fall through to the forced cleanup */ }
        if (Directory.Exists(NetnsDir))
            foreach (var f in Directory.EnumerateFiles(NetnsDir))
            {
                Sys.Umount2(f, Sys.MNT_DETACH);
                File.Delete(f);
            }
        await Run("ip", "link", "del", Options.BridgeName);
        await Run("nft", "delete", "table", "ip", Options.NftTablePrefix);
        lock (UsedLock) UsedThirdOctets.Remove(int.Parse(Prefix.Split('.')[2], System.Globalization.CultureInfo.InvariantCulture));
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    public static bool LinkExists(string name) => Directory.Exists($"/sys/class/net/{name}");

    public static async Task<(int Code, string Out, string Err)> Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(); throw; }
        return (p.ExitCode, await o, await e);
    }

    /// <summary>One ping with a few bounded retries (a fresh bridge port may drop the very first packet).</summary>
    public static async Task<bool> Ping(string? netns, string address)
    {
        for (int i = 0; i < 3; i++)
        {
            var r = netns is null
                ? await Run("/bin/busybox", "ping", "-c1", "-W1", address)
                : await Run("nsenter", $"--net={netns}", "/bin/busybox", "ping", "-c1", "-W1", address);
            if (r.Code == 0) return true;
        }
        return false;
    }
}
