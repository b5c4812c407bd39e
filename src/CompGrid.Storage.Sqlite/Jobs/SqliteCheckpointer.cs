using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace CompGrid.Storage.Sqlite;

/// <summary>
/// Copies the WAL into the database file beside the job store's writer, on a connection of its own, so the writer
/// does not wait for the checkpoint's two fsyncs (the WAL's, then the file's) between batches. A passive checkpoint
/// takes no write lock: the writer keeps committing to the WAL while it runs. Commits are exactly as durable; only
/// who copies them into the file, and when, changes.
/// </summary>
/// <remarks>
/// A passive checkpoint that runs while commits arrive cannot let the WAL restart from its start, so the writer still
/// checkpoints on its own connection, between two batches, once the WAL holds <see cref="SqliteJobWriter.WalCheckpointPages"/>
/// pages (what SQLite's auto-checkpoint did); by then this one has copied all but the last few thousand pages.
/// </remarks>
internal sealed class SqliteCheckpointer(SqliteConnectionFactory db) : IDisposable
{
    private readonly Lock _lock = new();
    private Task _running = Task.CompletedTask;
    private SqliteConnection? _connection;
    private bool _disposed;
    private long _started;

    /// <summary>The checkpoints this checkpointer started (tests).</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>Starts a passive checkpoint in the background, unless one is running or the store is closing.</summary>
    public void Start()
    {
        lock (_lock)
        {
            if (_disposed || !_running.IsCompleted) return;
            _running = Task.Run(Run);
            _started++;
        }
    }

    /// <summary>Completes when no checkpoint runs here (never faults).</summary>
    public Task WhenIdleAsync()
    {
        lock (_lock) return _running;
    }

    private async Task Run()
    {
        try
        {
            _connection ??= await db.OpenAsync().ConfigureAwait(false);
            Passive(_connection);
        }
        catch (SqliteException)
        {
            // A checkpoint that fails stores nothing and loses nothing: the writer's own checkpoint bounds the WAL.
            _connection?.Dispose();
            _connection = null;
        }
    }

    /// <summary>A passive checkpoint of <paramref name="connection"/>'s database: SQLITE_OK, or SQLITE_BUSY when another checkpoint runs.</summary>
    public static int Passive(SqliteConnection connection)
    {
        int rc = raw.sqlite3_wal_checkpoint_v2(connection.Handle, "main", raw.SQLITE_CHECKPOINT_PASSIVE, out _, out _);
        if (rc != raw.SQLITE_OK && rc != raw.SQLITE_BUSY) SqliteException.ThrowExceptionForRC(rc, connection.Handle);
        return rc;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Task running;
        lock (_lock)
        {
            _disposed = true;
            running = _running;
        }
        running.GetAwaiter().GetResult(); // Run catches its own errors
        _connection?.Dispose();
        _connection = null;
    }
}
