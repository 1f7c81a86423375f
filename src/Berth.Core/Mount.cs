namespace Berth.Core;

/// <summary>
/// A filesystem mount as mount(2) takes it. Snapshotters emit these, the runtime consumes them;
/// neither knows the other. <see cref="Target"/> is relative to the container's root when used in a container spec.
/// </summary>
public sealed record Mount
{
    public required string Type { get; init; }
    public required string Source { get; init; }
    public string Target { get; init; } = "";
    public IReadOnlyList<string> Options { get; init; } = [];
}
