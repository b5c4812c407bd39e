namespace CompGrid;

/// <summary>
/// Decides what a caller may ask for: nice values, QOS, partition, backend, container network and registry, and the
/// largest sizes. The engine asks it at admission, before any other check, so a forbidden job places no hold and waits
/// for no approver. One member: an implementation only has to evaluate a request; the rule-based implementation in
/// <c>CompGrid.Scheduling</c> (<c>JobPolicy.Create</c>, <c>AddJobPolicy</c>) reads its rules from options.
/// </summary>
public interface IJobPolicy
{
    /// <summary>Evaluates one request; the decision lists every field the caller may not ask for, with the reason.</summary>
    ValueTask<JobPolicyDecision> EvaluateAsync(JobPolicyContext context, CancellationToken cancellationToken = default);
}

/// <summary>
/// Who submits a job, as the policy sees them: the owner's name and roles. The engine receives only the owner's name
/// (<see cref="JobSpec.Owner"/>, set by the portal from its authenticated user); an <see cref="IJobCallerProvider"/>
/// supplies the roles.
/// </summary>
/// <param name="Name">The user's name (the job's owner).</param>
/// <param name="Roles">The user's roles (for example <c>Administrator</c>), compared ordinally.</param>
public sealed record JobCaller(string Name, IReadOnlyCollection<string> Roles)
{
    /// <summary>A caller with no roles.</summary>
    public static JobCaller WithoutRoles(string name) => new(name, []);

    /// <summary>Whether the caller has <paramref name="role"/>.</summary>
    public bool IsInRole(string role) => Roles.Contains(role, StringComparer.Ordinal);

    /// <inheritdoc/>
    public override string ToString() => Roles.Count == 0 ? Name : $"{Name} ({string.Join(", ", Roles)})";
}

/// <summary>
/// Maps a job's owner to the caller the policy judges (its roles). A portal implements it from its identity system;
/// the default gives every owner no roles, so the policy's default rule applies to everyone.
/// </summary>
public interface IJobCallerProvider
{
    /// <summary>The caller for the job owner <paramref name="owner"/>.</summary>
    ValueTask<JobCaller> GetCallerAsync(string owner, CancellationToken cancellationToken = default);
}

/// <summary>What a policy judges: the request, its caller, and the values the engine will use after its defaults.</summary>
public sealed record JobPolicyContext
{
    /// <summary>The validated job specification.</summary>
    public required JobSpec Spec { get; init; }

    /// <summary>The caller (owner and roles).</summary>
    public required JobCaller Caller { get; init; }

    /// <summary>The walltime after the engine's default, or null to judge <see cref="JobSpec.Walltime"/> only.</summary>
    public TimeSpan? Walltime { get; init; }

    /// <summary>The memory per node after the engine's default, in MiB, or null to judge the requested memory only.</summary>
    public long? MemoryMiBPerNode { get; init; }

    /// <summary>The backend the job is routed to, when known (a job that names none runs on the default).</summary>
    public string? Backend { get; init; }
}

/// <summary>One thing a caller may not ask for: the field (as in JSON, camelCase, dots for nesting) and why.</summary>
/// <param name="Field">The field, for example <c>nice</c> or <c>resources.cpus</c>.</param>
/// <param name="Reason">The rule, for example <c>must be at least 0 for this caller</c>.</param>
public sealed record PolicyViolation(string Field, string Reason)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Field}: {Reason}";
}

/// <summary>The outcome of <see cref="IJobPolicy.EvaluateAsync"/>: allowed, or the violations.</summary>
public sealed record JobPolicyDecision
{
    private static readonly JobPolicyDecision s_allow = new() { Violations = [] };

    /// <summary>Every field the caller may not ask for; empty when the request is allowed.</summary>
    public IReadOnlyList<PolicyViolation> Violations { get; init; } = [];

    /// <summary>Whether the request is allowed.</summary>
    public bool IsAllowed => Violations.Count == 0;

    /// <summary>Allowed.</summary>
    public static JobPolicyDecision Allow() => s_allow;

    /// <summary>Denied for these violations (at least one).</summary>
    public static JobPolicyDecision Deny(IReadOnlyList<PolicyViolation> violations)
    {
        ArgumentNullException.ThrowIfNull(violations);
        if (violations.Count == 0) throw new ArgumentException("A denial needs at least one violation.", nameof(violations));
        return new() { Violations = violations };
    }

    /// <summary>Throws <see cref="JobPolicyException"/> when the request is denied.</summary>
    public void ThrowIfDenied(string? jobId = null)
    {
        if (!IsAllowed) throw new JobPolicyException(Violations) { JobId = jobId, Operation = "submit" };
    }

    /// <inheritdoc/>
    public override string ToString() => IsAllowed ? "Allowed" : "Denied: " + string.Join("; ", Violations);
}

/// <summary>
/// The policy layer refused a request (code <see cref="CompGridErrorCodes.PolicyDenied"/>); nothing was stored and no
/// hold was placed. A portal answers 403 with <see cref="Violations"/> (field and reason). Not transient.
/// </summary>
public sealed class JobPolicyException : CompGridException
{
    /// <summary>Creates the exception from its violations.</summary>
    public JobPolicyException(IReadOnlyList<PolicyViolation> violations)
        : base("The job policy does not allow this request: " + string.Join("; ", violations ?? []))
    {
        Violations = violations ?? [];
        Code = CompGridErrorCodes.PolicyDenied;
    }

    /// <summary>The fields the caller may not ask for, with the reasons.</summary>
    public IReadOnlyList<PolicyViolation> Violations { get; }
}
