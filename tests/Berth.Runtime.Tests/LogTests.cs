using System.Text;
using Berth.Runtime.Logs;
using Berth.Runtime.Runc;

namespace Berth.Runtime.Tests;

public sealed class LogTests : IDisposable
{
    private readonly string _dir = TestEnv.NewTempDir("log");
    private string LogPath => Path.Combine(_dir, "c-json.log");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly DateTime T0 = new(2026, 11, 27, 22, 51, 32, DateTimeKind.Utc);

    [Fact]
    public void Encode_MatchesDockerJsonFile()
    {
        var line = Encoding.UTF8.GetString(JsonFileLogWriter.Encode("a\"b\\<&>\t\u0001é\n"u8, "stdout", T0.AddTicks(1234567)));
        Assert.Equal("{\"log\":\"a\\\"b\\\\\\u003c\\u0026\\u003e\\t\\u0001é\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-27T22:51:32.1234567Z\"}\n", line);
        Assert.EndsWith("\"time\":\"2026-11-27T22:51:32Z\"}\n", Encoding.UTF8.GetString(JsonFileLogWriter.Encode("x"u8, "stderr", T0)));
        Assert.EndsWith("\"time\":\"2026-11-27T22:51:32.5Z\"}\n", Encoding.UTF8.GetString(JsonFileLogWriter.Encode("x"u8, "stderr", T0.AddMilliseconds(500))));
    }

    [Fact]
    public void Writer_SplitsLines_KeepsPartials_PerStream()
    {
        using (var w = new JsonFileLogWriter(LogPath, 0, 1))
        {
            w.Write(1, "one\ntw"u8, T0);
            w.Write(2, "err\n"u8, T0);
            w.Write(1, "o\nthree"u8, T0);
            w.Complete(1, T0);
        }
        var entries = File.ReadAllLines(LogPath).Select(l => JsonFileLog.Parse(Encoding.UTF8.GetBytes(l))!).ToList();
        Assert.Equal(["one\n", "err\n", "two\n", "three"], entries.Select(e => Encoding.UTF8.GetString(e.Log)));
        Assert.Equal(["stdout", "stderr", "stdout", "stdout"], entries.Select(e => e.Stream));
        Assert.Equal(new DateTimeOffset(T0), entries[0].Time);
    }

    [Fact]
    public void Writer_Rotates_AndReaderReadsAllInOrder_WithTailAndSince()
    {
        using (var w = new JsonFileLogWriter(LogPath, 300, 3))
        {
            for (int i = 0; i < 20; i++) w.Write(1, Encoding.UTF8.GetBytes($"line {i:D2}\n"), T0.AddSeconds(i));
        }
        Assert.True(File.Exists(LogPath + ".1"));
        Assert.True(File.Exists(LogPath + ".2"));
        Assert.False(File.Exists(LogPath + ".3"));
        Assert.All(new[] { LogPath, LogPath + ".1", LogPath + ".2" }, f => Assert.True(new FileInfo(f).Length <= 300));

        var all = Read(new LogReadOptions());
        Assert.Equal("line 19\n", all[^1]);
        Assert.Equal(all.OrderBy(x => x, StringComparer.Ordinal), all);
        Assert.Equal(["line 18\n", "line 19\n"], Read(new LogReadOptions { Tail = 2 }));
        Assert.Empty(Read(new LogReadOptions { Tail = 0 }));
        Assert.Equal(["line 19\n"], Read(new LogReadOptions { Since = T0.AddSeconds(18) }));
        Assert.Equal(["line 17\n", "line 18\n"], Read(new LogReadOptions { Since = T0.AddSeconds(16), Until = T0.AddSeconds(18) }));
    }

    [Fact]
    public async Task Follow_SeesNewLines_AcrossRotation_AndStops()
    {
        var stop = new TaskCompletionSource();
        using var w = new JsonFileLogWriter(LogPath, 200, 2);
        w.Write(1, "first\n"u8, T0);
        var got = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reader = Task.Run(async () =>
        {
            await foreach (var e in JsonFileLog.ReadAsync(LogPath, new LogReadOptions { Follow = true, StopFollowing = stop.Task, PollInterval = TimeSpan.FromMilliseconds(10) }, cts.Token))
            {
                lock (got) got.Add(Encoding.UTF8.GetString(e.Log));
            }
        });
        for (int i = 0; i < 200; i++)
        {
            lock (got) if (got.Count > 0) break;
            await Task.Delay(10);
        }
        for (int i = 0; i < 10; i++)
        {
            w.Write(1, Encoding.UTF8.GetBytes($"n{i}\n"), T0);
            await Task.Delay(30);
        }
        stop.SetResult();
        await reader;
        Assert.Equal(["first\n", .. Enumerable.Range(0, 10).Select(i => $"n{i}\n")], got);
    }

    private List<string> Read(LogReadOptions o)
    {
        var list = new List<string>();
        var e = JsonFileLog.ReadAsync(LogPath, o).GetAsyncEnumerator();
        while (e.MoveNextAsync().AsTask().GetAwaiter().GetResult()) list.Add(Encoding.UTF8.GetString(e.Current.Log));
        return list;
    }

    [Fact]
    public async Task ShimClient_WithoutShim_IsNullOrRecordedStatus()
    {
        Assert.Null(Berth.Runtime.Shim.ShimClient.TryConnect(Path.Combine(_dir, "none.sock")));
        Assert.Null(Berth.Runtime.Shim.ShimClient.ReadExitStatus(_dir));
        var e = await Assert.ThrowsAsync<Berth.Core.BerthException>(() => Berth.Runtime.Shim.ShimClient.LaunchAsync(new Berth.Runtime.Shim.ShimLaunchOptions
        {
            ShimPath = Path.Combine(_dir, "no-such-shim"), RuncRoot = _dir, Id = "x", BundleDir = _dir,
            SocketPath = Path.Combine(_dir, "s.sock"), StateDir = Path.Combine(_dir, "state"),
        }, CancellationToken.None));
        Assert.Equal(Berth.Core.ErrorKind.Unavailable, e.Kind);
    }

    [Fact]
    public void Time_ParsesNanoseconds()
    {
        var t = JsonFileLog.ParseTime("2026-11-27T22:51:32.123456789Z");
        Assert.Equal(new DateTimeOffset(T0).AddTicks(1234567), t);
    }

    [Fact]
    public void RuncErrors_LoseTheLogrusDecoration()
    {
        Assert.Equal("container \"x\" does not exist",
            RuncDriver.CleanError("time=\"2026-11-27T22:51:32Z\" level=error msg=\"container \\\"x\\\" does not exist\"\n"));
        Assert.Equal("plain failure", RuncDriver.CleanError("plain failure\n"));
        Assert.Equal(Berth.Core.ErrorKind.NotFound, RuncDriver.Classify("container \"x\" does not exist"));
    }
}
