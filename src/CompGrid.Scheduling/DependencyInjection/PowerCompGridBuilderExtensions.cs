using CompGrid;
using CompGrid.Scheduling.Power;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the power manager, which starts powered-off nodes for queued jobs and stops idle ones.</summary>
public static class PowerCompGridBuilderExtensions
{
    /// <summary>
    /// Adds the power manager over every registered <see cref="INodeProvider"/> and a hosted service that runs its passes;
    /// its options are validated at start-up.
    /// </summary>
    /// <example>
    /// <code>
    /// services.AddCompGrid().AddQemuBackend("vms", o => { /* templates, nodes */ })
    ///     .AddPowerManager(o => { o.IdleTime = TimeSpan.FromMinutes(15); o.ResumeRate = 2; });
    /// </code>
    /// </example>
    public static ICompGridBuilder AddPowerManager(this ICompGridBuilder builder, Action<PowerManagerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return Register(builder);
    }

    /// <summary>Adds the power manager with options bound from a configuration section (for example <c>CompGrid:Power</c>).</summary>
    public static ICompGridBuilder AddPowerManager(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<PowerManagerOptions>(section);
        return Register(builder);
    }

    private static ICompGridBuilder Register(ICompGridBuilder builder)
    {
        builder.Services.AddOptions<PowerManagerOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PowerManagerOptions>, PowerManagerOptionsValidator>());
        builder.Services.TryAddSingleton(sp => PowerManager.Create(
            sp.GetRequiredService<CompGridEngine>(),
            sp.GetServices<INodeProvider>(),
            sp.GetRequiredService<IOptions<PowerManagerOptions>>().Value,
            sp.GetService<ILoggerFactory>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<CompGrid.Scheduling.Availability.AvailabilitySchedule>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PowerManagerService>());
        return builder;
    }
}
