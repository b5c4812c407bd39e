using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Policy;

/// <summary>
/// The non-DI factory of the built-in job policy, for scripts and tests. With DI, use <c>AddJobPolicy</c>, which
/// registers the same policy as the first admission check.
/// </summary>
/// <example>
/// <code>
/// var options = new JobPolicyOptions();
/// options.UnrestrictedRoles.Add("Administrator");
/// options.Default.MaxCpus = 64;
/// IJobPolicy policy = JobPolicy.Create(options);
/// var decision = await policy.EvaluateAsync(new JobPolicyContext { Spec = spec, Caller = JobCaller.WithoutRoles("alice") });
/// decision.ThrowIfDenied();
/// </code>
/// </example>
public static class JobPolicy
{
    /// <summary>
    /// Creates the rule-based policy from <paramref name="options"/>, checked by <see cref="JobPolicyOptionsValidator"/>.
    /// There is no name or clock parameter: a policy is one per engine and reads no time.
    /// </summary>
    /// <exception cref="ArgumentException">The options break a rule; the message lists every failure.</exception>
    public static IJobPolicy Create(JobPolicyOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new JobPolicyOptionsValidator().Validate(null, options);
        if (result.Failed) throw new ArgumentException("Invalid job policy options: " + result.FailureMessage, nameof(options));
        Log.Created(loggerFactory?.CreateLogger("CompGrid.Policy") ?? NullLogger.Instance, options.Roles.Count, options.Grants.Count);
        return new RuleBasedJobPolicy(options);
    }
}
