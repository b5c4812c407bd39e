namespace CompGrid;

/// <summary>The verdict of an admission check.</summary>
public enum AdmissionDecision
{
    /// <summary>The job may be queued.</summary>
    Admit,
    /// <summary>The job is refused; nothing is queued.</summary>
    Reject,
    /// <summary>The job is queued in AwaitingApproval until an approver decides.</summary>
    WaitForApproval,
}

/// <summary>The outcome of one admission check.</summary>
public sealed record AdmissionResult
{
    /// <summary>The verdict.</summary>
    public AdmissionDecision Decision { get; init; }

    /// <summary>Why (required for Reject and WaitForApproval).</summary>
    public string? Reason { get; init; }

    /// <summary>A machine-readable reason code (for example <c>insufficient-funds</c>, <c>not-a-member</c>, <c>limit</c>).</summary>
    public string? Code { get; init; }

    /// <summary>Admit.</summary>
    public static AdmissionResult Admit() => AdmitResult;

    /// <summary>Reject with a reason.</summary>
    public static AdmissionResult Reject(string reason, string? code = null) => new() { Decision = AdmissionDecision.Reject, Reason = reason, Code = code };

    /// <summary>Wait for an approver, with a reason.</summary>
    public static AdmissionResult WaitForApproval(string reason) => new() { Decision = AdmissionDecision.WaitForApproval, Reason = reason };

    private static readonly AdmissionResult AdmitResult = new() { Decision = AdmissionDecision.Admit };

    /// <inheritdoc/>
    public override string ToString() => Reason is null ? Decision.ToString() : $"{Decision}: {Reason}";
}

/// <summary>What an admission check sees.</summary>
public sealed record AdmissionContext
{
    /// <summary>The id the job will have.</summary>
    public required string JobId { get; init; }

    /// <summary>The validated specification.</summary>
    public required JobSpec Spec { get; init; }

    /// <summary>The walltime limit after defaults.</summary>
    public TimeSpan Walltime { get; init; }

    /// <summary>The memory per node after defaults, in MiB.</summary>
    public long MemoryMiBPerNode { get; init; }

    /// <summary>The backend the job is routed to, when known at admission.</summary>
    public string? Backend { get; init; }

    /// <summary>The current time.</summary>
    public DateTimeOffset Now { get; init; }
}

/// <summary>
/// One link of the admission chain (quota → stewardship → billing). Checks run in registration order; a Reject stops
/// the chain, a WaitForApproval is remembered and the chain goes on. When a later check rejects, earlier checks that
/// admitted are told through <see cref="ReleaseAsync"/> so they can undo what they reserved (a hold on funds).
/// </summary>
public interface IAdmissionCheck
{
    /// <summary>Decides on one job.</summary>
    ValueTask<AdmissionResult> CheckAsync(AdmissionContext context, CancellationToken cancellationToken = default);

    /// <summary>Undoes what <see cref="CheckAsync"/> reserved for a job that was finally not queued. The default does nothing.</summary>
    ValueTask ReleaseAsync(AdmissionContext context, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}
