namespace CompGrid;

/// <summary>
/// What a job used, from the backend's own accounting where it has one. Produced once per job when it reaches a
/// terminal state and delivered to every <see cref="IUsageSink"/>; jobs that never started have zero elapsed time.
/// </summary>
public sealed record UsageRecord
{
    /// <summary>The CompGrid job id (the idempotency key for charges).</summary>
    public string JobId { get; init; } = "";

    /// <summary>The account (grant code) charged, or null.</summary>
    public string? Account { get; init; }

    /// <summary>The job's owner.</summary>
    public string User { get; init; } = "";

    /// <summary>The backend that ran the job (null when it never reached one).</summary>
    public string? Backend { get; init; }

    /// <summary>The backend's job id.</summary>
    public string? BackendJobId { get; init; }

    /// <summary>The partition or node pool.</summary>
    public string? Partition { get; init; }

    /// <summary>The quality of service.</summary>
    public string? Qos { get; init; }

    /// <summary>The nodes the job ran on.</summary>
    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <summary>When the job started, or null if it never did.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the job ended.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Wall time from start to end.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>CPUs allocated, summed over nodes.</summary>
    public int AllocatedCpus { get; init; }

    /// <summary>Memory allocated in MiB, summed over nodes.</summary>
    public long AllocatedMemoryMiB { get; init; }

    /// <summary>GPUs allocated, summed over nodes.</summary>
    public int AllocatedGpus { get; init; }

    /// <summary>The GPU model, when known.</summary>
    public string? GpuModel { get; init; }

    /// <summary>Number of nodes.</summary>
    public int NodeCount { get; init; }

    /// <summary>CPU time consumed (user + system) by the job's processes.</summary>
    public TimeSpan CpuTime { get; init; }

    /// <summary>Peak memory in bytes, when measured.</summary>
    public long? PeakMemoryBytes { get; init; }

    /// <summary>The exit code, when the job ran to an exit.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The job's terminal state.</summary>
    public JobState FinalState { get; init; }

    /// <summary>Backend-specific trackable resources (Slurm TRES such as <c>billing</c>), by name.</summary>
    public IReadOnlyDictionary<string, decimal> Tres { get; init; } = new Dictionary<string, decimal>();

    /// <summary>
    /// What the engine corrected in the backend's report before delivering it (<see cref="UsageFlags.None"/> when the
    /// report agreed with what the engine observed). Identity, allocation and the time window always come from the
    /// engine's own record of the job; a flagged record is also logged.
    /// </summary>
    public UsageFlags Flags { get; init; }

    /// <summary>One line per correction, naming the field, the reported value and the value used.</summary>
    public IReadOnlyList<string> Adjustments { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString() =>
        $"{JobId} {FinalState} {Elapsed} cpus={AllocatedCpus} mem={AllocatedMemoryMiB}MiB gpus={AllocatedGpus} cputime={CpuTime}{(Flags == UsageFlags.None ? "" : " flags=" + Flags)}";
}

/// <summary>The corrections the engine made to a backend's usage report (see <see cref="UsageRecord.Flags"/>).</summary>
[Flags]
public enum UsageFlags
{
    /// <summary>The report agreed with the engine.</summary>
    None = 0,

    /// <summary>The reported start lay outside the window the engine observed (dispatch to end) and was moved into it.</summary>
    StartClamped = 1 << 0,

    /// <summary>The reported end lay outside the observed window and was moved into it.</summary>
    EndClamped = 1 << 1,

    /// <summary>The reported elapsed time disagreed with the (clamped) start and end and was recomputed from them.</summary>
    ElapsedClamped = 1 << 2,

    /// <summary>The reported CPUs differed from those the engine allocated; the allocation is used.</summary>
    CpusClamped = 1 << 3,

    /// <summary>The reported memory differed from the allocation; the allocation is used.</summary>
    MemoryClamped = 1 << 4,

    /// <summary>The reported GPUs (or GPU model) differed from the allocation; the allocation is used.</summary>
    GpusClamped = 1 << 5,

    /// <summary>The reported node count differed from the allocation; the allocation is used.</summary>
    NodesClamped = 1 << 6,

    /// <summary>The reported CPU time exceeded CPUs × elapsed and was capped.</summary>
    CpuTimeClamped = 1 << 7,

    /// <summary>The reported peak memory exceeded the allocation and was capped.</summary>
    PeakMemoryClamped = 1 << 8,

    /// <summary>The reported account differed from the job's; the job's account (the grant held at admission) is used.</summary>
    AccountReplaced = 1 << 9,

    /// <summary>The reported user, job id, backend, partition or QOS differed from the job's; the job's are used.</summary>
    IdentityReplaced = 1 << 10,
}

/// <summary>
/// Receives the final usage record of each job. The engine delivers every record at least once and records the
/// delivery; implementations must be idempotent by <see cref="UsageRecord.JobId"/> so that a redelivery after a
/// crash changes nothing (billing charges, fair-share usage).
/// </summary>
public interface IUsageSink
{
    /// <summary>Records one job's usage.</summary>
    ValueTask RecordAsync(UsageRecord usage, CancellationToken cancellationToken = default);
}
