using CompGrid;
using CompGrid.Docker;
using CompGrid.Docker.Jobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Docker backends with CompGrid.</summary>
public static class DockerCompGridBuilderExtensions
{
    /// <summary>
    /// Adds a Docker backend named <paramref name="name"/>: <c>.AddDockerBackend("lab", o => o.Engines = [...])</c>.
    /// Each engine becomes a node that CompGrid's placement chooses. The options are validated at start-up.
    /// </summary>
    public static ICompGridBuilder AddDockerBackend(this ICompGridBuilder builder, string name, Action<DockerBackendOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        return AddCore(builder, name, b => b.Configure(configure));
    }

    /// <summary>
    /// Adds a Docker backend named <paramref name="name"/> bound from a configuration section, for example
    /// <c>{"DefaultImage": "...", "Engines": [{"Name": "lab-a", "Endpoint": "unix:///run/docker.sock"}]}</c>.
    /// </summary>
    public static ICompGridBuilder AddDockerBackend(this ICompGridBuilder builder, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        return AddCore(builder, name, b => b.Bind(configuration));
    }

    private static ICompGridBuilder AddCore(ICompGridBuilder builder, string name, Action<OptionsBuilder<DockerBackendOptions>> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var options = builder.Services.AddOptions<DockerBackendOptions>(name);
        configure(options);
        options.ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DockerBackendOptions>>(new DockerBackendOptionsValidator(name));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IComputeBackend>(sp =>
        {
            var o = sp.GetRequiredService<IOptionsMonitor<DockerBackendOptions>>().Get(name);
            var logger = (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger(CompGrid.Docker.Diagnostics.Log.Category);
            return new DockerComputeBackend(name, o, sp.GetRequiredService<TimeProvider>(), logger);
        });
        return builder;
    }
}
