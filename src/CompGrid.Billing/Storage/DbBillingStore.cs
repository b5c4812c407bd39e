using System.Data;
using System.Data.Common;

namespace CompGrid.Billing;

/// <summary>
/// The billing store on an ADO.NET database, written once for every SQL dialect: tables <c>billing_grants</c>,
/// <c>billing_rate_cards</c> and the append-only <c>billing_ledger</c> (a unique index on <c>entry_key</c>), numbered
/// migrations recorded per component in <c>schema_migrations</c>, and <see cref="WriteAsync"/> as one transaction
/// that first takes the grant's write lock (<see cref="BeginWriteAsync"/>, <see cref="LockGrantSql"/>). A dialect
/// supplies connections, the lock, the migrations and how times and amounts are stored. Amounts are summed in .NET,
/// exactly, whatever the database's own arithmetic. SQL uses <c>@name</c> parameters.
/// </summary>
public abstract class DbBillingStore : IBillingStore
{
    private const string Columns = "id, grant_code, kind, amount, currency, at, job_id, user_name, actor, reason, entry_key, ref_entry_id, expires_at, carry_over, details, flags";
    private int _initialized;

    /// <summary>Creates the store; <paramref name="tablePrefix"/> qualifies every table (a schema and a dot, or empty).</summary>
    protected DbBillingStore(string tablePrefix) => TablePrefix = tablePrefix ?? "";

    /// <summary>What qualifies every table name (for example <c>compgrid.</c>).</summary>
    protected string TablePrefix { get; }

    /// <summary>The schema migrations, oldest first; <c>{schema}</c> is replaced by <see cref="TablePrefix"/> without its dot.</summary>
    protected abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>Opens a connection.</summary>
    protected abstract Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>Starts a write transaction (one that serializes with other writers, at least on the same grant).</summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>SQL run first in every migration transaction: serialize migrators, create <c>schema_migrations</c>.</summary>
    protected abstract string MigrationPreambleSql { get; }

    /// <summary>SQL that records migration <c>@v</c> of component <c>@c</c> in <c>schema_migrations</c>.</summary>
    protected abstract string MigrationRecordSql { get; }

    /// <summary>SQL that selects grant <c>@code</c>'s <c>data</c> and locks its row for the write transaction.</summary>
    protected virtual string LockGrantSql => $"SELECT data FROM {TablePrefix}billing_grants WHERE code = @code";

    /// <summary>The ORDER BY expression that sorts grant codes ordinally.</summary>
    protected virtual string OrdinalCodeOrder => "code";

    /// <summary>How a time is stored: its database type.</summary>
    protected abstract DbType TimeType { get; }

    /// <summary>How a time is stored: its value.</summary>
    protected abstract object TimeValue(DateTimeOffset value);

