using CompGrid;
using CompGrid.Slurm;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Slurm clusters as CompGrid backends.</summary>
public static class SlurmCompGridBuilderExtensions
{
    /// <summary>
    /// Adds the Slurm cluster <paramref name="name"/> as a backend (jobs route to it by <see cref="JobConstraints.Backend"/>).
    /// The options are validated when the host starts.
    /// </summary>
    /// <example><code>
    /// services.AddCompGrid().AddSlurmBackend("campus", o =>
    /// {
    ///     o.Transport = SlurmTransport.Rest;
    ///     o.RestUrl = new Uri("http://slurm-rest.example.edu:6820");
    ///     o.JwtKeyFile = "/etc/compgrid/jwt_hs256.key";
    ///     o.TokenUser = "slurm";
    ///     o.SubmitAsJobOwner = true;
    ///     o.OutputDirectory = "/shared/compgrid/jobs";
    ///     o.AccountMapping["GR-2026-017"] = "physics";
    /// });
    /// </code></example>
    public static ICompGridBuilder AddSlurmBackend(this ICompGridBuilder builder, string name, Action<SlurmBackendOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SlurmBackendOptions>(name).Configure(configure).ValidateOnStart();
        return Register(builder, name);
    }

    /// <summary>
    /// Adds the Slurm cluster <paramref name="name"/> with options bound from <paramref name="configuration"/> (for example the
    /// section <c>CompGrid:Backends:campus</c>: <c>Transport</c>, <c>RestUrl</c>, <c>TokenFile</c>, <c>OutputDirectory</c>,
    /// <c>AccountMapping:GR-1</c>, …). The options are validated when the host starts.
    /// </summary>
    public static ICompGridBuilder AddSlurmBackend(this ICompGridBuilder builder, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<SlurmBackendOptions>(name).Bind(configuration).ValidateOnStart();
        return Register(builder, name);
    }

    private static ICompGridBuilder Register(ICompGridBuilder builder, string name)
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SlurmBackendOptions>, SlurmBackendOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IComputeBackend>(sp => SlurmBackend.CreateValidated(
            name,
            sp.GetRequiredService<IOptionsMonitor<SlurmBackendOptions>>().Get(name),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<TimeProvider>(),
            httpClient: null));
        return builder;
    }
}
