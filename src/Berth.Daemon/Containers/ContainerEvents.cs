using Berth.Daemon.Events;

namespace Berth.Daemon.Containers;

internal sealed partial class ContainerService
{
    /// <summary>
    /// The daemon's event bus. Container transitions publish here; the routers that hold this service publish image,
    /// volume and network events through it too, so one bus orders everything (set by the constructor).
    /// </summary>
    public EventBus Events { get; }
}
