using CompGrid;
using CompGrid.Billing;
using CompGrid.Billing.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the PostgreSQL billing store.</summary>
public static class PostgreSqlBillingCompGridBuilderExtensions
{
    /// <summary>
    /// Keeps grants, rate cards and the billing ledger in PostgreSQL (<paramref name="connectionString"/>), in the
    /// schema <c>compgrid</c> unless <paramref name="configure"/> says otherwise. The store has its own connection
    /// pool; the options are validated at start-up.
    /// </summary>
    /// <example><code>services.AddCompGrid().UsePostgreSqlStore(cs).UsePostgreSqlBillingStore(cs).AddGrantBilling(…);</code></example>
    public static ICompGridBuilder UsePostgreSqlBillingStore(this ICompGridBuilder builder, string connectionString, Action<PostgreSqlBillingStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<PostgreSqlBillingStoreOptions>()
            .Configure(o =>
            {
                o.ConnectionString = connectionString;
                configure?.Invoke(o);
            })
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlBillingStoreOptions>, PostgreSqlBillingStoreOptionsValidator>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IBillingStore>(sp => PostgreSqlBilling.CreateStore(
            sp.GetRequiredService<IOptions<PostgreSqlBillingStoreOptions>>().Value, sp.GetService<ILoggerFactory>(), sp.GetService<TimeProvider>())));
        return builder;
    }
}
