using Berth.Api;
using Berth.Core;
using Berth.Daemon.Containers;
using ImageHealth = Berth.Content.HealthConfig;

namespace Berth.Daemon.Tests;

/// <summary>dockerd's healthcheck state machine (streak, retries, start period, log) driven by a manual clock.</summary>
public sealed class HealthRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private sealed class Clock(DateTimeOffset start)
    {
        public DateTimeOffset Now { get; private set; } = start;
        public void Advance(TimeSpan d) => Now += d;
    }

    private static HealthcheckResult Probe(int code, string output = "") => new() { ExitCode = code, Output = output };

    private static HealthSettings Settings(int retries = 3, TimeSpan? startPeriod = null) =>
        HealthRules.Settings(new HealthConfig
        {
            Test = ["CMD", "check"], Retries = retries, Interval = 1_000_000_000, StartInterval = 100_000_000,
            StartPeriod = (startPeriod ?? TimeSpan.Zero).Ticks * 100,
        })!;

    [Fact]
    public void Defaults_AreDockers()
    {
        var s = HealthRules.Settings(new HealthConfig { Test = ["CMD-SHELL", "curl -f localhost"] })!;
        Assert.True(s.Shell);
        Assert.Equal(["curl -f localhost"], s.Command);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Interval);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Timeout);
        Assert.Equal(3, s.Retries);
        Assert.Equal(TimeSpan.Zero, s.StartPeriod);
        Assert.Equal(TimeSpan.FromSeconds(5), s.StartInterval);
        Assert.Null(HealthRules.Settings(new HealthConfig { Test = ["NONE"] }));
        Assert.Null(HealthRules.Settings(new HealthConfig { Test = [] }));
        Assert.Null(HealthRules.Settings(null));
        Assert.Null(HealthRules.Settings(new HealthConfig { Test = ["BOGUS", "x"] }));
    }

    [Fact]
    public void Failures_CountUpToRetries_ThenUnhealthy_AndSuccessResets()
    {
        var clock = new Clock(T0);
        var s = Settings(retries: 3);
        var h = HealthRules.Begin(null);
        Assert.Equal("starting", h.Status);
        for (int i = 1; i <= 2; i++)
        {
            clock.Advance(s.Interval);
            h = HealthRules.Apply(h, Probe(1), clock.Now, T0, s);
            Assert.Equal(i, h.FailingStreak);
            Assert.Equal("starting", h.Status);
        }
        clock.Advance(s.Interval);
        h = HealthRules.Apply(h, Probe(2), clock.Now, T0, s);
        Assert.Equal(3, h.FailingStreak);
        Assert.Equal("unhealthy", h.Status);
        clock.Advance(s.Interval);
        h = HealthRules.Apply(h, Probe(0), clock.Now, T0, s);
        Assert.Equal("healthy", h.Status);
        Assert.Equal(0, h.FailingStreak);
        // Healthy → one failure keeps it healthy until the retries are used up again.
        h = HealthRules.Apply(h, Probe(1), clock.Now, T0, s);
        Assert.Equal(("healthy", 1), (h.Status, h.FailingStreak));
    }

    [Fact]
    public void FailuresDuringStartPeriod_DoNotCount_UnlessItWasHealthyAlready()
    {
        var clock = new Clock(T0);
        var s = Settings(retries: 1, startPeriod: TimeSpan.FromSeconds(10));
        var h = HealthRules.Begin(null);
        // The start interval applies while starting within the start period, the interval after it.
        Assert.Equal(s.StartInterval, HealthRules.NextInterval(s, h, T0, clock.Now));
        for (int i = 0; i < 5; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            h = HealthRules.Apply(h, Probe(1), clock.Now, T0, s);
        }
        Assert.Equal(("starting", 0), (h.Status, h.FailingStreak));
        clock.Advance(TimeSpan.FromSeconds(6)); // past the start period
        Assert.Equal(s.Interval, HealthRules.NextInterval(s, h, T0, clock.Now));
        h = HealthRules.Apply(h, Probe(1), clock.Now, T0, s);
        Assert.Equal(("unhealthy", 1), (h.Status, h.FailingStreak));

        // Within the start period but once healthy, failures count.
        var h2 = HealthRules.Apply(HealthRules.Begin(null), Probe(0), T0 + TimeSpan.FromSeconds(1), T0, s);
        Assert.Equal(s.Interval, HealthRules.NextInterval(s, h2, T0, T0 + TimeSpan.FromSeconds(1)));
        h2 = HealthRules.Apply(h2, Probe(1), T0 + TimeSpan.FromSeconds(2), T0, s);
        Assert.Equal(("unhealthy", 1), (h2.Status, h2.FailingStreak));
    }

    [Fact]
    public void Log_KeepsTheLastFive_AndBeginKeepsItButResets()
    {
        var s = Settings();
        var h = HealthRules.Begin(null);
        for (int i = 0; i < 8; i++) h = HealthRules.Apply(h, Probe(i == 7 ? 0 : 1, $"run {i}"), T0, T0, s);
        Assert.Equal(["run 3", "run 4", "run 5", "run 6", "run 7"], h.Log.Select(e => e.Output));
        var again = HealthRules.Begin(h with { Status = "unhealthy", FailingStreak = 4 });
        Assert.Equal(("starting", 0, 5), (again.Status, again.FailingStreak, again.Log.Count));
    }

    [Fact]
    public void Merge_TakesImageFieldsTheRequestLeftUnset()
    {
        var image = new ImageHealth { Test = ["CMD", "probe"], Interval = 5, Retries = 7 };
        Assert.Equal(["CMD", "probe"], HealthRules.Merge(null, image)!.Test);
        var m = HealthRules.Merge(new HealthConfig { Interval = 9 }, image)!;
        Assert.Equal(["CMD", "probe"], m.Test);
        Assert.Equal((9L, 7), (m.Interval, m.Retries));
        Assert.Equal(["NONE"], HealthRules.Merge(new HealthConfig { Test = ["NONE"] }, image)!.Test);
        Assert.Null(HealthRules.Merge(null, null));
    }

    [Fact]
    public void Validate_RejectsDockersBadValues_AndUnknownOnFailureActions()
    {
        Assert.Contains("Interval in Healthcheck cannot be less than 1ms",
            Assert.Throws<BerthException>(() => HealthRules.Validate(new HealthConfig { Interval = 10 }, null)).Message);
        Assert.Contains("Retries in Healthcheck cannot be negative",
            Assert.Throws<BerthException>(() => HealthRules.Validate(new HealthConfig { Retries = -1 }, null)).Message);
        var e = Assert.Throws<BerthException>(() => HealthRules.Validate(null, new Dictionary<string, string> { [HealthRules.OnFailureLabel] = "reboot" }));
        Assert.Equal(ErrorKind.InvalidArgument, e.Kind);
        foreach (var ok in new[] { "none", "kill", "restart", "stop" })
            HealthRules.Validate(new HealthConfig { Interval = 1_000_000 }, new Dictionary<string, string> { [HealthRules.OnFailureLabel] = ok });
    }

    [Theory]
    [InlineData(300, "300ms")]
    [InlineData(1000, "1s")]
    [InlineData(90_000, "1m30s")]
    [InlineData(1500, "1.5s")]
    [InlineData(1.5, "1.5ms")]
    [InlineData(0.25, "250µs")]
    public void GoDuration_PrintsLikeGo(double ms, string expected) => Assert.Equal(expected, HealthRules.GoDuration(TimeSpan.FromTicks((long)(ms * TimeSpan.TicksPerMillisecond))));

    [Fact]
    public void StatusSuffix_IsDockers()
    {
        Assert.Equal(" (health: starting)", HealthRules.StatusSuffix(new Health { Status = "starting" }));
        Assert.Equal(" (healthy)", HealthRules.StatusSuffix(new Health { Status = "healthy" }));
        Assert.Equal(" (unhealthy)", HealthRules.StatusSuffix(new Health { Status = "unhealthy" }));
        Assert.Equal("", HealthRules.StatusSuffix(null));
    }
}
