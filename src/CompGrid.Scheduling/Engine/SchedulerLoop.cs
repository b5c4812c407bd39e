using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// The scheduler loop: one cycle (track, then place and dispatch) every poll interval or as soon as something wakes
/// it (a submit, an approval, a backend event), wake-ups coalesced. With a lease only the holder runs cycles; a new
/// holder reconciles first, and the holder refreshes the active jobs from the store each cycle.
/// </summary>
internal sealed class SchedulerLoop(
    ActiveJobs jobs, JobTracker tracker, JobReconciler reconciler, SchedulerLeadership leadership,
    IReadOnlyList<IComputeBackend> backends, CompGridOptions options, TimeProvider time, ILogger logger) : IDisposable
{
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly List<Task> _watchers = [];
    private CancellationTokenSource? _stopping;
    private Task? _loop;
    private JobDispatcher? _dispatcher;
    private readonly JobGauges _gauges = new();   // jobs by state and queue wait, published after each cycle

    /// <summary>Starts the loop, dispatching with <paramref name="dispatcher"/> (built once the policies are resolved), and one watcher per backend that pushes events.</summary>
    public void Start(JobDispatcher dispatcher)
    {
        _dispatcher = dispatcher;
        _stopping = new CancellationTokenSource();
        foreach (var source in backends.OfType<IBackendEventSource>())
            _watchers.Add(Task.Run(() => WatchAsync(source, _stopping.Token), CancellationToken.None));
        _loop = Task.Run(() => LoopAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Stops the loop and the watchers, then gives up the lease.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        if (_stopping is null) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            if (_loop is not null) await _loop.WaitAsync(ct).ConfigureAwait(false);
            await Task.WhenAll(_watchers).WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
        await leadership.ResignAsync(ct).ConfigureAwait(false);
        _stopping.Dispose();
        _stopping = null;
    }

    /// <summary>Makes the loop run a cycle soon.</summary>
    public void Wake() { try { _wake.Release(); } catch (ObjectDisposedException) { } }

    /// <summary>Runs one cycle now; with a lease, only if this instance holds it.</summary>
    public Task RunCycleAsync(CancellationToken ct) => leadership.IsShared ? RunLeasedCycleAsync(ct) : RunCycleCoreAsync(ct);

    private async Task RunCycleCoreAsync(CancellationToken ct)
    {
        using (await jobs.LockAsync(ct).ConfigureAwait(false))
        {
            long started = time.GetTimestamp();
            await tracker.TrackAsync(ct).ConfigureAwait(false);
            await (_dispatcher ?? throw new InvalidOperationException("The engine is not started: call StartAsync first.")).ScheduleAsync(ct).ConfigureAwait(false);
            SchedulingTelemetry.RecordSince(SchedulingTelemetry.CycleDuration, time, started);
            _gauges.Publish(jobs.Where(static _ => true), time.GetUtcNow());
        }
    }

    // Several instances on one store: only the lease holder schedules. A new holder reconciles first; the holder
    // re-reads the active jobs each cycle, since other instances submit, cancel and approve through the store.
    private async Task RunLeasedCycleAsync(CancellationToken ct)
    {
        bool was = leadership.WasLeading;
        if (!await leadership.TryLeadAsync(ct).ConfigureAwait(false)) { _gauges.Publish([], time.GetUtcNow()); return; }   // a standby reports nothing
        if (!was) await reconciler.ReconcileAsync(ct).ConfigureAwait(false);
        else
        {
            using (await jobs.LockAsync(ct).ConfigureAwait(false))
                await jobs.RefreshAsync(ct).ConfigureAwait(false);
        }
        await RunCycleCoreAsync(ct).ConfigureAwait(false);
    }

    private async Task LoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try { await RunCycleAsync(stop).ConfigureAwait(false); }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { break; }
            catch (Exception ex) { Log.CycleFailed(logger, ex); }
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
                var delay = Task.Delay(options.PollInterval, time, cts.Token);
                await Task.WhenAny(_wake.WaitAsync(cts.Token), delay).ConfigureAwait(false);
                await cts.CancelAsync().ConfigureAwait(false);
                while (_wake.CurrentCount > 0) await _wake.WaitAsync(stop).ConfigureAwait(false); // coalesce wake-ups
            }
            catch (OperationCanceledException) { break; }
        }
    }

    private async Task WatchAsync(IBackendEventSource source, CancellationToken stop)
    {
        try
        {
            await foreach (var _ in source.WatchAsync(stop).ConfigureAwait(false)) Wake();
        }
        catch (OperationCanceledException) { }
        catch (Exception ex) { Log.BackendError(logger, (source as IComputeBackend)?.Name ?? "?", "events", ex.Message); }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _wake.Dispose();
        _gauges.Dispose();
    }
}
