using CompGrid;
using CompGrid.Billing;
using CompGrid.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite billing store.</summary>
public static class SqliteBillingBuilderExtensions
{
    /// <summary>
    /// Keeps grants, rate cards and the billing ledger in the SQLite file at <paramref name="path"/> (the same file as
    /// <c>UseSqliteStore(path)</c> is fine: both stores share its connection factory).
    /// </summary>
    public static ICompGridBuilder UseSqliteBillingStore(this ICompGridBuilder builder, string path)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(path);
        builder.Services.TryAddSingleton(new SqliteConnectionFactory(path));
        builder.Services.Replace(ServiceDescriptor.Singleton<IBillingStore>(sp => new SqliteBillingStore(sp.GetRequiredService<SqliteConnectionFactory>())));
        return builder;
    }
}
