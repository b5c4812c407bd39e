namespace CompGrid;

/// <summary>
/// The commands that change a job on a caller's behalf — cancel, approve, reject — each under the engine lock, each
/// transition persisted with its actor before anything else happens.
/// </summary>
internal sealed class JobCommands(ActiveJobs jobs, JobRouter router, JobTracker tracker, JobCompletion completion, JobNotificationSender notifications, TimeProvider time)
{
    /// <summary>Cancels a job: at once when it never reached a backend, else through the backend.</summary>
    public async Task<JobRecord> CancelAsync(string jobId, string? actor, CancellationToken ct)
    {
        using (await jobs.LockAsync(ct).ConfigureAwait(false))
        {
            var job = await jobs.LoadAsync(jobId, ct).ConfigureAwait(false);
            if (job.IsTerminal) return job;
            string reason = actor is null ? "cancelled" : $"cancelled by {actor}";
            if (job.BackendJobId is null)
            {
                // Never reached a backend: it ends here, costs nothing, and its holds are released by the usage record.
                job = await jobs.TransitionAsync(job, j => j with { State = JobState.Cancelled, Reason = reason, EndedAt = time.GetUtcNow(), CancelRequested = true }, actor, ct).ConfigureAwait(false);
                return await completion.FinishAsync(job, null, ct).ConfigureAwait(false);
            }
            job = await jobs.UpdateAsync(job, j => j with { CancelRequested = true, Reason = reason }, ct).ConfigureAwait(false);
            var backend = router.BackendOf(job);
            try { await backend.CancelAsync(job.BackendJobId!, ct).ConfigureAwait(false); }
            catch (JobNotFoundException) { /* the backend lost it: settled as NodeFailed by tracking */ }
            var status = await backend.GetStatusAsync(job.BackendJobId!, ct).ConfigureAwait(false);
            if (status is not null) job = await tracker.ApplyStatusAsync(job, status, ct).ConfigureAwait(false);
            return job;
        }
    }

    /// <summary>Approves a job awaiting approval: it is queued. The notification is sent after the lock is released.</summary>
    public async Task<JobRecord> ApproveAsync(string jobId, string approver, string? reason, CancellationToken ct)
    {
        JobRecord job;
        using (await jobs.LockAsync(ct).ConfigureAwait(false))
        {
            job = await jobs.LoadAsync(jobId, ct).ConfigureAwait(false);
            if (job.State != JobState.AwaitingApproval) throw new InvalidJobStateException(jobId, job.State, "approve");
            var decision = new ApprovalDecision { Approved = true, By = approver, At = time.GetUtcNow(), Reason = reason };
            job = await jobs.TransitionAsync(job, j => j with { State = JobState.Queued, Approval = decision, Reason = "approved by " + approver + (reason is null ? "" : ": " + reason) }, approver, ct).ConfigureAwait(false);
        }
        await notifications.SendAsync(job, JobState.AwaitingApproval).ConfigureAwait(false);
        return job;
    }

    /// <summary>Rejects a job awaiting approval: it ends, and its holds are released by the usage record.</summary>
    public async Task<JobRecord> RejectAsync(string jobId, string approver, string reason, CancellationToken ct)
    {
        using (await jobs.LockAsync(ct).ConfigureAwait(false))
        {
            var job = await jobs.LoadAsync(jobId, ct).ConfigureAwait(false);
            if (job.State != JobState.AwaitingApproval) throw new InvalidJobStateException(jobId, job.State, "reject");
            var decision = new ApprovalDecision { Approved = false, By = approver, At = time.GetUtcNow(), Reason = reason };
            job = await jobs.TransitionAsync(job, j => j with { State = JobState.Rejected, Approval = decision, Reason = $"rejected by {approver}: {reason}", EndedAt = time.GetUtcNow() }, approver, ct).ConfigureAwait(false);
            return await completion.FinishAsync(job, null, ct).ConfigureAwait(false);
        }
    }
}
