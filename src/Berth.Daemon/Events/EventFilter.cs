using Berth.Api;

namespace Berth.Daemon.Events;

/// <summary>
/// The <c>filters</c> of <c>GET /events</c>, matched as dockerd matches them: every named filter must match (AND),
/// any value of one filter may (OR). <c>type</c>, <c>scope</c> and <c>event</c> are exact (<c>event=exec_start</c>
/// also matches "exec_start: sh"); <c>container</c>, <c>volume</c>, <c>network</c> and <c>daemon</c> match the
/// actor's ID or name by prefix; <c>image</c> matches the image by ID or name with or without its tag; <c>label</c>
/// matches the actor's attributes (<c>key</c> or <c>key=value</c>, all of them).
/// </summary>
internal sealed class EventFilter
{
    public static readonly EventFilter None = new(new Filters());

    private readonly Filters _f;

    private EventFilter(Filters f) => _f = f;

    public static EventFilter From(Filters f) => new(f);

    public bool Matches(EventMessage e) =>
        MatchEvent(e.Action)
        && Exact("type", e.Type)
        && Exact("scope", e.Scope)
        && FuzzyName("daemon", e)
        && FuzzyName("container", e)
        && FuzzyName("plugin", e)
        && FuzzyName("volume", e)
        && FuzzyName("network", e)
        && MatchImage(e)
        && FuzzyName("node", e)
        && FuzzyName("service", e)
        && FuzzyName("secret", e)
        && FuzzyName("config", e)
        && MatchLabels(e.Actor.Attributes);

    private bool Exact(string key, string value)
    {
        var wanted = _f.Get(key);
        return wanted.Count == 0 || wanted.Contains(value);
    }

    private bool Fuzzy(string key, string value)
    {
        var wanted = _f.Get(key);
        return wanted.Count == 0 || wanted.Any(w => value == w || value.StartsWith(w, StringComparison.Ordinal));
    }

    // dockerd #25798: exec_create, exec_start and health_status carry a suffix ("exec_start: sh"), so with one of
    // those names among the values every value matches by prefix.
    private bool MatchEvent(string action)
    {
        var wanted = _f.Get("event");
        if (wanted.Count == 0) return true;
        return wanted.Any(w => w is "exec_create" or "exec_start" or "health_status") ? Fuzzy("event", action) : wanted.Contains(action);
    }

    private bool FuzzyName(string key, EventMessage e) =>
        !_f.Has(key) || _f.Get(key).Count == 0
        || Fuzzy(key, e.Actor.ID) || (e.Actor.Attributes.TryGetValue("name", out var n) && Fuzzy(key, n));

    private bool MatchImage(EventMessage e)
    {
        if (_f.Get("image").Count == 0) return true;
        var id = e.Actor.ID;
        var name = e.Actor.Attributes.TryGetValue(e.Type == "image" ? "name" : "image", out var n) ? n : "";
        return Exact("image", id) || Exact("image", name) || Exact("image", StripTag(id)) || Exact("image", StripTag(name));
    }

    // A reference without its tag ("busybox:latest" -> "busybox"); digests and registry ports stay.
    private static string StripTag(string reference)
    {
        if (reference.Contains('@') || reference.StartsWith("sha256:", StringComparison.Ordinal)) return reference;
        var colon = reference.LastIndexOf(':');
        return colon > reference.LastIndexOf('/') && colon >= 0 ? reference[..colon] : reference;
    }

    private bool MatchLabels(Dictionary<string, string> attributes)
    {
        foreach (var w in _f.Get("label"))
        {
            var eq = w.IndexOf('=');
            if (eq < 0)
            {
                if (!attributes.ContainsKey(w)) return false;
            }
            else if (!attributes.TryGetValue(w[..eq], out var v) || v != w[(eq + 1)..])
            {
                return false;
            }
        }
        return true;
    }
}
