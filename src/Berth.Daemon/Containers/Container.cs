using Berth.Runtime.Shim;

namespace Berth.Daemon.Containers;

/// <summary>
/// One container in memory: its persisted record (an immutable snapshot swapped under <see cref="_sync"/>) and the
/// live handles of a running instance. Lifecycle operations (start, stop's kill, exit handling, remove) are serialized by
/// <see cref="Operation"/>; waiting for an exit never holds it.
/// </summary>
internal sealed class Container
{
    // Guards Record, Shim, _exitSignal and _attachers: short critical sections, never across an await.
    private readonly object _sync = new();
    private ContainerRecord _record;
    private TaskCompletionSource<int> _exitSignal = NewSignal();
    private readonly List<PendingAttach> _attachers = [];

    public Container(ContainerRecord record) => _record = record;

    /// <summary>Serializes start, kill-escalation, exit handling and removal of this container.</summary>
    public SemaphoreSlim Operation { get; } = new(1, 1);

    public TaskCompletionSource Removed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ContainerRecord Record { get { lock (_sync) return _record; } }

    public string Id => Record.Id;

    public ShimClient? Shim { get; set; }

    private int _healthRestart;
    private int _removals;

    /// <summary>
    /// The health-on-failure restart action stops this run: the exit that follows restarts the container, unless a stop
    /// or removal by hand came meanwhile. One-shot; a start drops a mark that no exit took.
    /// </summary>
    public void MarkHealthRestart() => Volatile.Write(ref _healthRestart, 1);

    public bool TakeHealthRestart() => Interlocked.Exchange(ref _healthRestart, 0) == 1;

    /// <summary>
    /// A removal under way (dockerd's SetRemovalInProgress): no start, by hand, by the restart policy or by a health
    /// action, begins while one is. A removal that fails ends its mark; one that succeeds keeps it.
    /// </summary>
    public bool RemovalInProgress => Volatile.Read(ref _removals) > 0;

    public void BeginRemoval() => Interlocked.Increment(ref _removals);

    public void EndRemoval() => Interlocked.Decrement(ref _removals);

    /// <summary>The previous run's shim finishing runc's clean-up; the next start waits for it (same container ID).</summary>
    public Task PreviousShimGone { get; set; } = Task.CompletedTask;

    /// <summary>Completes with the exit code at the next exit (the one after the current run, if one is under way).</summary>
    public Task<int> NextExit { get { lock (_sync) return _exitSignal.Task; } }

    public ContainerRecord Update(Func<ContainerRecord, ContainerRecord> change)
    {
        lock (_sync) return _record = change(_record);
    }

    public void SignalExit(int code)
    {
        TaskCompletionSource<int> old;
        lock (_sync)
        {
            old = _exitSignal;
            _exitSignal = NewSignal();
        }
        old.TrySetResult(code);
    }

    /// <summary>An attach that came before start: it gets the shim of the next run.</summary>
    public Task<ShimAttachment> WaitForRun(bool stdin, bool stdout, bool stderr, CancellationToken ct)
    {
        var p = new PendingAttach(stdin, stdout, stderr);
        lock (_sync) _attachers.Add(p);
        ct.Register(() => { lock (_sync) _attachers.Remove(p); p.Result.TrySetCanceled(); });
        return p.Result.Task;
    }

    /// <summary>The attaches waiting for the next run; start attaches each to the new shim before the process starts.</summary>
    public List<PendingAttach> TakeAttachers()
    {
        lock (_sync)
        {
            var list = _attachers.ToList();
            _attachers.Clear();
            return list;
        }
    }

    private static TaskCompletionSource<int> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

internal sealed record PendingAttach(bool Stdin, bool Stdout, bool Stderr)
{
    public TaskCompletionSource<ShimAttachment> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
