using Berth.Api;
using Berth.Daemon.Containers;
using Berth.Daemon.Events;

namespace Berth.Daemon.Tests;

/// <summary>The event bus: stamping, Docker's shape, the ring and since/until replay, live delivery, slow subscribers.</summary>
public sealed class EventBusTests
{
    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly DateTimeOffset T0 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static long Nano(DateTimeOffset t) => (t - DateTimeOffset.UnixEpoch).Ticks * 100;

    internal static ContainerRecord Record(string id = "c0ffee", string name = "/web", Dictionary<string, string>? labels = null) => new()
    {
        Id = id.PadRight(64, '0'),
        Name = name,
        Created = T0,
        ImageRef = "busybox",
        ImageId = "sha256:" + new string('a', 64),
        Path = "true",
        Args = [],
        Config = new ContainerConfig { Image = "busybox", Labels = labels },
        HostConfig = new HostConfig(),
    };

    [Fact]
    public void ContainerEventHasDockersShapeAndLegacyFields()
    {
        var bus = new EventBus(new ManualTime(T0.AddTicks(1234567)));
        var e = bus.Container("create", Record(labels: new() { ["tier"] = "front" }));
        Assert.Equal("container", e.Type);
        Assert.Equal("create", e.Action);
        Assert.Equal("create", e.Status);
        Assert.Equal(e.Actor.ID, e.Id);
        Assert.Equal("busybox", e.From);
        Assert.Equal("local", e.Scope);
        Assert.Equal("web", e.Actor.Attributes["name"]);
        Assert.Equal("busybox", e.Actor.Attributes["image"]);
        Assert.Equal("front", e.Actor.Attributes["tier"]);
        Assert.Equal(Nano(T0) + 123456700, e.TimeNano);
        Assert.Equal(T0.ToUnixTimeSeconds(), e.Time);

        var json = System.Text.Json.JsonSerializer.Serialize(e, ApiJsonContext.Default.EventMessage);
        Assert.StartsWith("{\"status\":\"create\",\"id\":", json);
        Assert.Contains("\"Type\":\"container\",\"Action\":\"create\",\"Actor\":{\"ID\":", json);
        Assert.Contains("\"scope\":\"local\",\"time\":", json);
        Assert.Contains("\"timeNano\":", json);
    }

    [Fact]
    public void VolumeAndNetworkEventsLeaveOutTheLegacyFields()
    {
        var bus = new EventBus(new ManualTime(T0));
        var v = bus.Volume("create", "data");
        var json = System.Text.Json.JsonSerializer.Serialize(v, ApiJsonContext.Default.EventMessage);
        Assert.DoesNotContain("\"status\"", json);
        Assert.DoesNotContain("\"id\"", json);
        Assert.Equal("local", v.Actor.Attributes["driver"]);
        var n = bus.Network("connect", "netid", "bridge", "bridge", "cid");
        Assert.Null(n.Status);
        Assert.Equal("cid", n.Actor.Attributes["container"]);
    }

    [Fact]
    public void DieCarriesExitCodeAndKillTheSignal()
    {
        var bus = new EventBus(new ManualTime(T0));
        var r = Record() with { StartedAt = T0, FinishedAt = T0.AddSeconds(3) };
        var die = bus.Died(r, 7);
        Assert.Equal("7", die.Actor.Attributes["exitCode"]);
        Assert.Equal("3", die.Actor.Attributes["execDuration"]);
        Assert.Equal("15", bus.Killed(r, 15).Actor.Attributes["signal"]);
        Assert.Equal("/old", bus.Container("rename", r, ("oldName", "/old")).Actor.Attributes["oldName"]);
        Assert.Equal("exec_create: sh -c ls", bus.ExecCreated(r, "e1", ["sh", "-c", "ls"]).Action);
    }

    [Fact]
    public void TimesOnlyMoveForwardEvenWhenTheClockDoesNot()
    {
        var time = new ManualTime(T0);
        var bus = new EventBus(time);
        var a = bus.Volume("create", "a");
        var b = bus.Volume("create", "b");
        time.Now = T0.AddSeconds(-5);
        var c = bus.Volume("create", "c");
        Assert.True(b.TimeNano > a.TimeNano);
        Assert.True(c.TimeNano > b.TimeNano);
    }

