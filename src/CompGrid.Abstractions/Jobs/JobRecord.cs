namespace CompGrid;

/// <summary>A decision on a job that waited for approval.</summary>
public sealed record ApprovalDecision
{
    /// <summary>Whether the job was approved (true) or rejected (false).</summary>
    public bool Approved { get; init; }

    /// <summary>Who decided.</summary>
    public string By { get; init; } = "";

    /// <summary>When.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>Why (free text, may be empty).</summary>
    public string? Reason { get; init; }
}

/// <summary>One state change of a job, as recorded in its history.</summary>
public sealed record JobTransition
{
    /// <summary>The job.</summary>
    public string JobId { get; init; } = "";

    /// <summary>The previous state, or null for the first record.</summary>
    public JobState? From { get; init; }

    /// <summary>The new state.</summary>
    public JobState To { get; init; }

    /// <summary>When the change happened.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>Why, in words.</summary>
    public string? Reason { get; init; }

    /// <summary>Who caused it (a user, an approver, or <c>engine</c>).</summary>
    public string? Actor { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{At:O} {From?.ToString() ?? "-"} -> {To}{(Reason is null ? "" : ": " + Reason)}";
}

/// <summary>A job as CompGrid knows it: the spec, the state with its reason and timestamps, and where it ran.</summary>
public sealed record JobRecord
{
    /// <summary>The CompGrid job id (for example <c>cg-01J…</c>); carried by the backend job.</summary>
    public string Id { get; init; } = "";

    /// <summary>The job's specification as submitted.</summary>
    public JobSpec Spec { get; init; } = new();

    /// <summary>The current state.</summary>
    public JobState State { get; init; }

    /// <summary>Why the job is in its state (pending reason, failure reason, rejection reason).</summary>
    public string? Reason { get; init; }

    /// <summary>The backend's own state name (for example Slurm <c>PENDING</c>, Docker <c>exited</c>).</summary>
    public string? NativeState { get; init; }

    /// <summary>The backend the job was routed to, once routed.</summary>
    public string? Backend { get; init; }

    /// <summary>The backend's id for the job (Slurm job id, container id, process id), once dispatched.</summary>
    public string? BackendJobId { get; init; }

    /// <summary>The nodes the job was placed on or ran on.</summary>
    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <summary>When the job was submitted.</summary>
    public DateTimeOffset SubmittedAt { get; init; }

    /// <summary>When the job was dispatched to its backend.</summary>
    public DateTimeOffset? DispatchedAt { get; init; }

    /// <summary>When the job started running.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the job reached a terminal state.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The exit code, when the job ran to an exit.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The signal that ended the job, when known.</summary>
    public int? Signal { get; init; }

    /// <summary>The approval decision, for jobs that waited for approval.</summary>
    public ApprovalDecision? Approval { get; init; }

    /// <summary>Whether the job's usage record has been delivered to every usage sink.</summary>
    public bool UsageDelivered { get; init; }

    /// <summary>Whether the job's cancellation was requested (kept so a restart finishes it).</summary>
    public bool CancelRequested { get; init; }

    /// <summary>A version number incremented on every update (optimistic concurrency in stores).</summary>
    public long Version { get; init; }

    /// <summary>Whether the job is in a terminal state.</summary>
    public bool IsTerminal => State.IsTerminal();

    /// <inheritdoc/>
    public override string ToString() => $"{Id} {Spec.Name} [{State}{(Reason is null ? "" : ": " + Reason)}]";
}

/// <summary>A filter for listing jobs. Null members do not filter.</summary>
public sealed record JobQuery
{
    /// <summary>Only jobs of this owner.</summary>
    public string? Owner { get; init; }

    /// <summary>Only jobs charged to this account.</summary>
    public string? Account { get; init; }

    /// <summary>Only jobs in one of these states (empty: all states).</summary>
    public IReadOnlyList<JobState> States { get; init; } = [];

    /// <summary>Only jobs routed to this backend.</summary>
    public string? Backend { get; init; }

    /// <summary>Only jobs submitted at or after this time.</summary>
    public DateTimeOffset? SubmittedAfter { get; init; }

    /// <summary>Only jobs submitted before this time.</summary>
    public DateTimeOffset? SubmittedBefore { get; init; }

    /// <summary>At most this many jobs (newest first). The default is 1000.</summary>
    public int Limit { get; init; } = 1000;

    /// <summary>All non-terminal jobs.</summary>
    public static JobQuery Active { get; } = new() { States = [JobState.AwaitingApproval, JobState.Queued, JobState.Running], Limit = int.MaxValue };
}

/// <summary>A job's captured output.</summary>
public sealed record JobLogs
{
    /// <summary>Standard output.</summary>
    public string StandardOutput { get; init; } = "";

    /// <summary>Standard error.</summary>
    public string StandardError { get; init; } = "";

    /// <summary>Whether the logs were cut to a size limit.</summary>
    public bool Truncated { get; init; }

    /// <summary>No output.</summary>
    public static JobLogs Empty { get; } = new();

    /// <inheritdoc/>
    public override string ToString() => StandardError.Length == 0 ? StandardOutput : StandardOutput + StandardError;
}
