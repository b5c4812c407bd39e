using Microsoft.AspNetCore.Authorization;

namespace CompGrid.EmbeddedPortal.Authentication;

/// <summary>The signed-in user may read and cancel a job only when they are its owner.</summary>
internal sealed class JobOwnerRequirement : IAuthorizationRequirement
{
    public const string Policy = "JobOwner";
}

/// <summary>Resource-based check: the job's <see cref="JobSpec.Owner"/> is the signed-in user's name.</summary>
internal sealed class JobOwnerHandler : AuthorizationHandler<JobOwnerRequirement, JobRecord>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, JobOwnerRequirement requirement, JobRecord resource)
    {
        if (context.User.Identity?.Name is { Length: > 0 } user && string.Equals(resource.Spec.Owner, user, StringComparison.Ordinal))
            context.Succeed(requirement);
        return Task.CompletedTask;
    }
}
