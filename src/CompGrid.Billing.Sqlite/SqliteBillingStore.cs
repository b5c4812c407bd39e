using System.Data;
using System.Data.Common;
using System.Globalization;
using CompGrid.Billing.Sqlite.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CompGrid.Billing.Sqlite;

/// <summary>
/// The SQLite dialect of <see cref="DbBillingStore"/>: amounts as exact decimal text, times as UTC ticks, every write a
/// <c>BEGIN IMMEDIATE</c> transaction (the file's write lock, so a guarded write is atomic across processes), triggers
/// that refuse UPDATE and DELETE on the ledger.
/// </summary>
internal sealed class SqliteBillingStore : DbBillingStore
{
    private static readonly string[] s_migrations =
    [
        // v1 (the tables CompGrid.Storage.Sqlite created before the billing store had its own package)
        """
        CREATE TABLE billing_grants (
            code TEXT PRIMARY KEY,
            data TEXT NOT NULL
        );
        CREATE TABLE billing_rate_cards (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE billing_ledger (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            grant_code TEXT NOT NULL REFERENCES billing_grants (code),
            kind TEXT NOT NULL,
            amount TEXT NOT NULL,
            currency TEXT NOT NULL,
            at INTEGER NOT NULL,
            job_id TEXT NULL,
            user_name TEXT NULL,
            actor TEXT NULL,
            reason TEXT NULL,
            entry_key TEXT NULL,
            ref_entry_id INTEGER NULL,
            expires_at INTEGER NULL,
            carry_over TEXT NOT NULL,
            details TEXT NULL
        );
        CREATE UNIQUE INDEX ux_billing_ledger_key ON billing_ledger (entry_key) WHERE entry_key IS NOT NULL;
        CREATE INDEX ix_billing_ledger_grant ON billing_ledger (grant_code, id);
        CREATE INDEX ix_billing_ledger_job ON billing_ledger (job_id) WHERE job_id IS NOT NULL;
        CREATE INDEX ix_billing_ledger_ref ON billing_ledger (ref_entry_id) WHERE ref_entry_id IS NOT NULL;
        CREATE TRIGGER billing_ledger_no_update BEFORE UPDATE ON billing_ledger BEGIN SELECT RAISE(ABORT, 'the billing ledger is append-only'); END;
        CREATE TRIGGER billing_ledger_no_delete BEFORE DELETE ON billing_ledger BEGIN SELECT RAISE(ABORT, 'the billing ledger is append-only'); END;
        """,
        // v2: flags (clamped charge, usage naming another account). Adding a column fires no UPDATE trigger.
        "ALTER TABLE billing_ledger ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;",
    ];

    private static int s_batteries;
    private readonly string _connectionString;
    private readonly int _busyMilliseconds;
    private readonly ILogger _logger;

    public SqliteBillingStore(SqliteBillingStoreOptions options, ILogger logger) : base("")
    {
        if (Interlocked.Exchange(ref s_batteries, 1) == 0) SQLitePCL.Batteries_V2.Init();
        var full = Path.GetFullPath(options.DatabasePath);
        if (Path.GetDirectoryName(full) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
        DatabasePath = full;
        _busyMilliseconds = (int)options.BusyTimeout.TotalMilliseconds;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = full, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = Math.Max(1, (int)options.BusyTimeout.TotalSeconds),
        }.ToString();
        _logger = logger;
    }

    public string DatabasePath { get; }

    protected override IReadOnlyList<string> Migrations => s_migrations;

    protected override string MigrationPreambleSql =>
        "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (component, version))";

    protected override string MigrationRecordSql =>
        "INSERT INTO schema_migrations (component, version, applied_at) VALUES (@c, @v, strftime('%Y-%m-%dT%H:%M:%fZ','now'))";

    protected override DbType TimeType => DbType.Int64;

    protected override DbType DecimalType => DbType.String;

    protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var c = new SqliteConnection(_connectionString);
        try
        {
            await c.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"PRAGMA journal_mode=WAL; PRAGMA busy_timeout={_busyMilliseconds.ToString(CultureInfo.InvariantCulture)}; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;";
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return c;
        }
        catch
        {
            await c.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // BEGIN IMMEDIATE: the write lock at once, so the reads a condition sees cannot change before the insert.
    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
    }

    protected override object TimeValue(DateTimeOffset value) => value.UtcTicks;

    protected override DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => new(reader.GetInt64(ordinal), TimeSpan.Zero);

    // Exact decimal text: SQLite's own numbers are doubles.
    protected override object DecimalValue(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    protected override decimal ReadDecimal(DbDataReader reader, int ordinal) => decimal.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture);

    protected override bool IsForeignKeyViolation(DbException exception) => exception is SqliteException { SqliteErrorCode: 19 };

    protected override void OnMigrated(int from, int to) => Log.Migrated(_logger, DatabasePath, from, to);
}
