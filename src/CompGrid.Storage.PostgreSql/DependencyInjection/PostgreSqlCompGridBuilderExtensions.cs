using CompGrid;
using CompGrid.Storage.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the PostgreSQL stores.</summary>
public static class PostgreSqlCompGridBuilderExtensions
{
    /// <summary>
    /// Stores jobs in PostgreSQL (<paramref name="connectionString"/>), in the schema <c>compgrid</c> unless
    /// <paramref name="configure"/> says otherwise (the billing ledger is in the CompGrid.Billing.PostgreSql package:
    /// <c>.UsePostgreSqlBillingStore(…)</c>). Registers an <see cref="NpgsqlDataSource"/>, <see cref="IJobStore"/> and an <see cref="ISchedulerLease"/> on an advisory lock
    /// (<see cref="PostgreSqlStoreOptions.SchedulerLockName"/>), so that of several instances one schedules at a time.
    /// </summary>
    public static ICompGridBuilder UsePostgreSqlStore(this ICompGridBuilder builder, string connectionString, Action<PostgreSqlStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new PostgreSqlStoreOptions { ConnectionString = connectionString };
        configure?.Invoke(options);
        options.ThrowIfInvalid();
        var services = builder.Services;
        services.AddSingleton(Options.Options.Create(options));
        services.TryAddSingleton(_ => NpgsqlDataSource.Create(options.ConnectionString));
        services.Replace(ServiceDescriptor.Singleton<IJobStore>(sp => new PostgreSqlJobStore(sp.GetRequiredService<NpgsqlDataSource>(), options.Schema)));
        // Several portal instances on one database: one schedules, the others stand by.
        services.Replace(ServiceDescriptor.Singleton<ISchedulerLease>(sp => new PostgreSqlSchedulerLease(sp.GetRequiredService<NpgsqlDataSource>(), options.SchedulerLockName)));
        return builder;
    }
}
