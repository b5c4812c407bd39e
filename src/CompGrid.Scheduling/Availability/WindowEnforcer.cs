using Microsoft.Extensions.Logging;

namespace CompGrid.Scheduling.Availability;

/// <summary>
/// The end of a window, each cycle: a job still running on a node whose window has closed is cancelled on its backend
/// and, per its pool's <see cref="WindowEndAction"/>, queued again (Running → Queued through the engine's own
/// transition, its dispatch cleared, so only a later run is metered and charged; the cancelled run is cleaned up once its
/// backend reports it ended) or left to end as cancelled. A job that had already ended on its own is settled as it ended.
/// </summary>
internal sealed class WindowEnforcer(AvailabilitySchedule schedule, ActiveJobs jobs, JobRouter router, JobTracker tracker, TimeProvider time, ILogger logger)
{
    /// <summary>Requeues or signals the jobs on closed nodes. Runs under the engine lock.</summary>
    public async Task EnforceAsync(CancellationToken ct)
    {
        if (_draining.Count > 0) await CleanUpAsync(ct).ConfigureAwait(false);
        var now = time.GetUtcNow();
        foreach (var job in jobs.Where(j => j.BackendJobId is not null && !j.IsTerminal && !j.CancelRequested && j.Backend is not null && j.Nodes.Count > 0))
        {
            string? closed = job.Nodes.FirstOrDefault(n => !schedule.IsOpen(job.Backend!, n, now));
            if (closed is null) continue;
            string pool = schedule.PoolOf(job.Backend!, closed)!;
            string at = schedule.FormatLocal(job.Backend!, closed, now);
            try
            {
                if (schedule.AtWindowEnd(job.Backend!, closed) == WindowEndAction.Signal) await SignalAsync(job, pool, at, ct).ConfigureAwait(false);
                else await RequeueAsync(job, pool, at, ct).ConfigureAwait(false);
            }
            catch (CompGridException ex)
            {
                Log.BackendError(logger, job.Backend!, "window end", ex.Message);   // tried again next cycle
            }
        }
    }

    private async Task SignalAsync(JobRecord job, string pool, string at, CancellationToken ct)
    {
        string reason = $"signalled: the window of node pool {pool} closed at {at}";
        job = await jobs.UpdateAsync(job, j => j with { CancelRequested = true, Reason = reason }, ct).ConfigureAwait(false);
        var backend = router.BackendOf(job);
        try { await backend.CancelAsync(job.BackendJobId!, ct).ConfigureAwait(false); }
        catch (JobNotFoundException) { /* gone already: tracking settles it */ }
        Log.Signalled(logger, job.Id, pool);
        var status = await backend.GetStatusAsync(job.BackendJobId!, ct).ConfigureAwait(false);
        // The backend's own words ("cancelled") would hide why: keep the window's reason on the record.
        if (status is not null) await tracker.ApplyStatusAsync(job, status.State.IsTerminal() ? status with { Reason = reason } : status, ct).ConfigureAwait(false);
    }

    private async Task RequeueAsync(JobRecord job, string pool, string at, CancellationToken ct)
    {
        var backend = router.BackendOf(job);
        if (await backend.GetStatusAsync(job.BackendJobId!, ct).ConfigureAwait(false) is { } before && before.State.IsTerminal())
            return;   // it ended on its own just now: tracking settles it as it ended
        try { await backend.CancelAsync(job.BackendJobId!, ct).ConfigureAwait(false); }
        catch (JobNotFoundException) { /* gone already */ }
        // Queued again before the backend reports the cancel, so tracking never settles the old run as the job's end.
        var ran = job.StartedAt is { } s ? time.GetUtcNow() - s : TimeSpan.Zero;
        string reason = $"requeued: the window of node pool {pool} closed at {at} (the {ran:c} it ran on {string.Join(",", job.Nodes)} is not charged)";
        await jobs.TransitionAsync(job, j => j with
        {
            State = JobState.Queued, Reason = reason, BackendJobId = null, Nodes = [], DispatchedAt = null, StartedAt = null,
            NativeState = null, ExitCode = null, Signal = null,
        }, "engine", ct).ConfigureAwait(false);
        Log.Requeued(logger, job.Id, pool);
        _draining.Add((backend, job.BackendJobId!));
        await CleanUpAsync(ct).ConfigureAwait(false);
    }

    // The cancelled runs of requeued jobs: each backend job is completed (cleaned up) once the backend reports it ended.
    private readonly List<(IComputeBackend Backend, string BackendJobId)> _draining = [];

    private async Task CleanUpAsync(CancellationToken ct)
    {
        for (int i = _draining.Count - 1; i >= 0; i--)
        {
            var (backend, id) = _draining[i];
            try
            {
                if (await backend.GetStatusAsync(id, ct).ConfigureAwait(false) is { } st && !st.State.IsTerminal()) continue;
                await backend.CompleteAsync(id, ct).ConfigureAwait(false);
            }
            catch (CompGridException ex) when (ex.IsTransient) { continue; }
            catch (CompGridException ex) { Log.BackendError(logger, backend.Name, "complete", ex.Message); }
            _draining.RemoveAt(i);
        }
    }
}
