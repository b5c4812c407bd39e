using CompGrid.Backfill;
using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Placement and dispatch: per backend, hands queued jobs to backends that place jobs themselves in priority order, or
/// runs the scheduling cycle (ordering, limits, placement, EASY backfill — the cycle the simulator runs) on the
/// backend's snapshot and submits the jobs it starts. Waiting jobs get their pending reason; a backend that refuses a
/// job rejects it, a transient fault leaves it queued for the next cycle.
/// </summary>
internal sealed class JobDispatcher(
    ActiveJobs jobs, JobRouter router, BackendSnapshotBuilder snapshots, JobCompletion completion,
    IQueueOrderingPolicy ordering, SchedulingCycle cycle, CompGridOptions options, TimeProvider time, ILogger logger,
    CompGrid.Scheduling.Availability.WindowEnforcer? windowEnds = null)
{
    /// <summary>Places and dispatches the queued jobs, at most <see cref="CompGridOptions.MaxDispatchPerCycle"/>.</summary>
    public async Task ScheduleAsync(CancellationToken ct)
    {
        if (windowEnds is not null) await windowEnds.EnforceAsync(ct).ConfigureAwait(false);   // requeue or signal jobs whose window closed
        var pending = jobs.Where(j => j.State == JobState.Queued && j.BackendJobId is null);
        if (pending.Count == 0) return;
        var now = time.GetUtcNow();
        int dispatched = 0;
        foreach (var group in pending.GroupBy(router.BackendOf).ToList())
        {
            var backend = group.Key;
            var queued = group.ToList();
            if (backend.Capabilities.PlacesJobsItself)
            {
                // The backend places and orders its own queue; hand it the jobs in CompGrid's priority order.
                ordering.Order(queued, new QueueOrderingContext { Now = now });
                foreach (var job in queued)
                {
                    if (dispatched >= options.MaxDispatchPerCycle) return;
                    await DispatchAsync(job, backend, [], ct).ConfigureAwait(false);
                    dispatched++;
                }
                continue;
            }
            var snapshot = await snapshots.BuildAsync(backend, ct).ConfigureAwait(false);
            if (snapshot is null)
            {
                foreach (var job in queued) await jobs.SetReasonAsync(job, $"backend '{backend.Name}' is unreachable", ct).ConfigureAwait(false);
                continue;
            }
            // Ordering, limits, placement and EASY backfill: the same cycle the simulator runs.
            long placing = time.GetTimestamp();
            // Availability windows: the cycle sees copies of the jobs that must avoid pools closing before their walltime ends.
            var windows = snapshots.Windows?.Restrict(backend.Name, snapshot, queued, now);
            var decisions = cycle.Run(snapshot, snapshots.RunningOn(backend, snapshot, now), queued, now, backend.Name);
            SchedulingTelemetry.RecordSince(SchedulingTelemetry.PlacementDuration, time, placing, backend.Name);
            foreach (var d in decisions)
            {
                var job = windows?.Original(d.Job) ?? d.Job;
                if (!d.Start)
                {
                    await jobs.SetReasonAsync(job, windows?.ReasonFor(d) ?? d.ReasonText, ct).ConfigureAwait(false);
                    continue;
                }
                if (dispatched >= options.MaxDispatchPerCycle) continue;
                var nodes = d.Nodes.Select(i => snapshot.Names[i]).ToList();
                await DispatchAsync(job, backend, nodes, ct).ConfigureAwait(false);
                dispatched++;
            }
        }
    }

    private async Task DispatchAsync(JobRecord job, IComputeBackend backend, IReadOnlyList<string> nodes, CancellationToken ct)
    {
        using var activity = EngineTelemetry.Source.StartActivity("compgrid.dispatch");
        activity?.SetTag("compgrid.job_id", job.Id);
        activity?.SetTag("compgrid.backend", backend.Name);
        var request = new BackendJobRequest
        {
            JobId = job.Id, Spec = job.Spec, Nodes = nodes, MemoryMiBPerNode = router.MemoryPerNode(job.Spec), Walltime = router.WalltimeOf(job.Spec),
        };
        string backendJobId;
        var dispatchedAt = time.GetUtcNow();
        try
        {
            backendJobId = await backend.SubmitAsync(request, ct).ConfigureAwait(false);
        }
        catch (CompGridException ex) when (ex.IsTransient)
        {
            Log.BackendError(logger, backend.Name, "submit", ex.Message);
            await jobs.SetReasonAsync(job, $"backend '{backend.Name}' unavailable, will retry: {ex.Message}", ct).ConfigureAwait(false);
            return;
        }
        catch (CompGridException ex)
        {
            Log.BackendError(logger, backend.Name, "submit", ex.Message);
            var rejected = await jobs.TransitionAsync(job, j => j with { State = JobState.Rejected, Reason = $"backend '{backend.Name}' refused the job: {ex.Message}", EndedAt = time.GetUtcNow() }, "engine", ct).ConfigureAwait(false);
            await completion.FinishAsync(rejected, null, ct).ConfigureAwait(false);
            return;
        }
        await jobs.UpdateAsync(job, j => j with { BackendJobId = backendJobId, Nodes = nodes, DispatchedAt = dispatchedAt, Reason = null }, ct).ConfigureAwait(false);
        Log.Dispatched(logger, job.Id, backend.Name, backendJobId, string.Join(",", nodes));
    }
}
