using System.Globalization;
using System.Threading.Channels;
using Berth.Api;
using Berth.Daemon.Containers;

namespace Berth.Daemon.Events;

/// <summary>
/// The daemon's event stream (<c>GET /events</c>): what happened to containers, images, volumes and networks, in the
/// order it happened. The last <see cref="RingSize"/> events stay in memory for <c>since</c> replays; nothing is
/// persisted. Publishing never blocks and never throws: a subscriber that falls <see cref="SubscriberBuffer"/> events
/// behind is cut off (its stream ends) rather than slowing the daemon down.
/// </summary>
internal sealed class EventBus
{
    public const int RingSize = 1024;
    public const int SubscriberBuffer = 4096;

    private readonly TimeProvider _time;
    private readonly ILogger? _log;

    // Guards the ring, the subscriber list and the last timestamp, so a subscriber's replay and its live events
    // neither overlap nor leave a gap. Held only for array and list operations, never across I/O.
    private readonly object _lock = new();
    private readonly EventMessage[] _ring = new EventMessage[RingSize];
    private int _next;
    private int _count;
    private long _lastNano;
    private readonly List<Subscription> _subscribers = [];

    public EventBus(TimeProvider? time = null, ILogger<EventBus>? log = null)
    {
        _time = time ?? TimeProvider.System;
        _log = log;
    }

    /// <summary>Nanoseconds since the Unix epoch, as the bus stamps events (for comparing with since/until).</summary>
    public long NowNano() => (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;

    public int SubscriberCount
    {
        get { lock (_lock) return _subscribers.Count; }
    }

    // ---- publishing ----

    /// <summary>Stamps and delivers one event. Times only move forward, so since/until replays keep the order events happened in.</summary>
    public EventMessage Publish(string type, string action, string actorId, IReadOnlyDictionary<string, string>? attributes = null)
    {
        var attrs = attributes is null ? new Dictionary<string, string>() : new Dictionary<string, string>(attributes);
        EventMessage e;
        List<Subscription>? dropped = null;
        lock (_lock)
        {
            var nano = Math.Max(NowNano(), _lastNano + 1);
            _lastNano = nano;
            bool legacy = type is "container" or "image";
            e = new EventMessage
            {
                // dockerd still fills the pre-1.22 fields for container and image events.
                Status = legacy ? action : null,
                Id = legacy ? actorId : null,
                From = type == "container" && attrs.TryGetValue("image", out var from) ? from : null,
                Type = type,
                Action = action,
                Actor = new EventActor { ID = actorId, Attributes = attrs },
                Scope = "local",
                Time = nano / 1_000_000_000,
                TimeNano = nano,
            };
            _ring[_next] = e;
            _next = (_next + 1) % RingSize;
            if (_count < RingSize) _count++;
            foreach (var s in _subscribers)
            {
                if (!s.Filter.Matches(e)) continue;
                if (!s.Writer.TryWrite(e)) (dropped ??= []).Add(s);
            }
            if (dropped is not null)
                foreach (var s in dropped) _subscribers.Remove(s);
        }
        if (dropped is not null)
        {
            foreach (var s in dropped) s.Writer.TryComplete();
            _log?.LogWarning("{Count} event subscriber(s) fell {Buffer} events behind and were disconnected", dropped.Count, SubscriberBuffer);
        }
        return e;
    }

    /// <summary>
    /// A container event with Docker's attributes: the container's labels, then <c>image</c> (as the user named it) and
    /// <c>name</c>, then <paramref name="extra"/>. Actions: create, start, die (exitCode), stop, kill (signal), restart,
    /// destroy, rename (oldName), attach, detach, resize, oom, and pause/unpause (published by ContainerPause.cs, which
    /// calls <see cref="Paused"/>/<see cref="Unpaused"/>).
    /// </summary>
    public EventMessage Container(string action, ContainerRecord r, params (string Key, string Value)[] extra)
    {
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in r.Config.Labels ?? []) attrs[k] = v;
        var image = string.IsNullOrEmpty(r.Config.Image) ? r.ImageRef : r.Config.Image;
        if (!string.IsNullOrEmpty(image)) attrs["image"] = image;
        attrs["name"] = r.Name.TrimStart('/');
        foreach (var (k, v) in extra) attrs[k] = v;
        return Publish("container", action, r.Id, attrs);
    }

