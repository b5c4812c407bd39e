using Microsoft.Data.Sqlite;

namespace CompGrid.Storage.Sqlite;

/// <summary>Opens connections to one SQLite file with CompGrid's settings (WAL, busy timeout, foreign keys).</summary>
public sealed class SqliteConnectionFactory
{
    private static int s_initialized;

    /// <summary>Creates a factory for the database file at <paramref name="path"/> (created if missing).</summary>
    public SqliteConnectionFactory(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Interlocked.Exchange(ref s_initialized, 1) == 0) SQLitePCL.Batteries_V2.Init();
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        DatabasePath = full;
        ConnectionString = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    /// <summary>The database file.</summary>
    public string DatabasePath { get; }

    /// <summary>The connection string.</summary>
    public string ConnectionString { get; }

    /// <summary>Opens a connection with WAL, a 10 s busy timeout and foreign keys on.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var c = new SqliteConnection(ConnectionString);
        await c.OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;";
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return c;
    }

    /// <summary>Starts a write transaction that takes the write lock at once (<c>BEGIN IMMEDIATE</c>), avoiding upgrade deadlocks.</summary>
    public static Task<SqliteTransaction> BeginWriteAsync(SqliteConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(connection.BeginTransaction(deferred: false));
    }
}

/// <summary>
/// Applies numbered schema migrations to a SQLite file, each once, in order, inside a transaction, recording them in
/// <c>schema_migrations</c> under a component name (jobs, billing) so several stores can share one file.
/// </summary>
public static class SqliteMigrator
{
    /// <summary>Applies the migrations of <paramref name="component"/> that the file lacks. Refuses a file newer than the code.</summary>
    public static async Task MigrateAsync(SqliteConnectionFactory factory, string component, IReadOnlyList<string> migrations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(migrations);
        using var c = await factory.OpenAsync(cancellationToken).ConfigureAwait(false);
        using var tx = await SqliteConnectionFactory.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        using (var create = c.CreateCommand())
        {
            create.Transaction = tx;
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (component, version))";
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        long current;
        using (var q = c.CreateCommand())
        {
            q.Transaction = tx;
            q.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = $c";
            q.Parameters.AddWithValue("$c", component);
            current = (long)(await q.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        if (current > migrations.Count)
            throw new CompGridException($"The database '{factory.DatabasePath}' has {component} schema version {current}, newer than this CompGrid supports ({migrations.Count}). Upgrade CompGrid.") { Operation = "migrate" };
        for (int v = (int)current + 1; v <= migrations.Count; v++)
        {
            using var m = c.CreateCommand();
            m.Transaction = tx;
            m.CommandText = migrations[v - 1];
            await m.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            using var rec = c.CreateCommand();
            rec.Transaction = tx;
            rec.CommandText = "INSERT INTO schema_migrations (component, version, applied_at) VALUES ($c, $v, strftime('%Y-%m-%dT%H:%M:%fZ','now'))";
            rec.Parameters.AddWithValue("$c", component);
            rec.Parameters.AddWithValue("$v", v);
            await rec.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
