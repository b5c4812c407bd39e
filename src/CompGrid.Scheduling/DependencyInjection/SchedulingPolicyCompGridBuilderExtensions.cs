using CompGrid;
using CompGrid.Limits;
using CompGrid.Ordering;
using CompGrid.Placement;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the scheduling policies (placement, queue ordering, fair share, limits, backfill) and configures them.</summary>
public static class SchedulingPolicyCompGridBuilderExtensions
{
    /// <summary>
    /// Adds the built-in placement policies (<c>first-fit</c>, <c>best-fit</c>, <c>spread</c>, <c>gpu-aware</c>), the
    /// multifactor orderings (<c>multifactor</c>, <c>fair-tree</c>), the fair-share usage ledger (also a usage sink)
    /// and <see cref="SchedulingPolicyOptions"/> validated at start-up. Called by <c>AddCompGrid()</c>.
    /// </summary>
    public static IServiceCollection AddCompGridSchedulingPolicies(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(FairShareLedger))) return services;
        services.AddOptions<SchedulingPolicyOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SchedulingPolicyOptions>, SchedulingPolicyOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPlacementPolicy, FirstFitPlacementPolicy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPlacementPolicy, BestFitPlacementPolicy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPlacementPolicy, SpreadPlacementPolicy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPlacementPolicy, GpuAwarePlacementPolicy>());
        services.AddSingleton(sp => new FairShareLedger(sp.GetRequiredService<IOptions<SchedulingPolicyOptions>>().Value.FairShare, sp.GetService<TimeProvider>()));
        services.AddSingleton<IUsageSink>(sp => sp.GetRequiredService<FairShareLedger>());
        services.AddSingleton<IQueueOrderingPolicy>(sp => new MultifactorPriorityPolicy(
            sp.GetRequiredService<IOptions<SchedulingPolicyOptions>>().Value.Priority, sp.GetRequiredService<FairShareLedger>(), FairShareAlgorithm.Classic));
        services.AddSingleton<IQueueOrderingPolicy>(sp => new MultifactorPriorityPolicy(
            sp.GetRequiredService<IOptions<SchedulingPolicyOptions>>().Value.Priority, sp.GetRequiredService<FairShareLedger>(), FairShareAlgorithm.FairTree));
        return services;
    }

    /// <summary>Configures the scheduling policies (priority weights, fair share, limits, backfill).</summary>
    public static ICompGridBuilder ConfigureScheduling(this ICompGridBuilder builder, Action<SchedulingPolicyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Binds the scheduling policies' settings from a configuration section (for example <c>CompGrid:Scheduling</c>).</summary>
    public static ICompGridBuilder ConfigureScheduling(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<SchedulingPolicyOptions>(section);
        return builder;
    }

    /// <summary>
    /// Adds account and user limits: checked at admission (submitted jobs; a job that alone exceeds a running limit is
    /// rejected) and at every scheduling cycle (running jobs, CPUs, GPUs and memory in use).
    /// </summary>
    public static ICompGridBuilder AddResourceLimits(this ICompGridBuilder builder, Action<ResourceLimitsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure<SchedulingPolicyOptions>(o => configure(o.Limits));
        builder.Services.AddSingleton<IAdmissionCheck>(sp => new ResourceLimitsAdmissionCheck(
            sp.GetRequiredService<IOptions<SchedulingPolicyOptions>>().Value.Limits, sp.GetRequiredService<IJobStore>()));
        return builder;
    }

    private sealed class SchedulingPolicyOptionsValidator : IValidateOptions<SchedulingPolicyOptions>
    {
        public ValidateOptionsResult Validate(string? name, SchedulingPolicyOptions options)
        {
            IReadOnlyList<string> errors = options.Validate();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => "CompGrid:Scheduling: " + e));
        }
    }
}
