using CompGrid;
using CompGrid.Limits;
using CompGrid.Ordering;
using CompGrid.Placement;
using CompGrid.Simulation;
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
        // A job store that keeps fair-share usage (SQLite, PostgreSQL) makes fair share survive restarts and be shared.
        services.AddSingleton(sp => new FairShareLedger(sp.GetRequiredService<IOptions<SchedulingPolicyOptions>>().Value.FairShare, sp.GetService<TimeProvider>(),
            () => sp.GetService<IFairShareUsageStore>() ?? sp.GetService<IJobStore>() as IFairShareUsageStore,
            sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()?.CreateLogger(typeof(CompGridEngine).FullName!)));
        services.AddSingleton<IUsageSink>(sp => sp.GetRequiredService<FairShareLedger>());
        services.AddSingleton<IQueueOrderingPolicy>(sp => new MultifactorPriorityPolicy(
            sp.GetRequiredService<IOptions<SchedulingPolicyOptions>>().Value.Priority, sp.GetRequiredService<FairShareLedger>(), FairShareAlgorithm.Classic));
        services.AddSingleton<IQueueOrderingPolicy>(sp => new MultifactorPriorityPolicy(
            sp.GetRequiredService<IOptions<SchedulingPolicyOptions>>().Value.Priority, sp.GetRequiredService<FairShareLedger>(), FairShareAlgorithm.FairTree));
        // One registry of every placement and ordering policy, seen by the engine and the simulator alike.
        services.TryAddSingleton(sp => new SchedulingPolicyRegistry(sp.GetServices<IPlacementPolicy>(), sp.GetServices<IQueueOrderingPolicy>()));
        services.TryAddSingleton(sp => new CompGridSimulator(sp.GetRequiredService<SchedulingPolicyRegistry>()));
        return services;
    }

    /// <summary>
    /// Registers a custom placement policy, chosen by its <see cref="IPlacementPolicy.Name"/> in
    /// <see cref="CompGridOptions.PlacementPolicy"/>; the engine and <see cref="CompGridSimulator"/> both see it. Names
    /// are matched ordinal-ignore-case, and a policy named like a built-in (<see cref="PlacementPolicyNames"/>) replaces it.
    /// </summary>
    /// <example><c>services.AddCompGrid().AddPlacementPolicy&lt;RackAwarePolicy&gt;().Configure(o =&gt; o.PlacementPolicy = "rack-aware");</c></example>
    public static ICompGridBuilder AddPlacementPolicy<TPolicy>(this ICompGridBuilder builder)
        where TPolicy : class, IPlacementPolicy =>
        AddPolicy(builder, ServiceDescriptor.Singleton<IPlacementPolicy, TPolicy>(), instance: false);

    /// <summary>Registers a custom placement policy instance (for scripts); see <see cref="AddPlacementPolicy{TPolicy}(ICompGridBuilder)"/>.</summary>
    public static ICompGridBuilder AddPlacementPolicy(this ICompGridBuilder builder, IPlacementPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return AddPolicy(builder, ServiceDescriptor.Singleton(policy), instance: true);
    }

    /// <summary>
    /// Registers a custom queue ordering policy, chosen by its <see cref="IQueueOrderingPolicy.Name"/> in
    /// <see cref="CompGridOptions.QueueOrdering"/>; the engine and <see cref="CompGridSimulator"/> both see it. Names
    /// are matched ordinal-ignore-case, and a policy named like a built-in (<see cref="QueueOrderingNames"/>) replaces it.
    /// </summary>
    /// <example><c>services.AddCompGrid().AddQueueOrderingPolicy&lt;ShortestFirst&gt;().Configure(o =&gt; o.QueueOrdering = "shortest-first");</c></example>
    public static ICompGridBuilder AddQueueOrderingPolicy<TPolicy>(this ICompGridBuilder builder)
        where TPolicy : class, IQueueOrderingPolicy =>
        AddPolicy(builder, ServiceDescriptor.Singleton<IQueueOrderingPolicy, TPolicy>(), instance: false);

    /// <summary>Registers a custom queue ordering policy instance (for scripts); see <see cref="AddQueueOrderingPolicy{TPolicy}(ICompGridBuilder)"/>.</summary>
    public static ICompGridBuilder AddQueueOrderingPolicy(this ICompGridBuilder builder, IQueueOrderingPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return AddPolicy(builder, ServiceDescriptor.Singleton(policy), instance: true);
    }

    // The built-ins are registered first, so a custom policy with a built-in's name wins (later registrations win).
    // A type is registered once; every instance is kept (one class may serve under several names).
    private static ICompGridBuilder AddPolicy(ICompGridBuilder builder, ServiceDescriptor policy, bool instance)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddCompGridSchedulingPolicies();
        if (instance) builder.Services.Add(policy);
        else builder.Services.TryAddEnumerable(policy);
        return builder;
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
