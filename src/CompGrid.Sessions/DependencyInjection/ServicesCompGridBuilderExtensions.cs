using CompGrid;
using CompGrid.Sessions.Services;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers long-running services (replicas as jobs, health checks, autoscaling) on a CompGrid builder.</summary>
public static class ServicesCompGridBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="ServiceManager"/> with options bound from <paramref name="section"/> (validated at start-up) and a
    /// hosted service that checks the services every <see cref="ServiceManagerOptions.PollInterval"/>.
    /// </summary>
    public static ICompGridBuilder AddServiceManager(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<ServiceManagerOptions>().Bind(section);
        return builder.AddServiceManager(_ => { });
    }

    /// <summary>Adds <see cref="ServiceManager"/> configured by <paramref name="configure"/> (validated at start-up) and its hosted service.</summary>
    public static ICompGridBuilder AddServiceManager(this ICompGridBuilder builder, Action<ServiceManagerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<ServiceManagerOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServiceManagerOptions>, ServiceManagerOptionsValidator>());
        builder.Services.TryAddSingleton(sp => ServiceManager.Create(
            sp.GetRequiredService<ICompGridClient>(), sp.GetRequiredService<IOptions<ServiceManagerOptions>>().Value,
            sp.GetService<ILoggerFactory>(), sp.GetService<TimeProvider>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ServiceManagerHostedService>());
        return builder;
    }
}

/// <summary>Runs <see cref="ServiceManager.RunAsync"/> while the host runs.</summary>
internal sealed class ServiceManagerHostedService(ServiceManager services) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => services.RunAsync(stoppingToken);
}
