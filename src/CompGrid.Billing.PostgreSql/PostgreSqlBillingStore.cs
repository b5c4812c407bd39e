using System.Data;
using System.Data.Common;
using System.Text;
using CompGrid.Billing.PostgreSql.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CompGrid.Billing.PostgreSql;

/// <summary>
/// The PostgreSQL dialect of <see cref="DbBillingStore"/>: amounts <c>numeric</c>, times <c>timestamptz</c>
/// (microseconds), a guarded write locks its grant's row (<c>SELECT … FOR UPDATE</c>) before reading, so writes to one
/// grant from any number of instances are serialized; a trigger refuses UPDATE and DELETE on the ledger.
/// </summary>
internal sealed class PostgreSqlBillingStore : DbBillingStore, IAsyncDisposable
{
    private static readonly string[] s_migrations =
    [
        // v1 (the tables CompGrid.Storage.PostgreSql created before the billing store had its own package)
        """
        CREATE TABLE {schema}.billing_grants (
            code text PRIMARY KEY,
            data text NOT NULL
        );
        CREATE TABLE {schema}.billing_rate_cards (
            name text NOT NULL,
            version integer NOT NULL,
            data text NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE {schema}.billing_ledger (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            grant_code text NOT NULL REFERENCES {schema}.billing_grants (code),
            kind text NOT NULL,
            amount numeric NOT NULL,
            currency text NOT NULL,
            at timestamptz NOT NULL,
            job_id text NULL,
            user_name text NULL,
            actor text NULL,
            reason text NULL,
            entry_key text NULL,
            ref_entry_id bigint NULL,
            expires_at timestamptz NULL,
            carry_over numeric NOT NULL,
            details text NULL
        );
        CREATE UNIQUE INDEX ux_billing_ledger_key ON {schema}.billing_ledger (entry_key) WHERE entry_key IS NOT NULL;
        CREATE INDEX ix_billing_ledger_grant ON {schema}.billing_ledger (grant_code, id);
        CREATE INDEX ix_billing_ledger_job ON {schema}.billing_ledger (job_id) WHERE job_id IS NOT NULL;
        CREATE INDEX ix_billing_ledger_ref ON {schema}.billing_ledger (ref_entry_id) WHERE ref_entry_id IS NOT NULL;
        CREATE FUNCTION {schema}.billing_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'the billing ledger is append-only'; END $$;
        CREATE TRIGGER billing_ledger_append_only BEFORE UPDATE OR DELETE ON {schema}.billing_ledger
            FOR EACH ROW EXECUTE FUNCTION {schema}.billing_ledger_append_only();
        """,
        // v2: flags (clamped charge, usage naming another account). A constant default rewrites no row: no trigger fires.
        "ALTER TABLE {schema}.billing_ledger ADD COLUMN flags integer NOT NULL DEFAULT 0;",
    ];

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _schema;
    private readonly ILogger _logger;

    public PostgreSqlBillingStore(NpgsqlDataSource dataSource, bool ownsDataSource, string schema, ILogger logger) : base(schema + ".")
    {
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _schema = schema;
        _logger = logger;
    }

    protected override IReadOnlyList<string> Migrations => s_migrations;

    // The same transaction-scoped advisory lock as the job store's migrations, so the two never create
    // schema_migrations at once.
    protected override string MigrationPreambleSql => $"""
        SELECT pg_advisory_xact_lock({MigrationLockKey(_schema)});
        CREATE SCHEMA IF NOT EXISTS {_schema};
        CREATE TABLE IF NOT EXISTS {_schema}.schema_migrations (component text NOT NULL, version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version));
        """;

    protected override string MigrationRecordSql => $"INSERT INTO {_schema}.schema_migrations (component, version) VALUES (@c, @v)";

    protected override string LockGrantSql => $"SELECT data FROM {_schema}.billing_grants WHERE code = @code FOR UPDATE";

    protected override string OrdinalCodeOrder => "code COLLATE \"C\"";

    protected override DbType TimeType => DbType.DateTimeOffset;

    protected override DbType DecimalType => DbType.Decimal;

    protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

    protected override object TimeValue(DateTimeOffset value) => value.ToUniversalTime();

    protected override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    protected override object DecimalValue(decimal value) => value;

    protected override decimal ReadDecimal(DbDataReader reader, int ordinal) => reader.GetDecimal(ordinal);

    protected override bool IsForeignKeyViolation(DbException exception) => exception is PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation };

    protected override void OnMigrated(int from, int to) => Log.Migrated(_logger, _schema, from, to);

    public ValueTask DisposeAsync() => _ownsDataSource ? _dataSource.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>64-bit FNV-1a of <c>compgrid-migrate:{schema}</c>: the key CompGrid's PostgreSQL migrators share.</summary>
    internal static long MigrationLockKey(string schema)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes("compgrid-migrate:" + schema)) hash = unchecked((hash ^ b) * 1099511628211UL);
        return unchecked((long)hash);
    }
}
