using System.Globalization;

namespace CompGrid.Metering;

/// <summary>
/// Turns a backend's usage report into the usage record the engine delivers (and billing charges), trusting the
/// report only where the engine cannot know better. The rule, in full:
/// <list type="bullet">
/// <item>Identity — job id, user, account, backend, backend job id, partition, QOS, final state and exit code — is
/// the stored job's. The account is the job's (the grant whose hold was placed at admission), never the backend's.</item>
/// <item>Allocation — CPUs, memory, GPUs and their model, node count — is what the engine allocated (the stored
/// spec), never the report.</item>
/// <item>Time: the engine observed the job between its dispatch (its own clock) and <c>observedEnd</c> (its own
/// clock when it saw the terminal state). A reported start or end is used only inside that window; elapsed is
/// end − start of the clamped times.</item>
/// <item>Measurements the engine cannot make itself — CPU time, peak memory — are kept but capped at what the
/// allocation allows (CPUs × elapsed; the allocated memory).</item>
/// </list>
/// Every disagreement sets a <see cref="UsageFlags"/> bit and adds a line to <see cref="UsageRecord.Adjustments"/>.
/// A job that never reached a backend, or never started, has zero usage.
/// </summary>
internal static class ObservedUsage
{
    public static UsageRecord Meter(JobRecord job, UsageRecord? reported, long memoryMiBPerNode, DateTimeOffset observedEnd)
    {
        ArgumentNullException.ThrowIfNull(job);
        var r = job.Spec.Resources;
        var flags = UsageFlags.None;
        var notes = new List<string>();
        void Note(UsageFlags flag, string field, object? was, object? used)
        {
            flags |= flag;
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"{field}: reported {Show(was)}, used {Show(used)}"));
        }

        bool ran = job.BackendJobId is not null && (job.StartedAt is not null || reported?.StartedAt is not null);
        int cpus = ran ? r.TotalCpus : 0;
        long memory = ran ? checked(memoryMiBPerNode * r.Nodes) : 0;
        int gpus = ran ? r.TotalGpus : 0;
        int nodes = ran ? r.Nodes : 0;

        // The window the engine saw: from its own dispatch (or submission) to when it saw the end.
        var windowStart = job.DispatchedAt ?? job.SubmittedAt;
        var windowEnd = observedEnd < windowStart ? windowStart : observedEnd;
        DateTimeOffset? start = null, end = null;
        var elapsed = TimeSpan.Zero;
        if (ran)
        {
            var s = reported?.StartedAt ?? job.StartedAt ?? windowStart;
            var e = reported?.EndedAt ?? job.EndedAt ?? windowEnd;
            var cs = Clamp(s, windowStart, windowEnd);
            var ce = Clamp(e, cs, windowEnd);
            if (cs != s) Note(UsageFlags.StartClamped, "startedAt", s, cs);
            if (ce != e) Note(UsageFlags.EndClamped, "endedAt", e, ce);
            (start, end, elapsed) = (cs, ce, ce - cs);
        }
        if (reported is not null && reported.Elapsed != elapsed && (ran || reported.Elapsed != TimeSpan.Zero))
            Note(UsageFlags.ElapsedClamped, "elapsed", reported.Elapsed, elapsed);

        if (reported is not null)
        {
            if (reported.AllocatedCpus != 0 && reported.AllocatedCpus != cpus) Note(UsageFlags.CpusClamped, "allocatedCpus", reported.AllocatedCpus, cpus);
            if (reported.AllocatedMemoryMiB != 0 && reported.AllocatedMemoryMiB != memory) Note(UsageFlags.MemoryClamped, "allocatedMemoryMiB", reported.AllocatedMemoryMiB, memory);
            if (reported.AllocatedGpus != 0 && reported.AllocatedGpus != gpus) Note(UsageFlags.GpusClamped, "allocatedGpus", reported.AllocatedGpus, gpus);
            if (reported.GpuModel is not null && !string.Equals(reported.GpuModel, r.GpuModel, StringComparison.OrdinalIgnoreCase)) Note(UsageFlags.GpusClamped, "gpuModel", reported.GpuModel, r.GpuModel);
            if (reported.NodeCount != 0 && reported.NodeCount != nodes) Note(UsageFlags.NodesClamped, "nodeCount", reported.NodeCount, nodes);
            if (reported.Account is not null && reported.Account != job.Spec.Account) Note(UsageFlags.AccountReplaced, "account", reported.Account, job.Spec.Account);
            if (!string.IsNullOrEmpty(reported.User) && reported.User != job.Spec.Owner) Note(UsageFlags.IdentityReplaced, "user", reported.User, job.Spec.Owner);
            if (!string.IsNullOrEmpty(reported.JobId) && reported.JobId != job.Id) Note(UsageFlags.IdentityReplaced, "jobId", reported.JobId, job.Id);
            if (reported.Backend is not null && reported.Backend != job.Backend) Note(UsageFlags.IdentityReplaced, "backend", reported.Backend, job.Backend);
            if (reported.Partition is not null && job.Spec.Constraints.Partition is { } p && reported.Partition != p) Note(UsageFlags.IdentityReplaced, "partition", reported.Partition, p);
            if (reported.Qos is not null && job.Spec.Qos is { } q && reported.Qos != q) Note(UsageFlags.IdentityReplaced, "qos", reported.Qos, q);
        }

        var cpuTime = reported?.CpuTime ?? TimeSpan.Zero;
        var maxCpuTime = TimeSpan.FromTicks(SaturatingMultiply(elapsed.Ticks, cpus));
        if (cpuTime < TimeSpan.Zero) { Note(UsageFlags.CpuTimeClamped, "cpuTime", cpuTime, TimeSpan.Zero); cpuTime = TimeSpan.Zero; }
        if (cpuTime > maxCpuTime) { Note(UsageFlags.CpuTimeClamped, "cpuTime", cpuTime, maxCpuTime); cpuTime = maxCpuTime; }

        long? peak = reported?.PeakMemoryBytes;
        long maxPeak = SaturatingMultiply(memory, 1024L * 1024L);
        if (peak is { } pk && (pk < 0 || (memory > 0 && pk > maxPeak)))
        {
            long used = pk < 0 ? 0 : maxPeak;
            Note(UsageFlags.PeakMemoryClamped, "peakMemoryBytes", pk, used);
            peak = used;
        }

        return new UsageRecord
        {
            JobId = job.Id,
            Account = job.Spec.Account,
            User = job.Spec.Owner,
            Backend = job.Backend,
            BackendJobId = job.BackendJobId,
            Partition = job.Spec.Constraints.Partition ?? reported?.Partition,
            Qos = job.Spec.Qos ?? reported?.Qos,
            Nodes = job.Nodes.Count > 0 ? job.Nodes : reported?.Nodes ?? [],
            StartedAt = start,
            EndedAt = end ?? job.EndedAt,
            Elapsed = elapsed,
            AllocatedCpus = cpus,
            AllocatedMemoryMiB = memory,
            AllocatedGpus = gpus,
            GpuModel = ran ? r.GpuModel : null,
            NodeCount = nodes,
            CpuTime = cpuTime,
            PeakMemoryBytes = peak,
            ExitCode = job.ExitCode ?? reported?.ExitCode,
            FinalState = job.State,
            Tres = reported?.Tres ?? new Dictionary<string, decimal>(),
            Flags = flags,
            Adjustments = notes,
        };
    }

    private static DateTimeOffset Clamp(DateTimeOffset value, DateTimeOffset min, DateTimeOffset max) => value < min ? min : value > max ? max : value;

    private static long SaturatingMultiply(long a, long b)
    {
        if (a <= 0 || b <= 0) return 0;
        return a > long.MaxValue / b ? long.MaxValue : a * b;
    }

    private static string Show(object? value) => value switch
    {
        null => "none",
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