    /// <summary>Reads a stored time.</summary>
    protected abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);

    /// <summary>How an exact decimal (amount, fraction) is stored: its database type.</summary>
    protected abstract DbType DecimalType { get; }

    /// <summary>How an exact decimal is stored: its value.</summary>
    protected abstract object DecimalValue(decimal value);

    /// <summary>Reads a stored decimal.</summary>
    protected abstract decimal ReadDecimal(DbDataReader reader, int ordinal);

    /// <summary>Whether <paramref name="exception"/> is a foreign-key violation (an entry for a grant that does not exist).</summary>
    protected abstract bool IsForeignKeyViolation(DbException exception);

    /// <inheritdoc/>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            var tx = await BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
            await using (tx.ConfigureAwait(false))
            {
                await ExecuteAsync(c, tx, MigrationPreambleSql, cancellationToken).ConfigureAwait(false);
                using var q = Command(c, tx, $"SELECT COALESCE(MAX(version), 0) FROM {TablePrefix}schema_migrations WHERE component = @c", ("@c", "billing", DbType.String));
                var current = Convert.ToInt32(await q.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
                if (current > Migrations.Count)
                    throw new CompGridException($"The billing schema is version {current}, newer than this CompGrid supports ({Migrations.Count}). Upgrade CompGrid.") { Operation = "migrate" };
                for (var v = current + 1; v <= Migrations.Count; v++)
                {
                    await ExecuteAsync(c, tx, Migrations[v - 1].Replace("{schema}", TablePrefix.TrimEnd('.'), StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
                    using var rec = Command(c, tx, MigrationRecordSql, ("@c", "billing", DbType.String), ("@v", v, DbType.Int32));
                    await rec.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                if (current < Migrations.Count) OnMigrated(current, Migrations.Count);
            }
        }
        Volatile.Write(ref _initialized, 1);
    }

    /// <summary>Called after <see cref="InitializeAsync"/> migrated the schema from version <paramref name="from"/> to <paramref name="to"/> (for logging).</summary>
    protected virtual void OnMigrated(int from, int to)
    {
    }

    private async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _initialized) == 0) await InitializeAsync(ct).ConfigureAwait(false);
        return await OpenConnectionAsync(ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------ grants and rate cards

    /// <inheritdoc/>
    public Task<bool> TryCreateGrantAsync(Grant grant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        return ChangedOneAsync($"INSERT INTO {TablePrefix}billing_grants (code, data) VALUES (@code, @data) ON CONFLICT DO NOTHING",
            cancellationToken, ("@code", grant.Code, DbType.String), ("@data", BillingSerialization.Serialize(grant), DbType.String));
    }

    /// <inheritdoc/>
    public Task<bool> TryUpdateGrantAsync(Grant grant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        return ChangedOneAsync($"UPDATE {TablePrefix}billing_grants SET data = @data WHERE code = @code",
            cancellationToken, ("@code", grant.Code, DbType.String), ("@data", BillingSerialization.Serialize(grant), DbType.String));
    }

    /// <inheritdoc/>
    public async Task<Grant?> GetGrantAsync(string code, CancellationToken cancellationToken = default)
    {
        var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
            return await ReadGrantAsync(c, null, $"SELECT data FROM {TablePrefix}billing_grants WHERE code = @code", code, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<Grant>> ListGrantsAsync(CancellationToken cancellationToken = default)
    {
        var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            using var cmd = Command(c, null, $"SELECT data FROM {TablePrefix}billing_grants ORDER BY {OrdinalCodeOrder}");
            var list = new List<Grant>();
            using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(BillingSerialization.Deserialize<Grant>(r.GetString(0)));
            return list;
        }
    }

    /// <inheritdoc/>
    public Task<bool> TrySaveRateCardAsync(RateCard card, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(card);
        return ChangedOneAsync($"INSERT INTO {TablePrefix}billing_rate_cards (name, version, data) VALUES (@name, @version, @data) ON CONFLICT DO NOTHING",
            cancellationToken, ("@name", card.Name, DbType.String), ("@version", card.Version, DbType.Int32), ("@data", BillingSerialization.Serialize(card), DbType.String));
    }

    /// <inheritdoc/>
    public async Task<RateCard?> GetRateCardAsync(string name, int? version = null, CancellationToken cancellationToken = default)
    {
        var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            using var cmd = version is { } v
                ? Command(c, null, $"SELECT data FROM {TablePrefix}billing_rate_cards WHERE name = @name AND version = @version", ("@name", name, DbType.String), ("@version", v, DbType.Int32))
                : Command(c, null, $"SELECT data FROM {TablePrefix}billing_rate_cards WHERE name = @name ORDER BY version DESC LIMIT 1", ("@name", name, DbType.String));
            return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? BillingSerialization.Deserialize<RateCard>(json) : null;
        }
    }

    // ------------------------------------------------------------ ledger

    /// <inheritdoc/>
    public async Task<LedgerWriteResult> WriteAsync(LedgerWrite write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            var tx = await BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
            await using (tx.ConfigureAwait(false))
            {
                // The grant's lock first, then every read: the condition sees what no other writer can change meanwhile.
                var grant = await ReadGrantAsync(c, tx, LockGrantSql, write.GrantCode, cancellationToken).ConfigureAwait(false);
                if (grant is null) return new LedgerWriteResult(LedgerWriteStatus.GrantNotFound, [], null);
                var balance = await BalanceAsync(c, tx, grant, null, cancellationToken).ConfigureAwait(false);
                var jobEntries = write.JobId is { } job
                    ? await ReadEntriesAsync(c, tx, new LedgerQuery { JobId = job }, cancellationToken).ConfigureAwait(false)
                    : [];
                var state = new LedgerState(grant, balance, jobEntries);
                var entries = write.DecideChecked(state);
                if (entries.Count == 0) return new LedgerWriteResult(LedgerWriteStatus.Declined, [], state);
                var stored = new List<LedgerEntry>(entries.Count);
                foreach (var e in entries)
                {
                    if (await InsertAsync(c, tx, e, cancellationToken).ConfigureAwait(false) is not { } s)
                    {
                        await tx.RollbackAsync(cancellationToken).ConfigureAwait(false);
                        return new LedgerWriteResult(LedgerWriteStatus.DuplicateKey, [], state);
                    }
                    stored.Add(s);
                }
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new LedgerWriteResult(LedgerWriteStatus.Appended, stored, state);
            }
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<LedgerEntry>> GetEntriesAsync(LedgerQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
            return await ReadEntriesAsync(c, null, query, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<GrantBalance?> GetBalanceAsync(string grantCode, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default)
    {
        var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            var grant = await ReadGrantAsync(c, null, $"SELECT data FROM {TablePrefix}billing_grants WHERE code = @code", grantCode, cancellationToken).ConfigureAwait(false);
            return grant is null ? null : await BalanceAsync(c, null, grant, asOf, cancellationToken).ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------ helpers

    private async Task<bool> ChangedOneAsync(string sql, CancellationToken ct, params (string, object?, DbType)[] args)
    {
        var c = await OpenAsync(ct).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            using var cmd = Command(c, null, sql, args);
            return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
        }
    }

    private static async Task<Grant?> ReadGrantAsync(DbConnection c, DbTransaction? tx, string sql, string code, CancellationToken ct)
    {
        using var cmd = Command(c, tx, sql, ("@code", code, DbType.String));
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is string json ? BillingSerialization.Deserialize<Grant>(json) : null;
    }

    private async Task<GrantBalance> BalanceAsync(DbConnection c, DbTransaction? tx, Grant grant, DateTimeOffset? asOf, CancellationToken ct)
    {
        using var cmd = asOf is { } t
            ? Command(c, tx, $"SELECT kind, amount FROM {TablePrefix}billing_ledger WHERE grant_code = @grant AND at < @asof", ("@grant", grant.Code, DbType.String), ("@asof", TimeValue(t), TimeType))
            : Command(c, tx, $"SELECT kind, amount FROM {TablePrefix}billing_ledger WHERE grant_code = @grant", ("@grant", grant.Code, DbType.String));
        var entries = new List<LedgerEntry>();
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            entries.Add(new LedgerEntry { Kind = Enum.Parse<LedgerEntryKind>(r.GetString(0)), Amount = ReadDecimal(r, 1) });
        return GrantBalance.FromEntries(grant.Code, grant.Currency, grant.CreditLimit, entries);
    }

    private async Task<IReadOnlyList<LedgerEntry>> ReadEntriesAsync(DbConnection c, DbTransaction? tx, LedgerQuery query, CancellationToken ct)
    {
        var sql = $"SELECT {Columns} FROM {TablePrefix}billing_ledger WHERE 1 = 1";
        var args = new List<(string, object?, DbType)>();
        if (query.GrantCode is not null) { sql += " AND grant_code = @grant"; args.Add(("@grant", query.GrantCode, DbType.String)); }
        if (query.JobId is not null) { sql += " AND job_id = @job"; args.Add(("@job", query.JobId, DbType.String)); }
        if (query.From is { } from) { sql += " AND at >= @from"; args.Add(("@from", TimeValue(from), TimeType)); }
        if (query.To is { } to) { sql += " AND at < @to"; args.Add(("@to", TimeValue(to), TimeType)); }
        using var cmd = Command(c, tx, sql + " ORDER BY id", [.. args]);
        var list = new List<LedgerEntry>();
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new LedgerEntry
            {
                Id = r.GetInt64(0), GrantCode = r.GetString(1), Kind = Enum.Parse<LedgerEntryKind>(r.GetString(2)),
                Amount = ReadDecimal(r, 3), Currency = r.GetString(4), At = ReadTime(r, 5),
                JobId = Text(r, 6), User = Text(r, 7), Actor = Text(r, 8), Reason = Text(r, 9), Key = Text(r, 10),
                RefEntryId = r.IsDBNull(11) ? null : r.GetInt64(11), ExpiresAt = r.IsDBNull(12) ? null : ReadTime(r, 12),
                CarryOverFraction = ReadDecimal(r, 13),
                Details = r.IsDBNull(14) ? null : BillingSerialization.Deserialize<CostBreakdown>(r.GetString(14)),
                Flags = (LedgerEntryFlags)r.GetInt32(15),
            });
        }
        return list;
    }

    private static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private async Task<LedgerEntry?> InsertAsync(DbConnection c, DbTransaction tx, LedgerEntry e, CancellationToken ct)
    {
        using var cmd = Command(c, tx, $"""
            INSERT INTO {TablePrefix}billing_ledger (grant_code, kind, amount, currency, at, job_id, user_name, actor, reason, entry_key, ref_entry_id, expires_at, carry_over, details, flags)
            VALUES (@grant, @kind, @amount, @currency, @at, @job, @user, @actor, @reason, @key, @ref, @expires, @carry, @details, @flags)
            ON CONFLICT DO NOTHING RETURNING id
            """,
            ("@grant", e.GrantCode, DbType.String), ("@kind", e.Kind.ToString(), DbType.String), ("@amount", DecimalValue(e.Amount), DecimalType),
            ("@currency", e.Currency, DbType.String), ("@at", TimeValue(e.At), TimeType), ("@job", e.JobId, DbType.String), ("@user", e.User, DbType.String),
            ("@actor", e.Actor, DbType.String), ("@reason", e.Reason, DbType.String), ("@key", e.Key, DbType.String), ("@ref", e.RefEntryId, DbType.Int64),
            ("@expires", e.ExpiresAt is { } x ? TimeValue(x) : null, TimeType), ("@carry", DecimalValue(e.CarryOverFraction), DecimalType),
            ("@details", e.Details is null ? null : BillingSerialization.Serialize(e.Details), DbType.String), ("@flags", (int)e.Flags, DbType.Int32));
        object? id;
        try
        {
            id = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        }
        catch (DbException ex) when (IsForeignKeyViolation(ex))
        {
            throw new CompGridException($"Grant '{e.GrantCode}' was not found.", ex) { Code = CompGridErrorCodes.UnknownGrant, Operation = "append" };
        }
        return id is null or DBNull ? null : e with { Id = Convert.ToInt64(id, System.Globalization.CultureInfo.InvariantCulture) };
    }

    private static async Task ExecuteAsync(DbConnection c, DbTransaction tx, string sql, CancellationToken ct)
    {
        using var cmd = Command(c, tx, sql);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value, DbType Type)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
#pragma warning disable CA2100 // SQL text is built from constants and the validated table prefix; values are parameters.
        cmd.CommandText = sql;
#pragma warning restore CA2100
        foreach (var (name, value, type) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.DbType = type;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }
}
