using CompGrid;
using CompGrid.EmbeddedPortal.Backends;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the teaching process backend.</summary>
public static class ProcessCompGridBuilderExtensions
{
    /// <summary>Adds a process backend named <paramref name="name"/>; its options are validated at start-up.</summary>
    public static ICompGridBuilder AddProcessBackend(this ICompGridBuilder builder, string name = "proc", Action<ProcessBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<ProcessBackendOptions>(name);
        if (configure is not null) options.Configure(configure);
        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProcessBackendOptions>, ProcessBackendOptionsValidator>());
        builder.Services.AddSingleton<IComputeBackend>(sp => ProcessBackend.CreateValidated(
            name,
            sp.GetRequiredService<IOptionsMonitor<ProcessBackendOptions>>().Get(name),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<TimeProvider>()));
        return builder;
    }

    /// <summary>Adds a process backend with options bound from a configuration section (for example <c>CompGrid:Process</c>).</summary>
    public static ICompGridBuilder AddProcessBackend(this ICompGridBuilder builder, string name, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<ProcessBackendOptions>(name, section);
        return builder.AddProcessBackend(name);
    }
}
