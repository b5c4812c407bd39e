using CompGrid;
using CompGrid.Billing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers grant billing on a CompGrid builder.</summary>
public static class BillingCompGridBuilderExtensions
{
    /// <summary>
    /// Adds grant billing: the <see cref="GrantBillingService"/>, its admission check (quote and hold) and its usage
    /// sink (charge), and a hosted service that expires allocations every <see cref="GrantBillingOptions.ExpiryInterval"/>.
    /// A billing store must be registered too (<c>.UseSqliteBillingStore(path)</c>,
    /// <c>.UsePostgreSqlBillingStore(…)</c> or <see cref="UseInMemoryBillingStore"/>). The options are validated at start-up.
    /// </summary>
    public static ICompGridBuilder AddGrantBilling(this ICompGridBuilder builder, Action<GrantBillingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<GrantBillingOptions>();
        if (configure is not null) options.Configure(configure);
        return AddCore(builder, options);
    }

    /// <summary>Adds grant billing with options bound from a configuration section (for example <c>CompGrid:Billing</c>).</summary>
    public static ICompGridBuilder AddGrantBilling(this ICompGridBuilder builder, IConfiguration configuration, Action<GrantBillingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = builder.Services.AddOptions<GrantBillingOptions>().Bind(configuration);
        if (configure is not null) options.Configure(configure);
        return AddCore(builder, options);
    }

    /// <summary>Keeps the billing ledger in memory (tests and demos only: nothing survives a restart).</summary>
    public static ICompGridBuilder UseInMemoryBillingStore(this ICompGridBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<IBillingStore>();
        builder.Services.AddSingleton<IBillingStore, InMemoryBillingStore>();
        return builder;
    }

    private static ICompGridBuilder AddCore(ICompGridBuilder builder, OptionsBuilder<GrantBillingOptions> options)
    {
        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrantBillingOptions>, GrantBillingOptionsValidator>());
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new GrantBillingService(
            sp.GetService<IBillingStore>() ?? throw new InvalidOperationException(
                "Grant billing needs a billing store: call .UseSqliteBillingStore(path) (package CompGrid.Billing.Sqlite), .UsePostgreSqlBillingStore(connectionString) (CompGrid.Billing.PostgreSql) or .UseInMemoryBillingStore() on the CompGrid builder."),
            sp.GetRequiredService<IOptions<GrantBillingOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<GrantBillingService>>()));
        services.AddHostedService(sp => new AllocationExpiryService(
            sp.GetRequiredService<GrantBillingService>(), sp.GetRequiredService<IOptions<GrantBillingOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<AllocationExpiryService>>()));
        services.AddSingleton<IAdmissionCheck>(sp => sp.GetRequiredService<GrantBillingService>().AdmissionCheck);
        services.AddSingleton<IUsageSink>(sp => sp.GetRequiredService<GrantBillingService>().UsageSink);
        return builder;
    }
}
