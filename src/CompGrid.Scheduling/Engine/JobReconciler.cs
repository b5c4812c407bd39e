using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Reconciliation after a start or a change of leader: reloads the active jobs from the store, delivers usage of jobs
/// that ended before a crash, adopts backend jobs that carry a CompGrid id the store never recorded as dispatched (a
/// crash right after submit), then tracks everything once, so running jobs are adopted and ended ones settled.
/// </summary>
internal sealed class JobReconciler(ActiveJobs jobs, IJobStore store, JobRouter router, JobTracker tracker, JobCompletion completion, TimeProvider time, ILogger logger)
{
    /// <summary>Reconciles under the engine lock.</summary>
    public async Task ReconcileAsync(CancellationToken ct)
    {
        using (await jobs.LockAsync(ct).ConfigureAwait(false))
        {
            await jobs.ReloadAsync(ct).ConfigureAwait(false);

            // Terminal jobs whose usage was not delivered (a crash between the two): deliver now.
            var terminal = new JobQuery { States = Enum.GetValues<JobState>().Where(s => s.IsTerminal()).ToList(), Limit = int.MaxValue };
            await foreach (var job in store.QueryAsync(terminal, ct).ConfigureAwait(false))
                if (!job.UsageDelivered)
                    await completion.FinishAsync(job, router.Find(job.Backend), ct).ConfigureAwait(false);

            // Adopt backend jobs that carry a CompGrid id the store knows but never recorded (a crash right after submit).
            foreach (var backend in router.Backends)
            {
                try
                {
                    await foreach (var s in backend.ListJobsAsync(ct).ConfigureAwait(false))
                    {
                        if (s.JobId is null || !jobs.TryGet(s.JobId, out var job) || job.BackendJobId is not null) continue;
                        if (job.Backend != backend.Name) continue;
                        Log.Adopted(logger, job.Id, backend.Name, s.BackendJobId);
                        await jobs.UpdateAsync(job, j => j with { BackendJobId = s.BackendJobId, Nodes = s.Nodes, DispatchedAt = j.DispatchedAt ?? time.GetUtcNow() }, ct).ConfigureAwait(false);
                    }
                }
                catch (CompGridException ex) { Log.BackendError(logger, backend.Name, "list", ex.Message); }
            }
            // Settle or adopt everything dispatched: running jobs are tracked again, ended ones are finished.
            await tracker.TrackAsync(ct).ConfigureAwait(false);
        }
    }
}
