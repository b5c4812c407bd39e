using CompGrid;
using CompGrid.Policy;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the job policy: what callers may ask for, by role and by grant.</summary>
public static class JobPolicyCompGridBuilderExtensions
{
    /// <summary>
    /// Adds the rule-based <see cref="IJobPolicy"/> with <see cref="JobPolicyOptions"/> (validated at start-up) as the
    /// first admission check, ahead of any registered before or after it. Roles come from the registered
    /// <see cref="IJobCallerProvider"/> (the default gives no roles: register your own to map owners to roles).
    /// </summary>
    /// <example>
    /// <code>
    /// services.AddCompGrid()
    ///     .AddJobPolicy(o =>
    ///     {
    ///         o.UnrestrictedRoles.Add("Administrator");
    ///         o.Default.MaxCpus = 64;                        // users: nice >= 0, the default QOS, at most 64 CPUs
    ///         o.Roles["gpu-users"] = new JobPolicyRule { MaxGpus = 8 };
    ///     });
    /// services.AddSingleton&lt;IJobCallerProvider, MyDirectoryCallers&gt;();
    /// </code>
    /// </example>
    public static ICompGridBuilder AddJobPolicy(this ICompGridBuilder builder, Action<JobPolicyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return AddJobPolicyCore(builder);
    }

    /// <summary>Adds the job policy with its options bound from <paramref name="section"/> (for example <c>CompGrid:Policy</c>).</summary>
    public static ICompGridBuilder AddJobPolicy(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.Configure<JobPolicyOptions>(section);
        return AddJobPolicyCore(builder);
    }

    private static ICompGridBuilder AddJobPolicyCore(ICompGridBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<JobPolicyOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobPolicyOptions>, JobPolicyOptionsValidator>());
        services.TryAddSingleton<IJobCallerProvider, OwnerOnlyCallerProvider>();
        services.TryAddSingleton<IJobPolicy>(sp => JobPolicy.Create(sp.GetRequiredService<IOptions<JobPolicyOptions>>().Value, sp.GetService<ILoggerFactory>()));
        if (!services.Any(d => d.ServiceType == typeof(IAdmissionCheck) && d.ImplementationType == typeof(JobPolicyAdmissionCheck)))
        {
            // Checks run in registration order: the policy goes first so that a forbidden job places no hold.
            services.Insert(0, ServiceDescriptor.Singleton<IAdmissionCheck, JobPolicyAdmissionCheck>());
        }
        return builder;
    }
}
