using CompGrid;
using CompGrid.Billing;
using CompGrid.Billing.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite billing store.</summary>
public static class SqliteBillingCompGridBuilderExtensions
{
    /// <summary>
    /// Keeps grants, rate cards and the billing ledger in the SQLite file at <paramref name="path"/> (the job store's
    /// file from <c>UseSqliteStore(path)</c> is fine).
    /// </summary>
    /// <example><code>services.AddCompGrid().UseSqliteStore("compgrid.db").UseSqliteBillingStore("compgrid.db").AddGrantBilling(…);</code></example>
    public static ICompGridBuilder UseSqliteBillingStore(this ICompGridBuilder builder, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return builder.UseSqliteBillingStore(o => o.DatabasePath = path);
    }

    /// <summary>Keeps the billing ledger in SQLite, configured by <paramref name="configure"/>; the options are validated at start-up.</summary>
    public static ICompGridBuilder UseSqliteBillingStore(this ICompGridBuilder builder, Action<SqliteBillingStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SqliteBillingStoreOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteBillingStoreOptions>, SqliteBillingStoreOptionsValidator>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IBillingStore>(sp => SqliteBilling.CreateStore(
            sp.GetRequiredService<IOptions<SqliteBillingStoreOptions>>().Value, sp.GetService<ILoggerFactory>(), sp.GetService<TimeProvider>())));
        return builder;
    }
}
