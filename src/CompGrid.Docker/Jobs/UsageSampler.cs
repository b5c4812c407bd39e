using CompGrid.Docker.Diagnostics;

namespace CompGrid.Docker.Jobs;

/// <summary>
/// Meters jobs: samples running containers' one-shot stats every <c>StatsInterval</c> (cumulative CPU time, peak
/// memory) and builds the usage record of an ended job from the allocation CompGrid made and what it sampled.
/// </summary>
internal sealed class UsageSampler(DockerBackendState state)
{
    private int _samplesTaken;

    /// <summary>How many stats samples were applied (for tests).</summary>
    public int SamplesTaken => Volatile.Read(ref _samplesTaken);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try { await Task.Delay(state.Options.StatsInterval, state.Time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            await SampleAllAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes one stats sample of every unfinished job.</summary>
    public async Task SampleAllAsync(CancellationToken cancellationToken = default)
    {
        foreach (var entry in state.Jobs.Values.Where(j => j.Final is null).ToList())
            await SampleOnceAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    private async Task SampleOnceAsync(JobEntry entry, CancellationToken cancellationToken)
    {
        if (!state.ByName.TryGetValue(entry.Node, out var engine) || engine.UnreachableSince is not null) return;
        try
        {
            var stats = await engine.Client.GetStatsAsync(entry.ContainerId, entry.JobId, cancellationToken).ConfigureAwait(false);
            if (stats is null) return;
            lock (entry.Gate)
            {
                ulong cpu = stats.CpuStats.CpuUsage.TotalUsage;
                if (cpu > entry.CpuNanos) entry.CpuNanos = cpu;
                ulong peak = Math.Max(stats.MemoryStats.MaxUsage, stats.MemoryStats.Usage);
                if (peak > 0 && (entry.PeakMemoryBytes is null || (long)peak > entry.PeakMemoryBytes)) entry.PeakMemoryBytes = (long)peak;
            }
            Interlocked.Increment(ref _samplesTaken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
        catch (Exception e)
        {
            // Metering is best effort: a failed sample never stops the sampler.
            Log.StatsFailed(state.Logger, entry.JobId, e.GetType().Name + ": " + e.Message);
        }
    }

    /// <summary>The usage of an ended job (<paramref name="status"/> terminal).</summary>
    public UsageRecord Build(EngineNode engine, JobEntry entry, BackendJobStatus status)
    {
        lock (entry.Gate)
        {
            var started = status.StartedAt ?? entry.StartedAt;
            var ended = status.EndedAt ?? entry.EndedAt ?? state.Time.GetUtcNow();
            var elapsed = started is { } s && ended > s ? ended - s : TimeSpan.Zero;
            var tres = new Dictionary<string, decimal>(StringComparer.Ordinal)
            {
                ["cpu"] = entry.Cpus,
                ["mem"] = entry.MemoryMiB,
            };
            if (entry.Gpus > 0) tres["gres/gpu"] = entry.Gpus;
            return new UsageRecord
            {
                JobId = entry.JobId,
                Account = entry.Account,
                User = entry.Owner,
                Backend = state.Name,
                BackendJobId = entry.BackendJobId,
                Partition = engine.Options.Partitions.FirstOrDefault(),
                Nodes = [engine.Name],
                StartedAt = started,
                EndedAt = ended,
                Elapsed = elapsed,
                AllocatedCpus = entry.Cpus,
                AllocatedMemoryMiB = entry.MemoryMiB,
                AllocatedGpus = entry.Gpus,
                GpuModel = entry.Gpus > 0 ? engine.Options.GpuModel : null,
                NodeCount = 1,
                CpuTime = TimeSpan.FromTicks((long)(entry.CpuNanos / 100)),
                PeakMemoryBytes = entry.PeakMemoryBytes,
                ExitCode = status.ExitCode,
                FinalState = status.State,
                Tres = tres,
            };
        }
    }
}
