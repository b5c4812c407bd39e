using System.Text;
using Npgsql;

namespace CompGrid.Storage.PostgreSql;

/// <summary>
/// A session-level PostgreSQL advisory lock held on a dedicated connection: "one active scheduler". Every instance
/// of a portal tries to take the lock; the one that holds it runs the scheduler, the others stand by and retry. The
/// lock is released when this object is disposed, or by PostgreSQL when the holder's connection dies (a crashed
/// holder frees it at once, so a standby can take over).
/// <code>
/// using var leader = await PostgreSqlAdvisoryLock.AcquireAsync(dataSource, "compgrid-scheduler", TimeSpan.FromSeconds(5), TimeProvider.System, ct);
/// // run the scheduler while leader.IsHeldAsync() is true
/// </code>
/// </summary>
public sealed class PostgreSqlAdvisoryLock : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private int _disposed;

    private PostgreSqlAdvisoryLock(NpgsqlConnection connection, string name, long key)
    {
        _connection = connection;
        Name = name;
        Key = key;
    }

    /// <summary>The lock's name.</summary>
    public string Name { get; }

    /// <summary>The 64-bit advisory lock key derived from <see cref="Name"/> (FNV-1a of its UTF-8 bytes).</summary>
    public long Key { get; }

    /// <summary>The advisory lock key of a name: FNV-1a 64 of its UTF-8 bytes (stable across processes and versions).</summary>
    public static long KeyFor(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        unchecked
        {
            var hash = 14695981039346656037UL;
            foreach (var b in Encoding.UTF8.GetBytes(name))
            {
                hash ^= b;
                hash *= 1099511628211UL;
            }
            return (long)hash;
        }
    }

    /// <summary>Takes the lock if it is free; returns null when another session holds it.</summary>
    public static async Task<PostgreSqlAdvisoryLock?> TryAcquireAsync(NpgsqlDataSource dataSource, string name = "compgrid-scheduler", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var key = KeyFor(name);
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", connection);
            cmd.Parameters.AddWithValue(key);
            if (await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
                return new PostgreSqlAdvisoryLock(connection, name, key);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        await connection.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    /// <summary>Waits until the lock is free and takes it, trying every <paramref name="retryInterval"/> (on <paramref name="timeProvider"/>'s clock).</summary>
    public static async Task<PostgreSqlAdvisoryLock> AcquireAsync(NpgsqlDataSource dataSource, string name, TimeSpan retryInterval, TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retryInterval, TimeSpan.Zero);
        timeProvider ??= TimeProvider.System;
        while (true)
        {
            var held = await TryAcquireAsync(dataSource, name, cancellationToken).ConfigureAwait(false);
            if (held is not null) return held;
            await Task.Delay(retryInterval, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether the lock is still held (its connection is alive and the lock is in <c>pg_locks</c>).</summary>
    public async Task<bool> IsHeldAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _disposed) != 0) return false;
        try
        {
            using var cmd = new NpgsqlCommand(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND ((classid::bigint << 32) | objid::bigint) = $1)",
                _connection);
            cmd.Parameters.AddWithValue(Key);
            return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Releases the lock and closes its connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            using var cmd = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", _connection);
            cmd.Parameters.AddWithValue(Key);
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The connection is gone: PostgreSQL released the lock with it.
        }
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override string ToString() => $"advisory lock '{Name}' ({Key})";
}
