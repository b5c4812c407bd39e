using CompGrid;
using CompGrid.Local;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the local process backend.</summary>
public static class LocalCompGridBuilderExtensions
{
    /// <summary>Adds a local backend named <paramref name="name"/> (default <c>local</c>); its options are validated at start-up.</summary>
    public static ICompGridBuilder AddLocalBackend(this ICompGridBuilder builder, string name = "local", Action<LocalBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<LocalBackendOptions>(name);
        if (configure is not null) options.Configure(configure);
        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalBackendOptions>, LocalBackendOptionsValidator>());
        builder.Services.AddSingleton<IComputeBackend>(sp => LocalBackend.CreateValidated(
            name,
            sp.GetRequiredService<IOptionsMonitor<LocalBackendOptions>>().Get(name),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<TimeProvider>()));
        return builder;
    }

    /// <summary>Adds a local backend with options bound from a configuration section (for example <c>CompGrid:Local</c>).</summary>
    public static ICompGridBuilder AddLocalBackend(this ICompGridBuilder builder, string name, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<LocalBackendOptions>(name, section);
        return builder.AddLocalBackend(name);
    }
}