    /// <summary><c>die</c>: the exit code, and how long the run lasted in whole seconds (dockerd's execDuration).</summary>
    public EventMessage Died(ContainerRecord r, int exitCode)
    {
        var ran = (r.FinishedAt ?? _time.GetUtcNow()) - (r.StartedAt ?? r.FinishedAt ?? _time.GetUtcNow());
        return Container("die", r, ("exitCode", exitCode.ToString(CultureInfo.InvariantCulture)),
            ("execDuration", ((long)Math.Max(0, ran.TotalSeconds)).ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary><c>kill</c> with the signal number, as dockerd reports it (also for the signal a stop sends).</summary>
    public EventMessage Killed(ContainerRecord r, int signal) =>
        Container("kill", r, ("signal", signal.ToString(CultureInfo.InvariantCulture)));

    /// <summary>For the pause/unpause operations (ContainerPause.cs): call after the container is frozen / thawed.</summary>
    public EventMessage Paused(ContainerRecord r) => Container("pause", r);

    public EventMessage Unpaused(ContainerRecord r) => Container("unpause", r);

    /// <summary>For exec (POST /containers/{id}/exec): dockerd's action is "exec_create: " + the command line.</summary>
    public EventMessage ExecCreated(ContainerRecord r, string execId, IEnumerable<string> cmd) =>
        Container("exec_create: " + string.Join(' ', cmd), r, ("execID", execId));

    /// <summary>For exec start (POST /exec/{id}/start): "exec_start: " + the command line.</summary>
    public EventMessage ExecStarted(ContainerRecord r, string execId, IEnumerable<string> cmd) =>
        Container("exec_start: " + string.Join(' ', cmd), r, ("execID", execId));

    /// <summary>When an exec'd process ends: exec_die with its exit code.</summary>
    public EventMessage ExecDied(ContainerRecord r, string execId, int exitCode) =>
        Container("exec_die", r, ("execID", execId), ("exitCode", exitCode.ToString(CultureInfo.InvariantCulture)));

    /// <summary>An image event: the actor is the image ID, <c>name</c> the reference it concerns (the ID itself for import/delete).</summary>
    public EventMessage Image(string action, string imageId, string name, IReadOnlyDictionary<string, string>? labels = null)
    {
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in labels ?? new Dictionary<string, string>()) attrs[k] = v;
        attrs["name"] = name;
        return Publish("image", action, imageId, attrs);
    }

    /// <summary>A volume event (create, destroy, mount, unmount): the actor is the volume's name.</summary>
    public EventMessage Volume(string action, string name, params (string Key, string Value)[] extra)
    {
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal) { ["driver"] = "local" };
        foreach (var (k, v) in extra) attrs[k] = v;
        return Publish("volume", action, name, attrs);
    }

    /// <summary>
    /// The <c>mount</c>/<c>unmount</c> events of every volume a container uses, as it starts or stops (dockerd sends
    /// them with the container, destination, driver, propagation and read/write attributes).
    /// </summary>
    public void VolumeMounts(ContainerRecord r, bool mounted)
    {
        foreach (var m in r.Mounts)
        {
            if (m.Type != "volume" || m.Name is null) continue;
            if (mounted)
                Volume("mount", m.Name, ("container", r.Id), ("destination", m.Destination), ("propagation", m.Propagation), ("read/write", m.RW ? "true" : "false"));
            else
                Volume("unmount", m.Name, ("container", r.Id));
        }
    }

    /// <summary>A network event (create, destroy, connect, disconnect): the actor is the network ID; connect/disconnect name the container.</summary>
    public EventMessage Network(string action, string networkId, string networkName, string driver, string? containerId = null)
    {
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal) { ["name"] = networkName, ["type"] = driver };
        if (containerId is not null) attrs["container"] = containerId;
        return Publish("network", action, networkId, attrs);
    }

    /// <summary>The <c>prune</c> event each prune endpoint sends once, with the bytes it freed.</summary>
    public EventMessage Pruned(string type, long reclaimed) =>
        Publish(type, "prune", "", new Dictionary<string, string> { ["reclaimed"] = reclaimed.ToString(CultureInfo.InvariantCulture) });

    // ---- subscribing ----

    /// <summary>
    /// The buffered events a <c>since</c>/<c>until</c> request replays, and a live feed of what comes after, taken
    /// together so nothing is seen twice or missed. As dockerd: no replay without since and until; with either,
    /// the ring's events from since (inclusive) to until (inclusive) that match.
    /// </summary>
    public Subscription Subscribe(long? sinceNano, long? untilNano, EventFilter filter, out IReadOnlyList<EventMessage> replay)
    {
        var channel = Channel.CreateBounded<EventMessage>(new BoundedChannelOptions(SubscriberBuffer)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the subscriber is then cut off
        });
        var sub = new Subscription(this, channel, filter);
        lock (_lock)
        {
            replay = Buffered(sinceNano, untilNano, filter);
            _subscribers.Add(sub);
        }
        return sub;
    }

    private List<EventMessage> Buffered(long? since, long? until, EventFilter filter)
    {
        var list = new List<EventMessage>();
        if (since is null && until is null) return list;
        for (int i = 0; i < _count; i++)
        {
            var e = _ring[(_next - _count + i + RingSize) % RingSize];
            if (since is { } s && e.TimeNano < s) continue;
            if (until is { } u && e.TimeNano > u) continue;
            if (filter.Matches(e)) list.Add(e);
        }
        return list;
    }

    private void Unsubscribe(Subscription s)
    {
        lock (_lock) _subscribers.Remove(s);
        s.Writer.TryComplete();
    }

    /// <summary>One reader of the live feed; disposing it unsubscribes.</summary>
    internal sealed class Subscription : IDisposable
    {
        private readonly EventBus _bus;
        private readonly Channel<EventMessage> _channel;

        public Subscription(EventBus bus, Channel<EventMessage> channel, EventFilter filter)
        {
            _bus = bus;
            _channel = channel;
            Filter = filter;
        }

        public EventFilter Filter { get; }

        public ChannelReader<EventMessage> Reader => _channel.Reader;

        internal ChannelWriter<EventMessage> Writer => _channel.Writer;

        public void Dispose() => _bus.Unsubscribe(this);
    }
}
