using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Billing.Sqlite;

/// <summary>
/// The SQLite billing store without dependency injection (scripts, tests):
/// <example><code>
/// var store = SqliteBilling.CreateStore(new SqliteBillingStoreOptions { DatabasePath = "compgrid.db" });
/// var billing = GrantBilling.Create(store, o => o.RateCards.Add(RateCard.PerCpuHour(0.02m, "EUR")));
/// </code></example>
/// </summary>
public static class SqliteBilling
{
    /// <summary>
    /// A billing store in <see cref="SqliteBillingStoreOptions.DatabasePath"/>, its schema created or migrated on first
    /// use. Throws <see cref="ArgumentException"/> naming each invalid option.
    /// </summary>
    public static IBillingStore CreateStore(SqliteBillingStoreOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        SqliteBillingStoreOptionsValidator.ThrowIfInvalid(options);
        // The ledger's times come from the billing service's clock; the store keeps no time of its own.
        _ = timeProvider;
        return new SqliteBillingStore(options, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Billing.Sqlite"));
    }
}
