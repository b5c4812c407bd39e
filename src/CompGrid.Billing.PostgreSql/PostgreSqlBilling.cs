using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CompGrid.Billing.PostgreSql;

/// <summary>
/// The PostgreSQL billing store without dependency injection (scripts, tests):
/// <example><code>
/// var store = PostgreSqlBilling.CreateStore(new PostgreSqlBillingStoreOptions { ConnectionString = "Host=db;Database=compgrid;Username=compgrid" });
/// var billing = GrantBilling.Create(store, o => o.RateCards.Add(RateCard.PerCpuHour(0.02m, "EUR")));
/// </code></example>
/// </summary>
public static class PostgreSqlBilling
{
    /// <summary>
    /// A billing store with its own connection pool on <see cref="PostgreSqlBillingStoreOptions.ConnectionString"/>
    /// (disposed with the store, which is <see cref="IAsyncDisposable"/>). Throws
    /// <see cref="ArgumentException"/> naming each invalid option.
    /// </summary>
    public static IBillingStore CreateStore(PostgreSqlBillingStoreOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        PostgreSqlBillingStoreOptionsValidator.ThrowIfInvalid(options, requireConnectionString: true);
        _ = timeProvider; // the ledger's times come from the billing service's clock
        return new PostgreSqlBillingStore(NpgsqlDataSource.Create(options.ConnectionString), ownsDataSource: true, options.Schema, Logger(loggerFactory));
    }

    /// <summary>A billing store on an existing data source (to share one pool with the job store); the data source stays the caller's.</summary>
    public static IBillingStore CreateStore(NpgsqlDataSource dataSource, PostgreSqlBillingStoreOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        PostgreSqlBillingStoreOptionsValidator.ThrowIfInvalid(options, requireConnectionString: false);
        _ = timeProvider;
        return new PostgreSqlBillingStore(dataSource, ownsDataSource: false, options.Schema, Logger(loggerFactory));
    }

    private static ILogger Logger(ILoggerFactory? factory) => (factory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Billing.PostgreSql");
}
