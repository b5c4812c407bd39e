using CompGrid.Billing;
using Npgsql;
using NpgsqlTypes;

namespace CompGrid.Storage.PostgreSql;

/// <summary>
/// The billing store on PostgreSQL: grants, rate card versions and the append-only ledger (UPDATE and DELETE are
/// refused by a trigger). Amounts are <c>numeric</c> and summed exactly in SQL. A hold locks its grant's row
/// (<c>SELECT … FOR UPDATE</c>) before checking funds, so parallel holds from any number of instances never overdraw;
/// idempotency keys are a unique index. Times are <c>timestamptz</c> (microsecond precision).
/// </summary>
public sealed class PostgreSqlBillingStore : IBillingStore
{
    internal static readonly string[] Migrations =
    [
        // v1
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
    ];

    private readonly NpgsqlDataSource _db;
    private readonly string _s;
    private readonly string _columns;
    private int _initialized;

    /// <summary>A store over <paramref name="dataSource"/> in <paramref name="schema"/> (created if missing).</summary>
    public PostgreSqlBillingStore(NpgsqlDataSource dataSource, string schema = "compgrid")
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        new PostgreSqlStoreOptions { ConnectionString = "-", Schema = schema }.ThrowIfInvalid();
        _db = dataSource;
        _s = schema;
        _columns = "id, grant_code, kind, amount, currency, at, job_id, user_name, actor, reason, entry_key, ref_entry_id, expires_at, carry_over, details";
    }

    /// <inheritdoc/>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await PostgreSqlMigrator.MigrateAsync(_db, _s, "billing", Migrations, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _initialized, 1);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _initialized) == 0) await InitializeAsync(ct).ConfigureAwait(false);
        return await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------ grants and rate cards

    /// <inheritdoc/>
    public async Task<bool> TryCreateGrantAsync(Grant grant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = Command(c, null, $"INSERT INTO {_s}.billing_grants (code, data) VALUES ($1, $2) ON CONFLICT DO NOTHING", grant.Code, BillingSerialization.Serialize(grant));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<bool> TryUpdateGrantAsync(Grant grant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = Command(c, null, $"UPDATE {_s}.billing_grants SET data = $2 WHERE code = $1", grant.Code, BillingSerialization.Serialize(grant));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<Grant?> GetGrantAsync(string code, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await GetGrantAsync(c, null, code, forUpdate: false, cancellationToken).ConfigureAwait(false);
    }

    private async Task<Grant?> GetGrantAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string code, bool forUpdate, CancellationToken ct)
    {
        using var cmd = Command(c, tx, $"SELECT data FROM {_s}.billing_grants WHERE code = $1{(forUpdate ? " FOR UPDATE" : "")}", code);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is string json ? BillingSerialization.Deserialize<Grant>(json) : null;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<Grant>> ListGrantsAsync(CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = Command(c, null, $"SELECT data FROM {_s}.billing_grants ORDER BY code COLLATE \"C\"");
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
        using var cmd = Command(c, null, $"INSERT INTO {_s}.billing_rate_cards (name, version, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            card.Name, card.Version, BillingSerialization.Serialize(card));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<RateCard?> GetRateCardAsync(string name, int? version = null, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = version is { } v
            ? Command(c, null, $"SELECT data FROM {_s}.billing_rate_cards WHERE name = $1 AND version = $2", name, v)
            : Command(c, null, $"SELECT data FROM {_s}.billing_rate_cards WHERE name = $1 ORDER BY version DESC LIMIT 1", name);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? BillingSerialization.Deserialize<RateCard>(json) : null;
    }

    // ------------------------------------------------------------ ledger

    /// <inheritdoc/>
    public async Task<IReadOnlyList<LedgerEntry>?> TryAppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var code in entries.Select(e => e.GrantCode).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            if (await GetGrantAsync(c, tx, code, forUpdate: true, cancellationToken).ConfigureAwait(false) is null)
                throw new CompGridException($"Grant '{code}' was not found.") { Code = "unknown-grant", Operation = "append" };
        }
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
        using var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // The grant's row lock serializes every hold on the grant: the funds check and the insert are one step.
        var grant = await GetGrantAsync(c, tx, hold.GrantCode, forUpdate: true, cancellationToken).ConfigureAwait(false);
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
        using var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var hold = await ActiveHoldAsync(c, tx, jobId, cancellationToken).ConfigureAwait(false);
        if (hold is null) return null;
        // Every ledger writer locks the grant's row first (one lock order: no deadlocks), then re-reads under the lock.
        await GetGrantAsync(c, tx, hold.GrantCode, forUpdate: true, cancellationToken).ConfigureAwait(false);
        hold = await ActiveHoldAsync(c, tx, jobId, cancellationToken).ConfigureAwait(false);
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
        using var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (await GetGrantAsync(c, tx, charge.GrantCode, forUpdate: true, cancellationToken).ConfigureAwait(false) is null)
            throw new CompGridException($"Grant '{charge.GrantCode}' was not found.") { Code = "unknown-grant", Operation = "charge" };
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
        using var cmd = Command(c, null, $"""
            SELECT {_columns} FROM {_s}.billing_ledger
            WHERE ($1::text IS NULL OR grant_code = $1) AND ($2::text IS NULL OR job_id = $2)
              AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
            ORDER BY id
            """,
            Typed(query.GrantCode, NpgsqlDbType.Text), Typed(query.JobId, NpgsqlDbType.Text),
            Typed(query.From?.ToUniversalTime(), NpgsqlDbType.TimestampTz), Typed(query.To?.ToUniversalTime(), NpgsqlDbType.TimestampTz));
        return await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<GrantBalance?> GetBalanceAsync(string grantCode, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var grant = await GetGrantAsync(c, null, grantCode, forUpdate: false, cancellationToken).ConfigureAwait(false);
        return grant is null ? null : await BalanceAsync(c, null, grant, asOf, cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------ helpers

    private async Task<GrantBalance> BalanceAsync(NpgsqlConnection c, NpgsqlTransaction? tx, Grant grant, DateTimeOffset? asOf, CancellationToken ct)
    {
        using var cmd = Command(c, tx, $"""
            SELECT kind, SUM(amount) FROM {_s}.billing_ledger
            WHERE grant_code = $1 AND ($2::timestamptz IS NULL OR at < $2)
            GROUP BY kind
            """, grant.Code, Typed(asOf?.ToUniversalTime(), NpgsqlDbType.TimestampTz));
        var sums = new List<LedgerEntry>();
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            sums.Add(new LedgerEntry { Kind = Enum.Parse<LedgerEntryKind>(r.GetString(0)), Amount = r.GetDecimal(1) });
        return GrantBalance.FromEntries(grant.Code, grant.Currency, grant.CreditLimit, sums);
    }

    private async Task<bool> KeyExistsAsync(NpgsqlConnection c, NpgsqlTransaction tx, string key, CancellationToken ct)
    {
        using var cmd = Command(c, tx, $"SELECT 1 FROM {_s}.billing_ledger WHERE entry_key = $1", key);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
    }

    private async Task<LedgerEntry?> ActiveHoldAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string? jobId, CancellationToken ct)
    {
        if (jobId is null) return null;
        using var cmd = Command(c, tx, $"""
            SELECT {_columns} FROM {_s}.billing_ledger h
            WHERE h.kind = 'Hold' AND h.job_id = $1
              AND NOT EXISTS (SELECT 1 FROM {_s}.billing_ledger r WHERE r.kind = 'HoldRelease' AND r.ref_entry_id = h.id)
            ORDER BY h.id DESC LIMIT 1
            """, jobId);
        var list = await ReadEntriesAsync(cmd, ct).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    private async Task<LedgerEntry?> InsertAsync(NpgsqlConnection c, NpgsqlTransaction tx, LedgerEntry e, CancellationToken ct)
    {
        using var cmd = Command(c, tx, $"""
            INSERT INTO {_s}.billing_ledger (grant_code, kind, amount, currency, at, job_id, user_name, actor, reason, entry_key, ref_entry_id, expires_at, carry_over, details)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
            ON CONFLICT DO NOTHING RETURNING id
            """,
            e.GrantCode, e.Kind.ToString(), e.Amount, e.Currency, e.At.ToUniversalTime(),
            Typed(e.JobId, NpgsqlDbType.Text), Typed(e.User, NpgsqlDbType.Text), Typed(e.Actor, NpgsqlDbType.Text), Typed(e.Reason, NpgsqlDbType.Text),
            Typed(e.Key, NpgsqlDbType.Text), Typed(e.RefEntryId, NpgsqlDbType.Bigint), Typed(e.ExpiresAt?.ToUniversalTime(), NpgsqlDbType.TimestampTz),
            e.CarryOverFraction, Typed(e.Details is null ? null : BillingSerialization.Serialize(e.Details), NpgsqlDbType.Text));
        object? id;
        try
        {
            id = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new CompGridException($"Grant '{e.GrantCode}' was not found.", ex) { Code = "unknown-grant", Operation = "append" };
        }
        return id is long l ? e with { Id = l } : null;
    }

    private static async Task<List<LedgerEntry>> ReadEntriesAsync(NpgsqlCommand cmd, CancellationToken ct)
    {
        var list = new List<LedgerEntry>();
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new LedgerEntry
            {
                Id = r.GetInt64(0), GrantCode = r.GetString(1), Kind = Enum.Parse<LedgerEntryKind>(r.GetString(2)),
                Amount = r.GetDecimal(3), Currency = r.GetString(4), At = r.GetFieldValue<DateTimeOffset>(5),
                JobId = r.IsDBNull(6) ? null : r.GetString(6), User = r.IsDBNull(7) ? null : r.GetString(7),
                Actor = r.IsDBNull(8) ? null : r.GetString(8), Reason = r.IsDBNull(9) ? null : r.GetString(9),
                Key = r.IsDBNull(10) ? null : r.GetString(10), RefEntryId = r.IsDBNull(11) ? null : r.GetInt64(11),
                ExpiresAt = r.IsDBNull(12) ? null : r.GetFieldValue<DateTimeOffset>(12),
                CarryOverFraction = r.GetDecimal(13),
                Details = r.IsDBNull(14) ? null : BillingSerialization.Deserialize<CostBreakdown>(r.GetString(14)),
            });
        }
        return list;
    }

    private static NpgsqlParameter Typed(object? value, NpgsqlDbType type) => new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };

    private static NpgsqlCommand Command(NpgsqlConnection c, NpgsqlTransaction? tx, string sql, params object?[] args)
    {
        var cmd = new NpgsqlCommand(sql, c, tx);
        foreach (var a in args) cmd.Parameters.Add(a as NpgsqlParameter ?? new NpgsqlParameter { Value = a ?? DBNull.Value });
        return cmd;
    }
}
