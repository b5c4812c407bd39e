using Npgsql;

namespace CompGrid.Storage.PostgreSql;

/// <summary>
/// The engine's <see cref="ISchedulerLease"/> on a PostgreSQL advisory lock: the instance whose session holds the
/// lock schedules; if its process dies, PostgreSQL drops the session and the lock with it, and a standby takes over
/// at its next cycle. Registered by <c>UsePostgreSqlStore</c>.
/// </summary>
public sealed class PostgreSqlSchedulerLease : ISchedulerLease, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _name;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private PostgreSqlAdvisoryLock? _lock;

    /// <summary>A lease named <paramref name="name"/> on <paramref name="dataSource"/>.</summary>
    public PostgreSqlSchedulerLease(NpgsqlDataSource dataSource, string name = "compgrid-scheduler")
    {
        _dataSource = dataSource ?? throw new ArgumentNullException(nameof(dataSource));
        ArgumentException.ThrowIfNullOrEmpty(name);
        _name = name;
    }

    /// <inheritdoc/>
    public async ValueTask<bool> TryAcquireAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_lock is not null)
            {
                if (await _lock.IsHeldAsync(cancellationToken).ConfigureAwait(false)) return true;
                await _lock.DisposeAsync().ConfigureAwait(false); // the session was lost: so was the lock
                _lock = null;
            }
            _lock = await PostgreSqlAdvisoryLock.TryAcquireAsync(_dataSource, _name, cancellationToken).ConfigureAwait(false);
            return _lock is not null;
        }
        finally { _gate.Release(); }
    }

    /// <inheritdoc/>
    public async ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_lock is not null) await _lock.DisposeAsync().ConfigureAwait(false);
            _lock = null;
        }
        finally { _gate.Release(); }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
