using CompGrid;
using CompGrid.Local;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the local process backend.</summary>
public static class LocalCompGridBuilderExtensions
{
    /// <summary>Adds a local backend named <paramref name="name"/> (default <c>local</c>); options are validated when it is first used.</summary>
    public static ICompGridBuilder AddLocalBackend(this ICompGridBuilder builder, string name = "local", Action<LocalBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<LocalBackendOptions>(name);
        if (configure is not null) options.Configure(configure);
        options.Validate(o => o.Validate().Count == 0, $"Invalid local backend '{name}' options.").ValidateOnStart();
        builder.Services.AddSingleton<IComputeBackend>(sp => new LocalBackend(
            name,
            sp.GetRequiredService<IOptionsMonitor<LocalBackendOptions>>().Get(name),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger("CompGrid.Local")));
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
