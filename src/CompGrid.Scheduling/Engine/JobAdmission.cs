using Microsoft.Extensions.Logging;

namespace CompGrid;

/// <summary>
/// Admission of a new job: validation (the error names the field and the rule), routing, then the admission checks in
/// registration order. A reject or a failure releases what the earlier checks took (holds, quota), in reverse order,
/// and stores nothing. The result is the job record to store — queued, or awaiting approval when a check says so.
/// </summary>
internal sealed class JobAdmission(JobRouter router, IReadOnlyList<IAdmissionCheck> checks, CompGridOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>Validates, routes and admits <paramref name="spec"/>; throws <see cref="JobValidationException"/> or <see cref="JobRejectedException"/>.</summary>
    public async Task<AdmittedJob> AdmitAsync(JobSpec spec, CancellationToken ct)
    {
        var errors = JobSpecValidator.Validate(spec, options.MaxWalltime).ToList();
        IComputeBackend? backend = null;
        if (errors.Count == 0)
        {
            backend = router.Route(spec, out string? routeError, out string routeField);
            if (backend is null) errors.Add(new ValidationError(routeField, routeError!));
        }
        if (errors.Count > 0) throw new JobValidationException(errors);

        string id = router.NewJobId();
        var now = time.GetUtcNow();
        var context = new AdmissionContext
        {
            JobId = id, Spec = spec, Walltime = router.WalltimeOf(spec), MemoryMiBPerNode = router.MemoryPerNode(spec), Backend = backend!.Name, Now = now,
        };
        string? waitReason = null;
        var admittedBy = new List<IAdmissionCheck>();
        foreach (var check in checks)
        {
            AdmissionResult result;
            try { result = await check.CheckAsync(context, ct).ConfigureAwait(false); }
            catch
            {
                await ReleaseAsync(admittedBy, context).ConfigureAwait(false);
                throw;
            }
            if (result.Decision == AdmissionDecision.Reject)
            {
                await ReleaseAsync(admittedBy, context).ConfigureAwait(false);
                Log.Rejected(logger, id, spec.Owner, result.Reason ?? "");
                throw new JobRejectedException(result.Reason ?? "The job was rejected at admission.", result.Code) { JobId = id, Operation = "submit" };
            }
            admittedBy.Add(check);
            if (result.Decision == AdmissionDecision.WaitForApproval) waitReason ??= result.Reason ?? "needs approval";
        }

        var state = waitReason is null ? JobState.Queued : JobState.AwaitingApproval;
        var job = new JobRecord
        {
            Id = id, Spec = spec, State = state, Reason = waitReason, SubmittedAt = now, Backend = backend.Name, Version = 1,
        };
        var transition = new JobTransition { JobId = id, To = state, At = now, Reason = waitReason ?? "submitted", Actor = spec.Owner };
        return new AdmittedJob(job, transition, () => ReleaseAsync(admittedBy, context));
    }

    private static async Task ReleaseAsync(List<IAdmissionCheck> admittedBy, AdmissionContext context)
    {
        for (int i = admittedBy.Count - 1; i >= 0; i--)
            await admittedBy[i].ReleaseAsync(context, CancellationToken.None).ConfigureAwait(false);
    }
}

/// <summary>An admitted job, not stored yet; <see cref="ReleaseAsync"/> undoes the admission when storing it fails.</summary>
internal sealed record AdmittedJob(JobRecord Job, JobTransition Transition, Func<Task> ReleaseAsync);
