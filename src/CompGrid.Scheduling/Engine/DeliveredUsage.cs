namespace CompGrid;

/// <summary>
/// Turns what a backend's accounting reported for an ended job into the usage record the engine stores and delivers
/// to the usage sinks: fields the backend left out are filled from the job record, and a job that never ran (or a
/// backend with no accounting) gets a record built from the job record alone. The one place this rule lives.
/// </summary>
internal sealed class DeliveredUsage(JobRouter defaults)
{
    /// <summary>The usage to deliver for <paramref name="job"/>, from <paramref name="reported"/> (null when the backend has none).</summary>
    public UsageRecord For(JobRecord job, UsageRecord? reported)
    {
        var r = job.Spec.Resources;
        bool ran = job.StartedAt is not null && job.BackendJobId is not null;
        var elapsed = ran && job.EndedAt is { } end ? end - job.StartedAt!.Value : TimeSpan.Zero;
        if (elapsed < TimeSpan.Zero) elapsed = TimeSpan.Zero;
        var usage = reported ?? new UsageRecord
        {
            Elapsed = elapsed,
            AllocatedCpus = ran ? r.TotalCpus : 0,
            AllocatedMemoryMiB = ran ? defaults.MemoryPerNode(job.Spec) * r.Nodes : 0,
            AllocatedGpus = ran ? r.TotalGpus : 0,
            NodeCount = ran ? r.Nodes : 0,
        };
        return usage with
        {
            JobId = job.Id,
            Account = usage.Account ?? job.Spec.Account,
            User = string.IsNullOrEmpty(usage.User) ? job.Spec.Owner : usage.User,
            Backend = usage.Backend ?? job.Backend,
            BackendJobId = usage.BackendJobId ?? job.BackendJobId,
            Partition = usage.Partition ?? job.Spec.Constraints.Partition,
            Qos = usage.Qos ?? job.Spec.Qos,
            Nodes = usage.Nodes.Count > 0 ? usage.Nodes : job.Nodes,
            StartedAt = usage.StartedAt ?? (ran ? job.StartedAt : null),
            EndedAt = usage.EndedAt ?? job.EndedAt,
            GpuModel = usage.GpuModel ?? r.GpuModel,
            ExitCode = usage.ExitCode ?? job.ExitCode,
            FinalState = job.State,
        };
    }
}
