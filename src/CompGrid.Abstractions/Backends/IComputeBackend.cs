namespace CompGrid;

/// <summary>What a backend can do.</summary>
public sealed record BackendCapabilities
{
    /// <summary>Whether the backend places jobs on its nodes itself (Slurm), or CompGrid's placement core chooses (Local, Docker, VM pools).</summary>
    public bool PlacesJobsItself { get; init; }

    /// <summary>Whether the backend runs container payloads.</summary>
    public bool Containers { get; init; }

    /// <summary>Whether the backend can allocate GPUs.</summary>
    public bool Gpus { get; init; }

    /// <summary>Whether a job may span several nodes.</summary>
    public bool MultiNode { get; init; }

    /// <summary>Whether logs can be read while the job runs.</summary>
    public bool LogStreaming { get; init; }

    /// <summary>Whether the backend pushes status changes (implements <see cref="IBackendEventSource"/>).</summary>
    public bool PushesEvents { get; init; }

    /// <summary>The payload kinds the backend runs.</summary>
    public IReadOnlyList<PayloadKind> Payloads { get; init; } = [PayloadKind.CommandLine, PayloadKind.Script, PayloadKind.Executable];
}

/// <summary>A request to start one job on a backend.</summary>
public sealed record BackendJobRequest
{
    /// <summary>The CompGrid job id; the backend must tag its job with it (comment, label, marker file) so it can be found after a restart.</summary>
    public required string JobId { get; init; }

    /// <summary>The job's specification, validated by the engine.</summary>
    public required JobSpec Spec { get; init; }

    /// <summary>For backends placed by CompGrid: the node(s) chosen, one per requested node. Empty for backends that place jobs themselves.</summary>
    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <summary>The memory per node after defaults were applied, in MiB.</summary>
    public long MemoryMiBPerNode { get; init; }

    /// <summary>The walltime limit after defaults were applied.</summary>
    public TimeSpan Walltime { get; init; }
}

/// <summary>A backend's view of one of its jobs.</summary>
public sealed record BackendJobStatus
{
    /// <summary>The backend's job id.</summary>
    public string BackendJobId { get; init; } = "";

    /// <summary>The CompGrid job id the backend job carries, when known.</summary>
    public string? JobId { get; init; }

    /// <summary>The normalised state.</summary>
    public JobState State { get; init; }

    /// <summary>The backend's own state name.</summary>
    public string? NativeState { get; init; }

    /// <summary>Why (pending reason, failure reason).</summary>
    public string? Reason { get; init; }

    /// <summary>The exit code, when ended by an exit.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The signal that ended the job, when known.</summary>
    public int? Signal { get; init; }

    /// <summary>When the job started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the job ended.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The nodes the job runs or ran on.</summary>
    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString() => $"{BackendJobId} ({JobId}) {State} [{NativeState}] exit={ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}";
}

/// <summary>
/// A place jobs run: a Slurm cluster, a set of Docker engines, the local machine, a VM pool.
/// Adapters implement this and pass the conformance suite in <c>CompGrid.Testing</c>.
/// Every backend job carries its CompGrid job id so that <see cref="ListJobsAsync"/> finds it after an engine restart.
/// </summary>
public interface IComputeBackend
{
    /// <summary>The backend's registered name (for example <c>local</c>, <c>campus</c>, <c>lab</c>).</summary>
    string Name { get; }

    /// <summary>What the backend can do.</summary>
    BackendCapabilities Capabilities { get; }

    /// <summary>Starts (or submits) a job. Returns the backend's job id. Throws <see cref="CompGridException"/> on failure.</summary>
    Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default);

    /// <summary>The job's current status, or null when the backend does not know the id.</summary>
    Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default);

    /// <summary>Cancels a job; no effect on a job that already ended. Throws <see cref="JobNotFoundException"/> for an unknown id.</summary>
    Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default);

    /// <summary>The backend's jobs that carry a CompGrid job id (running, or ended and not yet cleaned up), for reconciliation.</summary>
    IAsyncEnumerable<BackendJobStatus> ListJobsAsync(CancellationToken cancellationToken = default);

    /// <summary>The job's captured output so far. Throws <see cref="JobNotFoundException"/> for an unknown id.</summary>
    Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default);

    /// <summary>The nodes of the backend.</summary>
    Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The usage of an ended job from the backend's accounting (sacct, container stats, process times), or null when
    /// the backend has none; the engine then derives one from the job record. Called once the job is terminal.
    /// </summary>
    Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Called after the job ended and its usage was recorded: stage outputs to the job's output directory and remove
    /// working directories or containers. Logs stay readable. Idempotent.
    /// </summary>
    Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default);
}

/// <summary>Implemented by backends that push status changes (Docker events, process exits), so the engine need not wait for a poll.</summary>
public interface IBackendEventSource
{
    /// <summary>Status changes as they happen, until cancelled.</summary>
    IAsyncEnumerable<BackendJobStatus> WatchAsync(CancellationToken cancellationToken = default);
}
