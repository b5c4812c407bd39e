using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Settles a job whose terminal state is persisted: its usage is stored once and delivered to every usage sink (sinks
/// are idempotent by job id; a failing sink leaves the job cached and the next cycle delivers again), the backend
/// cleans up and stages outputs, the notification is sent and waiters are woken.
/// </summary>
internal sealed class JobCompletion(
    ActiveJobs jobs, IJobStore store, IReadOnlyList<IUsageSink> sinks, DeliveredUsage usage,
    JobNotificationSender notifications, CompletionWaiters waiters, ILogger logger)
{
    /// <summary>Delivers usage (unless already delivered), completes the backend job, notifies and wakes waiters.</summary>
    public async Task<JobRecord> FinishAsync(JobRecord job, IComputeBackend? backend, CancellationToken ct)
    {
        jobs.Forget(job.Id);
        if (!job.UsageDelivered)
        {
            UsageRecord? reported = null;
            if (backend is not null && job.BackendJobId is not null)
            {
                try { reported = await backend.GetUsageAsync(job.BackendJobId, ct).ConfigureAwait(false); }
                catch (CompGridException ex) { Log.BackendError(logger, backend.Name, "usage", ex.Message); }
            }
            var record = usage.For(job, reported);
            await store.TryAddUsageAsync(record, ct).ConfigureAwait(false);
            var stored = await store.GetUsageAsync(job.Id, ct).ConfigureAwait(false) ?? record;
            foreach (var sink in sinks)
            {
                try { await sink.RecordAsync(stored, ct).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Not marked delivered: the next start delivers again, and sinks are idempotent by job id.
                    Log.SinkFailed(logger, job.Id, ex);
                    jobs.Retain(job); // retried by the next cycle
                    return job;
                }
            }
            job = await jobs.UpdateAsync(job, j => j with { UsageDelivered = true }, ct).ConfigureAwait(false);
        }
        if (backend is not null && job.BackendJobId is not null)
        {
            try { await backend.CompleteAsync(job.BackendJobId, ct).ConfigureAwait(false); }
            catch (CompGridException ex) { Log.BackendError(logger, backend.Name, "complete", ex.Message); }
        }
        EngineTelemetry.Finished.Add(1, new KeyValuePair<string, object?>(EngineTelemetry.StateTag, job.State.ToString()));
        Log.Finished(logger, job.Id, job.State, job.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-", job.Reason ?? "");
        await notifications.SendAsync(job, null).ConfigureAwait(false);
        waiters.Complete(job);
        return job;
    }
}
