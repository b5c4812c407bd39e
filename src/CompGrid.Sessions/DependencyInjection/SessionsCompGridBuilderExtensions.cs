using CompGrid;
using CompGrid.Sessions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Jupyter sessions on a CompGrid builder.</summary>
public static class SessionsCompGridBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="JupyterSessions"/> with options bound from <paramref name="section"/> (validated at start-up) and a
    /// hosted service that checks the sessions every <see cref="JupyterSessionOptions.PollInterval"/>.
    /// </summary>
    public static ICompGridBuilder AddJupyterSessions(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<JupyterSessionOptions>().Bind(section);
        return builder.AddJupyterSessions(_ => { });
    }

    /// <summary>Adds <see cref="JupyterSessions"/> configured by <paramref name="configure"/> (validated at start-up) and its hosted service.</summary>
    public static ICompGridBuilder AddJupyterSessions(this ICompGridBuilder builder, Action<JupyterSessionOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<JupyterSessionOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JupyterSessionOptions>, JupyterSessionOptionsValidator>());
        builder.Services.TryAddSingleton(sp => JupyterSessions.Create(
            sp.GetRequiredService<ICompGridClient>(), sp.GetRequiredService<IOptions<JupyterSessionOptions>>().Value,
            sp.GetService<ILoggerFactory>(), sp.GetService<TimeProvider>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, JupyterSessionsHostedService>());
        return builder;
    }
}

/// <summary>Runs <see cref="JupyterSessions.RunAsync"/> while the host runs.</summary>
internal sealed class JupyterSessionsHostedService(JupyterSessions sessions) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => sessions.RunAsync(stoppingToken);
}
