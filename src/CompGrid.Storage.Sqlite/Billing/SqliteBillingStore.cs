using System.Globalization;
using CompGrid.Billing;
using Microsoft.Data.Sqlite;

namespace CompGrid.Storage.Sqlite;

/// <summary>
/// The billing store on SQLite: grants, rate card versions and the append-only ledger (UPDATE and DELETE on it are
/// refused by triggers). Amounts are kept as exact decimal text and summed in .NET; every write runs in a
/// <c>BEGIN IMMEDIATE</c> transaction, so a hold's funds check and its insert are one atomic step even across
/// processes sharing the file. Idempotency keys are a unique index.
/// </summary>
public sealed class SqliteBillingStore : IBillingStore
{
    internal static readonly string[] Migrations =
    [
        // v1
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
    ];

    private const string Columns = "id, grant_code, kind, amount, currency, at, job_id, user_name, actor, reason, entry_key, ref_entry_id, expires_at, carry_over, details";

    private readonly SqliteConnectionFactory _db;
    private int _initialized;

    /// <summary>A store in the SQLite file at <paramref name="path"/> (created if missing).</summary>
    public SqliteBillingStore(string path) : this(new SqliteConnectionFactory(path)) { }

    /// <summary>A store on an existing connection factory (to share one file with the job store).</summary>
    public SqliteBillingStore(SqliteConnectionFactory factory) => _db = factory ?? throw new ArgumentNullException(nameof(factory));

    /// <summary>The database file.</summary>
    public string DatabasePath => _db.DatabasePath;

