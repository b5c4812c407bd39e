using Npgsql;

namespace CompGrid.Storage.PostgreSql;

/// <summary>
/// The PostgreSQL stores without dependency injection (scripts):
/// <code>
/// var pg = PostgreSqlStores.Create("Host=db;Database=compgrid;Username=compgrid");
/// await using var leader = await pg.TryAcquireSchedulerLockAsync();
/// </code>
/// </summary>
public sealed class PostgreSqlStores : IAsyncDisposable
{
    private PostgreSqlStores(NpgsqlDataSource dataSource, PostgreSqlStoreOptions options)
    {
        DataSource = dataSource;
        Options = options;
        Jobs = new PostgreSqlJobStore(dataSource, options.Schema);
    }

    /// <summary>The Npgsql data source (connection pool).</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>The options.</summary>
    public PostgreSqlStoreOptions Options { get; }

    /// <summary>The job store.</summary>
    public IJobStore Jobs { get; }

    /// <summary>Creates the stores for <paramref name="connectionString"/>.</summary>
    public static PostgreSqlStores Create(string connectionString, Action<PostgreSqlStoreOptions>? configure = null)
    {
        var options = new PostgreSqlStoreOptions { ConnectionString = connectionString };
        configure?.Invoke(options);
        options.ThrowIfInvalid();
        return new PostgreSqlStores(NpgsqlDataSource.Create(options.ConnectionString), options);
    }

    /// <summary>Takes the scheduler lock (<see cref="PostgreSqlStoreOptions.SchedulerLockName"/>) if free; null when another instance is active.</summary>
    public Task<PostgreSqlAdvisoryLock?> TryAcquireSchedulerLockAsync(CancellationToken cancellationToken = default) =>
        PostgreSqlAdvisoryLock.TryAcquireAsync(DataSource, Options.SchedulerLockName, cancellationToken);

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
