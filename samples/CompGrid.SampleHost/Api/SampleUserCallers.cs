using Microsoft.Extensions.Options;

namespace CompGrid.SampleHost.Api;

/// <summary>The job policy's callers: the roles of the configured users (<c>CompGrid:Users</c>); unknown owners have none.</summary>
public sealed class SampleUserCallers(IOptionsMonitor<SampleUsersOptions> users) : IJobCallerProvider
{
    /// <inheritdoc/>
    public ValueTask<JobCaller> GetCallerAsync(string owner, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(users.CurrentValue.Users.TryGetValue(owner, out var user)
            ? new JobCaller(owner, [.. user.Roles])
            : JobCaller.WithoutRoles(owner));
}