    /// <inheritdoc/>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await SqliteMigrator.MigrateAsync(_db, "billing", Migrations, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _initialized, 1);
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _initialized) == 0) await InitializeAsync(ct).ConfigureAwait(false);
        return await _db.OpenAsync(ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------ grants and rate cards

    /// <inheritdoc/>
    public async Task<bool> TryCreateGrantAsync(Grant grant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = Command(c, null, "INSERT INTO billing_grants (code, data) VALUES ($code, $data) ON CONFLICT DO NOTHING",
            ("$code", grant.Code), ("$data", BillingSerialization.Serialize(grant)));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<bool> TryUpdateGrantAsync(Grant grant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = Command(c, null, "UPDATE billing_grants SET data = $data WHERE code = $code",
            ("$code", grant.Code), ("$data", BillingSerialization.Serialize(grant)));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<Grant?> GetGrantAsync(string code, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetGrantAsync(c, null, code, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<Grant?> GetGrantAsync(SqliteConnection c, SqliteTransaction? tx, string code, CancellationToken ct)
    {
        using var cmd = Command(c, tx, "SELECT data FROM billing_grants WHERE code = $code", ("$code", code));
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is string json ? BillingSerialization.Deserialize<Grant>(json) : null;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<Grant>> ListGrantsAsync(CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = Command(c, null, "SELECT data FROM billing_grants ORDER BY code");
        var list = new List<Grant>();
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(BillingSerialization.Deserialize<Grant>(r.GetString(0)));
        return list;
    }

    /// <inheritdoc/>
    public async Task<bool> TrySaveRateCardAsync(RateCard card, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(card);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = Command(c, null, "INSERT INTO billing_rate_cards (name, version, data) VALUES ($name, $version, $data) ON CONFLICT DO NOTHING",
            ("$name", card.Name), ("$version", card.Version), ("$data", BillingSerialization.Serialize(card)));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<RateCard?> GetRateCardAsync(string name, int? version = null, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = version is { } v
            ? Command(c, null, "SELECT data FROM billing_rate_cards WHERE name = $name AND version = $version", ("$name", name), ("$version", v))
            : Command(c, null, "SELECT data FROM billing_rate_cards WHERE name = $name ORDER BY version DESC LIMIT 1", ("$name", name));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? BillingSerialization.Deserialize<RateCard>(json) : null;
    }

    // ------------------------------------------------------------ ledger

    /// <inheritdoc/>
    public async Task<IReadOnlyList<LedgerEntry>?> TryAppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var tx = await SqliteConnectionFactory.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var stored = new List<LedgerEntry>(entries.Count);
        foreach (var e in entries)
        {
            var s = await InsertAsync(c, tx, e, cancellationToken).ConfigureAwait(false);
            if (s is null)
            {
                await tx.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return null;
            }
            stored.Add(s);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return stored;
    }

    /// <inheritdoc/>
    public async Task<HoldResult> TryPlaceHoldAsync(LedgerEntry hold, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hold);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var tx = await SqliteConnectionFactory.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var grant = await GetGrantAsync(c, tx, hold.GrantCode, cancellationToken).ConfigureAwait(false);
        if (grant is null) return new HoldResult(HoldStatus.GrantNotFound, null, 0);
        var spendable = (await BalanceAsync(c, tx, grant, null, cancellationToken).ConfigureAwait(false)).Spendable;
        if (hold.JobId is { } job && await KeyExistsAsync(c, tx, "charge:" + job, cancellationToken).ConfigureAwait(false))
            return new HoldResult(HoldStatus.AlreadyExists, null, spendable);
        if (hold.Key is { } key && await KeyExistsAsync(c, tx, key, cancellationToken).ConfigureAwait(false))
            return new HoldResult(HoldStatus.AlreadyExists, await ActiveHoldAsync(c, tx, hold.JobId, cancellationToken).ConfigureAwait(false), spendable);
        if (spendable < -hold.Amount) return new HoldResult(HoldStatus.InsufficientFunds, null, spendable);
        var stored = await InsertAsync(c, tx, hold, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new HoldResult(stored is null ? HoldStatus.AlreadyExists : HoldStatus.Placed, stored, spendable);
    }

    /// <inheritdoc/>
    public async Task<LedgerEntry?> ReleaseHoldAsync(string jobId, DateTimeOffset at, string? actor, string? reason, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var tx = await SqliteConnectionFactory.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        var hold = await ActiveHoldAsync(c, tx, jobId, cancellationToken).ConfigureAwait(false);
        if (hold is null) return null;
        var release = await InsertAsync(c, tx, LedgerEntry.ReleaseOf(hold, at, actor, reason), cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return release;
    }

    /// <inheritdoc/>
    public async Task<bool> TryChargeAsync(LedgerEntry charge, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(charge);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var tx = await SqliteConnectionFactory.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        if (await InsertAsync(c, tx, charge, cancellationToken).ConfigureAwait(false) is null) return false;
        if (charge.JobId is { } job && await ActiveHoldAsync(c, tx, job, cancellationToken).ConfigureAwait(false) is { } hold)
            await InsertAsync(c, tx, LedgerEntry.ReleaseOf(hold, charge.At, charge.Actor, "charged"), cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public async Task<LedgerEntry?> GetActiveHoldAsync(string jobId, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ActiveHoldAsync(c, null, jobId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<LedgerEntry>> GetEntriesAsync(LedgerQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var sql = $"SELECT {Columns} FROM billing_ledger WHERE 1 = 1";
        var args = new List<(string, object?)>();
        if (query.GrantCode is not null) { sql += " AND grant_code = $grant"; args.Add(("$grant", query.GrantCode)); }
        if (query.JobId is not null) { sql += " AND job_id = $job"; args.Add(("$job", query.JobId)); }
        if (query.From is { } from) { sql += " AND at >= $from"; args.Add(("$from", from.UtcTicks)); }
        if (query.To is { } to) { sql += " AND at < $to"; args.Add(("$to", to.UtcTicks)); }
        using var cmd = Command(c, null, sql + " ORDER BY id", [.. args]);
        return await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<GrantBalance?> GetBalanceAsync(string grantCode, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var grant = await GetGrantAsync(c, null, grantCode, cancellationToken).ConfigureAwait(false);
        return grant is null ? null : await BalanceAsync(c, null, grant, asOf, cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------ helpers

    private static async Task<GrantBalance> BalanceAsync(SqliteConnection c, SqliteTransaction? tx, Grant grant, DateTimeOffset? asOf, CancellationToken ct)
    {
        // Amounts are exact decimal text; SQLite's SUM would go through doubles, so they are summed here.
        using var cmd = asOf is { } t
            ? Command(c, tx, "SELECT kind, amount FROM billing_ledger WHERE grant_code = $grant AND at < $asof", ("$grant", grant.Code), ("$asof", t.UtcTicks))
            : Command(c, tx, "SELECT kind, amount FROM billing_ledger WHERE grant_code = $grant", ("$grant", grant.Code));
        var entries = new List<LedgerEntry>();
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            entries.Add(new LedgerEntry { Kind = Enum.Parse<LedgerEntryKind>(r.GetString(0)), Amount = decimal.Parse(r.GetString(1), CultureInfo.InvariantCulture) });
        return GrantBalance.FromEntries(grant.Code, grant.Currency, grant.CreditLimit, entries);
    }

    private static async Task<bool> KeyExistsAsync(SqliteConnection c, SqliteTransaction tx, string key, CancellationToken ct)
    {
        using var cmd = Command(c, tx, "SELECT 1 FROM billing_ledger WHERE entry_key = $key", ("$key", key));
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
    }

    private static async Task<LedgerEntry?> ActiveHoldAsync(SqliteConnection c, SqliteTransaction? tx, string? jobId, CancellationToken ct)
    {
        if (jobId is null) return null;
        using var cmd = Command(c, tx, $"""
            SELECT {Columns} FROM billing_ledger h
            WHERE h.kind = 'Hold' AND h.job_id = $job
              AND NOT EXISTS (SELECT 1 FROM billing_ledger r WHERE r.kind = 'HoldRelease' AND r.ref_entry_id = h.id)
            ORDER BY h.id DESC LIMIT 1
            """, ("$job", jobId));
        var list = await ReadEntriesAsync(cmd, ct).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    private static async Task<LedgerEntry?> InsertAsync(SqliteConnection c, SqliteTransaction tx, LedgerEntry e, CancellationToken ct)
    {
        using var cmd = Command(c, tx, """
            INSERT INTO billing_ledger (grant_code, kind, amount, currency, at, job_id, user_name, actor, reason, entry_key, ref_entry_id, expires_at, carry_over, details)
            VALUES ($grant, $kind, $amount, $currency, $at, $job, $user, $actor, $reason, $key, $ref, $expires, $carry, $details)
            ON CONFLICT DO NOTHING RETURNING id
            """,
            ("$grant", e.GrantCode), ("$kind", e.Kind.ToString()), ("$amount", e.Amount.ToString(CultureInfo.InvariantCulture)),
            ("$currency", e.Currency), ("$at", e.At.UtcTicks), ("$job", e.JobId), ("$user", e.User), ("$actor", e.Actor), ("$reason", e.Reason),
            ("$key", e.Key), ("$ref", e.RefEntryId), ("$expires", e.ExpiresAt?.UtcTicks), ("$carry", e.CarryOverFraction.ToString(CultureInfo.InvariantCulture)),
            ("$details", e.Details is null ? null : BillingSerialization.Serialize(e.Details)));
        object? id;
        try
        {
            id = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            throw new CompGridException($"Grant '{e.GrantCode}' was not found.", ex) { Code = "unknown-grant", Operation = "append" };
        }
        return id is long l ? e with { Id = l } : null;
    }

    private static async Task<List<LedgerEntry>> ReadEntriesAsync(SqliteCommand cmd, CancellationToken ct)
    {
        var list = new List<LedgerEntry>();
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new LedgerEntry
            {
                Id = r.GetInt64(0), GrantCode = r.GetString(1), Kind = Enum.Parse<LedgerEntryKind>(r.GetString(2)),
                Amount = decimal.Parse(r.GetString(3), CultureInfo.InvariantCulture), Currency = r.GetString(4),
                At = new DateTimeOffset(r.GetInt64(5), TimeSpan.Zero),
                JobId = r.IsDBNull(6) ? null : r.GetString(6), User = r.IsDBNull(7) ? null : r.GetString(7),
                Actor = r.IsDBNull(8) ? null : r.GetString(8), Reason = r.IsDBNull(9) ? null : r.GetString(9),
                Key = r.IsDBNull(10) ? null : r.GetString(10), RefEntryId = r.IsDBNull(11) ? null : r.GetInt64(11),
                ExpiresAt = r.IsDBNull(12) ? null : new DateTimeOffset(r.GetInt64(12), TimeSpan.Zero),
                CarryOverFraction = decimal.Parse(r.GetString(13), CultureInfo.InvariantCulture),
                Details = r.IsDBNull(14) ? null : BillingSerialization.Deserialize<CostBreakdown>(r.GetString(14)),
            });
        }
        return list;
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }
}
