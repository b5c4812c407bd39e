using CompGrid;
using CompGrid.Scheduling.Availability;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers availability windows: node pools that accept work only at set times.</summary>
public static class AvailabilityCompGridBuilderExtensions
{
    /// <summary>
    /// Adds availability windows; the engine places only jobs that end before a window does, requeues or signals jobs
    /// still running when it ends, and the power manager starts only nodes whose window is open. Validated at start-up.
    /// </summary>
    /// <example>
    /// <code>
    /// services.AddCompGrid().AddAvailabilityWindows(o => o.Pools.Add(new NodePoolOptions
    /// {
    ///     Name = "lab", Backend = "agents", TimeZone = "Europe/Berlin",
    ///     Windows = { new() { Days = [DayOfWeek.Monday, DayOfWeek.Tuesday], Start = TimeSpan.FromHours(20), End = TimeSpan.FromHours(7) } },
    /// }));
    /// </code>
    /// </example>
    public static ICompGridBuilder AddAvailabilityWindows(this ICompGridBuilder builder, Action<AvailabilityOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return Register(builder);
    }

    /// <summary>Adds availability windows bound from a configuration section (for example <c>CompGrid:Availability</c>).</summary>
    public static ICompGridBuilder AddAvailabilityWindows(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.Configure<AvailabilityOptions>(section);
        return Register(builder);
    }

    private static ICompGridBuilder Register(ICompGridBuilder builder)
    {
        builder.Services.AddOptions<AvailabilityOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AvailabilityOptions>, AvailabilityOptionsValidator>());
        builder.Services.TryAddSingleton(sp => AvailabilitySchedule.Create(sp.GetRequiredService<IOptions<AvailabilityOptions>>().Value));
        return builder;
    }
}
