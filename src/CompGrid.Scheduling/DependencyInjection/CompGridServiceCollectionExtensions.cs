using CompGrid;
using CompGrid.Placement;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the CompGrid engine: <c>services.AddCompGrid()</c> returns an <see cref="ICompGridBuilder"/> the packages extend.</summary>
public static class CompGridServiceCollectionExtensions
{
    /// <summary>
    /// Adds the engine (<see cref="CompGridEngine"/>, also as <see cref="ICompGridClient"/>), its default policies
    /// (<c>first-fit</c> placement; <c>priority</c> and <c>fifo</c> ordering), the logging notifier, the system
    /// <see cref="TimeProvider"/> and a hosted service that starts and stops the engine. Add a backend and a store next.
    /// </summary>
    public static ICompGridBuilder AddCompGrid(this IServiceCollection services, Action<CompGridOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<CompGridOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CompGridOptions>, CompGridOptionsValidator>());
        if (configure is not null) services.Configure(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAdd(ServiceDescriptor.Singleton(typeof(ILogger<>), typeof(NullLogger<>)));
        services.TryAddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddCompGridSchedulingPolicies();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IQueueOrderingPolicy, PriorityQueueOrderingPolicy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IQueueOrderingPolicy, FifoQueueOrderingPolicy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobNotifier, LoggingNotifier>());
        services.TryAddSingleton<IJobStore>(_ => throw new CompGridException("No job store is registered: call UseSqliteStore(path) (or another store) on the CompGrid builder."));
        services.TryAddSingleton(sp => new CompGridEngine(EngineServices.From(sp)));
        services.TryAddSingleton<ICompGridClient>(sp => sp.GetRequiredService<CompGridEngine>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, CompGridHostedService>());
        return new CompGridBuilder(services).AddNotificationOutbox();
    }

    /// <summary>Binds <see cref="CompGridOptions"/> from a configuration section (for example <c>CompGrid</c>).</summary>
    public static ICompGridBuilder BindConfiguration(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<CompGridOptions>(section);
        return builder;
    }

    /// <summary>Configures the engine's options.</summary>
    public static ICompGridBuilder Configure(this ICompGridBuilder builder, Action<CompGridOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Adds the stewardship check: jobs over these limits wait for an approver.</summary>
    public static ICompGridBuilder AddStewardship(this ICompGridBuilder builder, Action<StewardshipOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IAdmissionCheck, StewardshipCheck>());
        return builder;
    }

    /// <summary>Adds the stewardship check with limits bound from a configuration section.</summary>
    public static ICompGridBuilder AddStewardship(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<StewardshipOptions>(section);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IAdmissionCheck, StewardshipCheck>());
        return builder;
    }

    /// <summary>Adds a backend instance (for backends built with their non-DI factory, or test fakes).</summary>
    public static ICompGridBuilder AddBackend(this ICompGridBuilder builder, IComputeBackend backend)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(backend);
        return builder;
    }

    /// <summary>Adds an admission check; checks run in registration order.</summary>
    public static ICompGridBuilder AddAdmissionCheck(this ICompGridBuilder builder, IAdmissionCheck check)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(check);
        return builder;
    }

    /// <summary>Adds a usage sink.</summary>
    public static ICompGridBuilder AddUsageSink(this ICompGridBuilder builder, IUsageSink sink)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(sink);
        return builder;
    }

    /// <summary>Adds a notifier.</summary>
    public static ICompGridBuilder AddNotifier(this ICompGridBuilder builder, IJobNotifier notifier)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(notifier);
        return builder;
    }

    /// <summary>Uses a job store instance (for example an in-memory store in tests).</summary>
    public static ICompGridBuilder UseJobStore(this ICompGridBuilder builder, IJobStore store)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton(store));
        return builder;
    }

    /// <summary>Uses a scheduler lease: of several engine instances on one shared store, only the holder schedules.</summary>
    public static ICompGridBuilder UseSchedulerLease(this ICompGridBuilder builder, ISchedulerLease lease)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton(lease));
        return builder;
    }

    /// <summary>Uses a <see cref="TimeProvider"/> (a manual clock in tests, a virtual clock in the simulator).</summary>
    public static ICompGridBuilder UseTimeProvider(this ICompGridBuilder builder, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton(timeProvider));
        return builder;
    }

    /// <summary>Uses a logger factory (the non-DI builder logs nothing by default).</summary>
    public static ICompGridBuilder UseLoggerFactory(this ICompGridBuilder builder, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton(loggerFactory));
        builder.Services.Replace(ServiceDescriptor.Singleton(typeof(ILogger<>), typeof(Logger<>)));
        return builder;
    }

    private sealed class CompGridBuilder(IServiceCollection services) : ICompGridBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}

/// <summary>Starts the engine with the host and stops it with the host.</summary>
internal sealed class CompGridHostedService(CompGridEngine engine) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => engine.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => engine.StopAsync(cancellationToken);
}
