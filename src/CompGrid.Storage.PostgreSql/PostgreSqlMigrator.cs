using Npgsql;

namespace CompGrid.Storage.PostgreSql;

/// <summary>
/// Applies numbered migrations to a schema, each once, in order, in one transaction serialized across processes by a
/// transaction-scoped advisory lock; records them in <c>schema_migrations</c> per component (jobs, billing).
/// </summary>
internal static class PostgreSqlMigrator
{
    public static async Task MigrateAsync(NpgsqlDataSource dataSource, string schema, string component, IReadOnlyList<string> migrations, CancellationToken ct)
    {
        using var c = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
        using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", c, tx))
        {
            lockCmd.Parameters.AddWithValue(PostgreSqlAdvisoryLock.KeyFor("compgrid-migrate:" + schema));
            await lockCmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        using (var create = new NpgsqlCommand(
            $"CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (component text NOT NULL, version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))",
            c, tx))
        {
            await create.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        int current;
        using (var q = new NpgsqlCommand($"SELECT COALESCE(MAX(version), 0) FROM {schema}.schema_migrations WHERE component = $1", c, tx))
        {
            q.Parameters.AddWithValue(component);
            current = Convert.ToInt32(await q.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }
        if (current > migrations.Count)
            throw new CompGridException($"The PostgreSQL schema '{schema}' has {component} schema version {current}, newer than this CompGrid supports ({migrations.Count}). Upgrade CompGrid.") { Operation = "migrate" };
        for (var v = current + 1; v <= migrations.Count; v++)
        {
            using (var m = new NpgsqlCommand(migrations[v - 1].Replace("{schema}", schema, StringComparison.Ordinal), c, tx))
                await m.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            using var rec = new NpgsqlCommand($"INSERT INTO {schema}.schema_migrations (component, version) VALUES ($1, $2)", c, tx);
            rec.Parameters.AddWithValue(component);
            rec.Parameters.AddWithValue(v);
            await rec.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Whether the exception is a unique, foreign-key or serialization failure worth translating.</summary>
    public static bool Is(PostgresException e, string sqlState) => e.SqlState == sqlState;
}
