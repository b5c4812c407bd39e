using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CompGrid;

/// <summary>
/// Gauges that counters cannot answer — how many jobs are in each state now, and how long the oldest queued job has
/// waited — on CompGrid's one Meter. The scheduler loop publishes a snapshot after each cycle, under the engine lock,
/// so a scrape never reads the job cache while it changes; between cycles it shows the last cycle's view. Only an
/// instance that runs cycles (the active scheduler) reports. Several engines in one process add up.
/// </summary>
internal sealed class JobGauges : IDisposable
{
    /// <summary>Instrument names.</summary>
    public const string ActiveName = "compgrid.jobs.active", OldestQueuedWaitName = "compgrid.jobs.queue.oldest_wait";

    /// <summary>The tag of <see cref="ActiveName"/>: the non-terminal state.</summary>
    public const string StateTag = "state";

    private static readonly JobState[] s_states = [JobState.AwaitingApproval, JobState.Queued, JobState.Running];
    private static readonly ConcurrentDictionary<JobGauges, byte> s_live = new();

    // Created once, with the callbacks reading every live engine's last snapshot.
    private static readonly ObservableGauge<long> s_active = CompGridDiagnostics.Meter.CreateObservableGauge(ActiveName, ObserveActive,
        unit: "{job}", description: "Jobs not yet finished, by state (AwaitingApproval, Queued, Running), as of the last scheduling cycle");

    private static readonly ObservableGauge<double> s_oldestWait = CompGridDiagnostics.Meter.CreateObservableGauge(OldestQueuedWaitName, ObserveOldestWait,
        unit: "s", description: "How long the oldest queued job has waited since submission, as of the last scheduling cycle");

    private volatile Snapshot _snapshot = new(new long[s_states.Length], 0);

    public JobGauges()
    {
        GC.KeepAlive(s_active);
        GC.KeepAlive(s_oldestWait);
        s_live.TryAdd(this, 0);
    }

    /// <summary>Counts the engine's active jobs; call under the engine lock.</summary>
    public void Publish(IEnumerable<JobRecord> active, DateTimeOffset now)
    {
        var counts = new long[s_states.Length];
        DateTimeOffset? oldest = null;
        foreach (var job in active)
        {
            int i = Array.IndexOf(s_states, job.State);
            if (i >= 0) counts[i]++;
            if (job.State == JobState.Queued && (oldest is null || job.SubmittedAt < oldest)) oldest = job.SubmittedAt;
        }
        _snapshot = new Snapshot(counts, oldest is { } o ? Math.Max(0, (now - o).TotalSeconds) : 0);
    }

    /// <inheritdoc/>
    public void Dispose() => s_live.TryRemove(this, out _);

    private static IEnumerable<Measurement<long>> ObserveActive()
    {
        var sums = new long[s_states.Length];
        foreach (var gauges in s_live.Keys)
            for (int i = 0; i < sums.Length; i++) sums[i] += gauges._snapshot.Counts[i];
        for (int i = 0; i < s_states.Length; i++)
            yield return new Measurement<long>(sums[i], new KeyValuePair<string, object?>(StateTag, s_states[i].ToString()));
    }

    private static double ObserveOldestWait() => s_live.Keys.Select(g => g._snapshot.OldestQueuedWaitSeconds).DefaultIfEmpty(0).Max();

    private sealed record Snapshot(long[] Counts, double OldestQueuedWaitSeconds);
}
