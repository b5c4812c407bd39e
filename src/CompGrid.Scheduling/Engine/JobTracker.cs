using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Tracking: asks each backend for the status of the engine's dispatched jobs and applies it — the state machine from
/// queued to running to a terminal state, each transition persisted — and settles ended jobs. A backend that no longer
/// knows a job ends it as <see cref="JobState.NodeFailed"/>.
/// </summary>
internal sealed class JobTracker(ActiveJobs jobs, JobRouter router, JobCompletion completion, JobNotificationSender notifications, TimeProvider time, ILogger logger)
{
    /// <summary>Retries usage delivery of ended jobs, then polls every dispatched job once.</summary>
    public async Task TrackAsync(CancellationToken ct)
    {
        // Terminal jobs still here are waiting for their usage to reach every sink: try again.
        foreach (var job in jobs.Where(j => j.IsTerminal))
            await completion.FinishAsync(job, job.BackendJobId is null ? null : router.BackendOf(job), ct).ConfigureAwait(false);

        foreach (var job in jobs.Where(j => j.BackendJobId is not null && !j.IsTerminal))
        {
            var backend = router.BackendOf(job);
            BackendJobStatus? status;
            try { status = await backend.GetStatusAsync(job.BackendJobId!, ct).ConfigureAwait(false); }
            catch (CompGridException ex)
            {
                Log.BackendError(logger, backend.Name, "status", ex.Message);
                continue; // transient or not, the job is retried next cycle; the backend marks lost nodes itself
            }
            status ??= new BackendJobStatus
            {
                BackendJobId = job.BackendJobId!, JobId = job.Id, State = JobState.NodeFailed,
                Reason = $"backend '{backend.Name}' no longer knows job {job.BackendJobId}",
            };
            await ApplyStatusAsync(job, status, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Applies one backend status to the job and persists what changed; settles the job when it ended.</summary>
    public async Task<JobRecord> ApplyStatusAsync(JobRecord job, BackendJobStatus status, CancellationToken ct)
    {
        if (job.IsTerminal) return job;
        if (status.State.IsTerminal() && job.State == JobState.Queued && status.StartedAt is not null)
        {
            // It ran between two looks: record the start too, so the history shows Queued -> Running -> end.
            job = await jobs.TransitionAsync(job, j => j with { State = JobState.Running, StartedAt = status.StartedAt, NativeState = status.NativeState, Reason = null }, "engine", ct).ConfigureAwait(false);
        }
        if (status.State.IsTerminal())
        {
            var state = status.State;
            // A cancel we asked for may surface as a signal exit on some backends.
            if (job.CancelRequested && state is JobState.Failed) state = JobState.Cancelled;
            var ended = await jobs.TransitionAsync(job, j => j with
            {
                State = state,
                Reason = status.Reason ?? (state == JobState.Cancelled ? j.Reason ?? "cancelled" : j.Reason),
                NativeState = status.NativeState,
                ExitCode = status.ExitCode,
                Signal = status.Signal,
                StartedAt = j.StartedAt ?? status.StartedAt,
                EndedAt = status.EndedAt ?? time.GetUtcNow(),
                Nodes = status.Nodes.Count > 0 ? status.Nodes : j.Nodes,
            }, "engine", ct).ConfigureAwait(false);
            return await completion.FinishAsync(ended, router.BackendOf(job), ct).ConfigureAwait(false);
        }
        if (status.State == JobState.Running && job.State == JobState.Queued)
        {
            var running = await jobs.TransitionAsync(job, j => j with
            {
                State = JobState.Running, StartedAt = status.StartedAt ?? time.GetUtcNow(), NativeState = status.NativeState, Reason = null,
                Nodes = status.Nodes.Count > 0 ? status.Nodes : j.Nodes,
            }, "engine", ct).ConfigureAwait(false);
            await notifications.SendAsync(running, JobState.Queued).ConfigureAwait(false);
            return running;
        }
        if (status.NativeState != job.NativeState || (status.State == JobState.Queued && status.Reason is not null && status.Reason != job.Reason))
            return await jobs.UpdateAsync(job, j => j with { NativeState = status.NativeState, Reason = status.State == JobState.Queued ? status.Reason ?? j.Reason : j.Reason }, ct).ConfigureAwait(false);
        return job;
    }
}
