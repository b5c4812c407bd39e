using CompGrid;
using CompGrid.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a client for a remote CompGrid portal.</summary>
public static class CompGridClientServiceCollectionExtensions
{
    /// <summary>The name of the <see cref="HttpClient"/> the client uses (its handlers can be extended through <c>IHttpClientFactory</c>).</summary>
    public const string HttpClientName = "CompGrid.Client";

    /// <summary>
    /// Adds <see cref="CompGridHttpClient"/> and, unless one is registered already (an in-process engine), <see cref="ICompGridClient"/>.
    /// The options are validated when the host starts.
    /// </summary>
    /// <example><code>
    /// services.AddCompGridClient(o =>
    /// {
    ///     o.BaseAddress = new Uri("https://grid.example.edu/");
    ///     o.Token = configuration["CompGrid:Token"];
    /// });
    /// </code></example>
    public static IServiceCollection AddCompGridClient(this IServiceCollection services, Action<CompGridClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<CompGridClientOptions>().Configure(configure).ValidateOnStart();
        return Register(services);
    }

    /// <summary>Adds the client with options bound from <paramref name="configuration"/> (<c>BaseAddress</c>, <c>Token</c>, <c>PollInterval</c>, …).</summary>
    public static IServiceCollection AddCompGridClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<CompGridClientOptions>().Bind(configuration).ValidateOnStart();
        return Register(services);
    }

    private static IServiceCollection Register(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CompGridClientOptions>, CompGridClientOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)   // the singleton keeps its client; the pooled lifetime renews connections
            .AddResilienceHandler(HttpClientName, (builder, context) => ClientResilience.Configure(builder,
                context.ServiceProvider.GetRequiredService<IOptions<CompGridClientOptions>>().Value,
                context.ServiceProvider.GetRequiredService<TimeProvider>(),
                Logger(context.ServiceProvider)));
        services.TryAddSingleton(sp => new CompGridHttpClient(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName), ownsHttp: false,
            sp.GetRequiredService<IOptions<CompGridClientOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(), Logger(sp)));
        services.TryAddSingleton<ICompGridClient>(sp => sp.GetRequiredService<CompGridHttpClient>());
        return services;
    }

    private static ILogger Logger(IServiceProvider sp) => (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Client");
}