    [Fact]
    public void NoReplayWithoutSinceOrUntil()
    {
        var bus = new EventBus(new ManualTime(T0));
        bus.Volume("create", "a");
        using var sub = bus.Subscribe(null, null, EventFilter.None, out var replay);
        Assert.Empty(replay);
    }

    [Fact]
    public void SinceAndUntilReplayTheWindowInOrder()
    {
        var time = new ManualTime(T0);
        var bus = new EventBus(time);
        for (int i = 0; i < 10; i++)
        {
            time.Now = T0.AddSeconds(i);
            bus.Volume("create", $"v{i}");
        }
        using var sub = bus.Subscribe(Nano(T0.AddSeconds(3)), Nano(T0.AddSeconds(6)), EventFilter.None, out var replay);
        Assert.Equal(["v3", "v4", "v5", "v6"], replay.Select(e => e.Actor.ID));

        using var onlyUntil = bus.Subscribe(null, Nano(T0.AddSeconds(1)), EventFilter.None, out var early);
        Assert.Equal(["v0", "v1"], early.Select(e => e.Actor.ID));

        using var zero = bus.Subscribe(0, null, EventFilter.None, out var everything);
        Assert.Equal(10, everything.Count);
    }

    [Fact]
    public void TheRingKeepsOnlyTheNewest()
    {
        var bus = new EventBus(new ManualTime(T0));
        for (int i = 0; i < EventBus.RingSize + 50; i++) bus.Volume("create", $"v{i}");
        using var sub = bus.Subscribe(0, null, EventFilter.None, out var replay);
        Assert.Equal(EventBus.RingSize, replay.Count);
        Assert.Equal("v50", replay[0].Actor.ID);
        Assert.Equal($"v{EventBus.RingSize + 49}", replay[^1].Actor.ID);
    }

    [Fact]
    public void ReplayIsFilteredToo()
    {
        var bus = new EventBus(new ManualTime(T0));
        bus.Container("create", Record("aa", "/one"));
        bus.Container("create", Record("bb", "/two"));
        bus.Volume("create", "one-volume");
        var filter = EventFilter.From(Filters.Parse("{\"container\":[\"two\"]}"));
        using var sub = bus.Subscribe(0, null, filter, out var replay);
        Assert.Single(replay);
        Assert.Equal("two", replay[0].Actor.Attributes["name"]);
    }

    [Fact]
    public async Task LiveEventsReachMatchingSubscribersOnlyAfterTheReplay()
    {
        var time = new ManualTime(T0);
        var bus = new EventBus(time);
        bus.Volume("create", "before");
        using var sub = bus.Subscribe(0, null, EventFilter.From(Filters.Parse("{\"type\":[\"volume\"]}")), out var replay);
        Assert.Equal(["before"], replay.Select(e => e.Actor.ID));
        bus.Container("create", Record());
        bus.Volume("destroy", "after");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var next = await sub.Reader.ReadAsync(cts.Token);
        Assert.Equal("after", next.Actor.ID);
        Assert.Equal("destroy", next.Action);
        Assert.False(sub.Reader.TryRead(out _));
    }

    [Fact]
    public async Task DisposingUnsubscribes()
    {
        var bus = new EventBus(new ManualTime(T0));
        var sub = bus.Subscribe(null, null, EventFilter.None, out _);
        Assert.Equal(1, bus.SubscriberCount);
        sub.Dispose();
        Assert.Equal(0, bus.SubscriberCount);
        bus.Volume("create", "x");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.False(await sub.Reader.WaitToReadAsync(cts.Token)); // completed, nothing pending
    }

    [Fact]
    public async Task ASubscriberThatFallsBehindIsCutOffAndPublishingGoesOn()
    {
        var bus = new EventBus(new ManualTime(T0));
        using var slow = bus.Subscribe(null, null, EventFilter.None, out _);
        for (int i = 0; i < EventBus.SubscriberBuffer + 10; i++) bus.Volume("create", $"v{i}");
        Assert.Equal(0, bus.SubscriberCount);
        int read = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var _ in slow.Reader.ReadAllAsync(cts.Token)) read++;
        Assert.Equal(EventBus.SubscriberBuffer, read);
        // The bus still works for new subscribers.
        using var fresh = bus.Subscribe(null, null, EventFilter.None, out _);
        bus.Volume("create", "later");
        Assert.True(fresh.Reader.TryRead(out var e) && e.Actor.ID == "later");
    }
}
