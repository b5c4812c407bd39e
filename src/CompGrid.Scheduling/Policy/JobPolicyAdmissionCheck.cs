using Microsoft.Extensions.Logging;

namespace CompGrid.Policy;

/// <summary>
/// Puts an <see cref="IJobPolicy"/> into the admission chain. <c>AddJobPolicy</c> registers it first, so a forbidden
/// job reaches neither the stewardship check (no approval request) nor billing (no hold).
/// </summary>
internal sealed class JobPolicyAdmissionCheck(IJobPolicy policy, IJobCallerProvider callers, ILogger<JobPolicyAdmissionCheck> logger) : IAdmissionCheck
{
    public async ValueTask<AdmissionResult> CheckAsync(AdmissionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        JobCaller caller = await callers.GetCallerAsync(context.Spec.Owner, cancellationToken).ConfigureAwait(false);
        var decision = await policy.EvaluateAsync(new JobPolicyContext
        {
            Spec = context.Spec, Caller = caller, Walltime = context.Walltime, MemoryMiBPerNode = context.MemoryMiBPerNode, Backend = context.Backend,
        }, cancellationToken).ConfigureAwait(false);
        if (decision.IsAllowed) return AdmissionResult.Admit();
        Log.Denied(logger, context.JobId, caller.Name, string.Join("; ", decision.Violations));
        // Thrown rather than returned as Reject: an AdmissionResult has no field, and the caller must learn which field
        // broke which rule. The engine passes the exception through after releasing earlier checks (there are none).
        throw new JobPolicyException(decision.Violations) { JobId = context.JobId, Operation = "submit" };
    }
}

/// <summary>The default <see cref="IJobCallerProvider"/>: every owner has no roles.</summary>
internal sealed class OwnerOnlyCallerProvider : IJobCallerProvider
{
    public ValueTask<JobCaller> GetCallerAsync(string owner, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(JobCaller.WithoutRoles(owner));
}
