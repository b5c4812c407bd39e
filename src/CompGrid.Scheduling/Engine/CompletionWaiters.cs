using System.Collections.Concurrent;

namespace CompGrid;

/// <summary>Callers of <c>WaitForCompletionAsync</c>: woken when this engine settles the job, and by a poll, so a job finished by another engine instance is seen too.</summary>
internal sealed class CompletionWaiters(IJobStore store, CompGridOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobRecord>> _waiters = new(StringComparer.Ordinal);

    /// <summary>Waits until the job is terminal and its usage delivered.</summary>
    public async Task<JobRecord> WaitAsync(string jobId, CancellationToken ct)
    {
        while (true)
        {
            var tcs = _waiters.GetOrAdd(jobId, _ => new TaskCompletionSource<JobRecord>(TaskCreationOptions.RunContinuationsAsynchronously));
            var job = await store.GetAsync(jobId, ct).ConfigureAwait(false) ?? throw new JobNotFoundException(jobId);
            if (job.IsTerminal && job.UsageDelivered) return job;
            // Wake at least every poll interval, so a job finished by another engine instance is seen too.
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var delay = Task.Delay(options.PollInterval * 5, time, cts.Token);
            var done = await Task.WhenAny(tcs.Task, delay).ConfigureAwait(false);
            await cts.CancelAsync().ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            if (done == tcs.Task) return await tcs.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Wakes the callers waiting for <paramref name="job"/>.</summary>
    public void Complete(JobRecord job)
    {
        if (_waiters.TryRemove(job.Id, out var tcs)) tcs.TrySetResult(job);
    }
}
