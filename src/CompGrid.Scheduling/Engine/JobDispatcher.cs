using CompGrid.Backfill;
using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Placement and dispatch: per backend, hands queued jobs to backends that place jobs themselves in priority order, or
/// runs the scheduling cycle (ordering, limits, placement, EASY backfill — the cycle the simulator runs) on the
/// backend's snapshot and its kept queue, and submits the jobs it starts; a backend where nothing changed since the last
/// pass is skipped in O(1). Waiting jobs get their pending reason; a backend that refuses a
/// job rejects it, a transient fault leaves it queued for the next cycle.
/// </summary>
internal sealed class JobDispatcher(
    ActiveJobs jobs, JobRouter router, BackendSnapshotBuilder snapshots, JobCompletion completion,
    IQueueOrderingPolicy ordering, CompGrid.Scheduling.Cycle.EngineQueues queues, CompGridOptions options, TimeProvider time, ILogger logger,
    CompGrid.Scheduling.Availability.WindowEnforcer? windowEnds = null)
{
    /// <summary>The kept queues (one per backend) this dispatcher schedules from.</summary>
    public CompGrid.Scheduling.Cycle.EngineQueues Queues { get; } = queues;

    /// <summary>
    /// Tests only: gather the pending jobs from the cache and decide every cycle, as before the queues were kept — the
    /// reference the kept path is compared with.
    /// </summary>
    internal bool FullPath { get; set; }

    /// <summary>Places and dispatches the queued jobs, at most <see cref="CompGridOptions.MaxDispatchPerCycle"/>.</summary>
    public async Task ScheduleAsync(CancellationToken ct)
    {
        if (windowEnds is not null) await windowEnds.EnforceAsync(ct).ConfigureAwait(false);   // requeue or signal jobs whose window closed
        var now = time.GetUtcNow();
        int dispatched = 0;
        var all = FullPath ? jobs.Where(CompGrid.Scheduling.Cycle.EngineQueues.IsPending) : null;
        foreach (var backend in router.Backends)
        {
            if (all is null ? Queues.CountOn(backend.Name) == 0 : !all.Exists(j => j.Backend == backend.Name)) continue;
            var cycle = Queues.For(backend.Name);
            List<JobRecord> Queued() => all?.FindAll(j => j.Backend == backend.Name) ?? cycle.QueuedJobs(now);
            if (backend.Capabilities.PlacesJobsItself)
            {
                // The backend places and orders its own queue; hand it the jobs in CompGrid's priority order.
                var queued = Queued();
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
                foreach (var job in Queued()) await jobs.SetReasonAsync(job, $"backend '{backend.Name}' is unreachable", ct).ConfigureAwait(false);
                continue;
            }
            var running = snapshots.RunningOn(backend, snapshot, now);
            // Nothing arrived, left, ended or changed on the backend since the last pass: its reasons and estimates stand (O(1)).
            // Availability windows change what a job may use with the clock, so with windows every cycle decides again.
            long inputs = CompGrid.Scheduling.Cycle.EngineQueues.Inputs(snapshot, running);
            if (all is null && snapshots.Windows is null && cycle.IsDecided(inputs, now, options.PriorityRecalculationInterval)) continue;
            // Ordering, limits, placement and EASY backfill: the same cycle the simulator runs.
            long placing = time.GetTimestamp();
            var pending = Queued();
            // Availability windows: the cycle sees copies of the jobs that must avoid pools closing before their walltime ends.
            var windows = snapshots.Windows?.Restrict(backend.Name, snapshot, pending, now);
            var decisions = all is null ? cycle.DecideQueued(snapshot, running, pending, now, backend.Name) : cycle.Run(snapshot, running, pending, now, backend.Name);
            SchedulingTelemetry.RecordSince(SchedulingTelemetry.PlacementDuration, time, placing, backend.Name);
            bool applied = true;   // every start dispatched: else the next cycle must decide again
            foreach (var d in decisions)
            {
                var job = windows?.Original(d.Job) ?? d.Job;
                if (!d.Start)
                {
                    await jobs.SetReasonAsync(job, windows?.ReasonFor(d) ?? d.ReasonText, ct).ConfigureAwait(false);
                    continue;
                }
                if (dispatched >= options.MaxDispatchPerCycle) { applied = false; continue; }
                var nodes = d.Nodes.Select(i => snapshot.Names[i]).ToList();
                if (!await DispatchAsync(job, backend, nodes, ct).ConfigureAwait(false)) applied = false;
                dispatched++;
            }
            if (applied) cycle.MarkDecided(inputs, CompGrid.Scheduling.Cycle.EngineQueues.ValidUntil(running, decisions, now));
        }
    }

    // False when the job stays queued (a transient fault) and the next cycle must try again.
    private async Task<bool> DispatchAsync(JobRecord job, IComputeBackend backend, IReadOnlyList<string> nodes, CancellationToken ct)
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
            return false;
        }
        catch (CompGridException ex)
        {
            Log.BackendError(logger, backend.Name, "submit", ex.Message);
            var rejected = await jobs.TransitionAsync(job, j => j with { State = JobState.Rejected, Reason = $"backend '{backend.Name}' refused the job: {ex.Message}", EndedAt = time.GetUtcNow() }, "engine", ct).ConfigureAwait(false);
            await completion.FinishAsync(rejected, null, ct).ConfigureAwait(false);
            return true;
        }
        await jobs.UpdateAsync(job, j => j with { BackendJobId = backendJobId, Nodes = nodes, DispatchedAt = dispatchedAt, Reason = null }, ct).ConfigureAwait(false);
        Log.Dispatched(logger, job.Id, backend.Name, backendJobId, string.Join(",", nodes));
        return true;
    }
}
