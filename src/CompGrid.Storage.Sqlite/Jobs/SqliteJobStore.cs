using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace CompGrid.Storage.Sqlite;

/// <summary>
/// The durable job store on SQLite: jobs (JSON document plus indexed columns), transition history, approval decisions
/// usage records and the notification outbox (in <c>SqliteJobStore.Outbox.cs</c>). Updates use optimistic concurrency
/// on <see cref="JobRecord.Version"/>.
/// </summary>
public sealed partial class SqliteJobStore : IJobStore, INotificationOutbox
{
    /// <summary>The schema, one migration per version (append, never edit).</summary>
    internal static readonly string[] Migrations =
    [
        // v1
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            account TEXT NULL,
            state TEXT NOT NULL,
            backend TEXT NULL,
            backend_job_id TEXT NULL,
            submitted_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            record TEXT NOT NULL
        );
        CREATE INDEX ix_jobs_owner ON jobs (owner, submitted_at);
        CREATE INDEX ix_jobs_state ON jobs (state);
        CREATE INDEX ix_jobs_submitted ON jobs (submitted_at);
        CREATE TABLE job_transitions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id TEXT NOT NULL REFERENCES jobs (id),
            from_state TEXT NULL,
            to_state TEXT NOT NULL,
            at TEXT NOT NULL,
            reason TEXT NULL,
            actor TEXT NULL
        );
        CREATE INDEX ix_job_transitions_job ON job_transitions (job_id, seq);
        CREATE TABLE job_approvals (
            job_id TEXT PRIMARY KEY REFERENCES jobs (id),
            approved INTEGER NOT NULL,
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            reason TEXT NULL
        );
        CREATE TABLE usage_records (
            job_id TEXT PRIMARY KEY,
            account TEXT NULL,
            owner TEXT NOT NULL,
            record TEXT NOT NULL
        );
        """,
        // v2: the notification outbox (times as UTC ticks, so ordering and comparison are exact)
        """
        CREATE TABLE notification_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            job_id TEXT NOT NULL,
            notifier TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            delivered_at INTEGER NULL,
            last_error TEXT NULL,
            notification TEXT NOT NULL
        );
        CREATE INDEX ix_notification_outbox_due ON notification_outbox (state, next_attempt_at, seq);
        """,
    ];

    private readonly SqliteConnectionFactory _db;
    private int _initialized;

    /// <summary>A store in the SQLite file at <paramref name="path"/> (created if missing).</summary>
    public SqliteJobStore(string path) : this(new SqliteConnectionFactory(path)) { }

    /// <summary>A store on an existing connection factory (to share one file with other stores).</summary>
    public SqliteJobStore(SqliteConnectionFactory factory) => _db = factory ?? throw new ArgumentNullException(nameof(factory));

    /// <summary>The database file.</summary>
    public string DatabasePath => _db.DatabasePath;

    /// <inheritdoc/>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await SqliteMigrator.MigrateAsync(_db, "jobs", Migrations, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _initialized, 1);
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _initialized) == 0) await InitializeAsync(ct).ConfigureAwait(false);
        return await _db.OpenAsync(ct).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task CreateAsync(JobRecord job, JobTransition transition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(transition);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var tx = await SqliteConnectionFactory.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        using (var cmd = c.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO jobs (id, owner, account, state, backend, backend_job_id, submitted_at, version, record)
                VALUES ($id, $owner, $account, $state, $backend, $bjid, $submitted, $version, $record)
                """;
            BindJob(cmd, job);
            try { await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false); }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
            {
                throw new CompGridException($"Job '{job.Id}' already exists.", ex) { JobId = job.Id, Operation = "create" };
            }
        }
        await InsertTransitionAsync(c, tx, transition, cancellationToken).ConfigureAwait(false);
        await UpsertApprovalAsync(c, tx, job, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task<bool> TryUpdateAsync(JobRecord job, long expectedVersion, JobTransition? transition, CancellationToken cancellationToken = default) =>
        TryUpdateWithMessagesAsync(job, expectedVersion, transition, [], cancellationToken);

    /// <inheritdoc/>
    public async Task<bool> TryUpdateWithMessagesAsync(JobRecord job, long expectedVersion, JobTransition? transition, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(messages);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var tx = await SqliteConnectionFactory.BeginWriteAsync(c, cancellationToken).ConfigureAwait(false);
        using (var cmd = c.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = """
                UPDATE jobs SET owner = $owner, account = $account, state = $state, backend = $backend, backend_job_id = $bjid,
                    submitted_at = $submitted, version = $version, record = $record
                WHERE id = $id AND version = $expected
                """;
            BindJob(cmd, job);
            cmd.Parameters.AddWithValue("$expected", expectedVersion);
            int n = await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                using var exists = c.CreateCommand();
                exists.Transaction = tx;
                exists.CommandText = "SELECT COUNT(*) FROM jobs WHERE id = $id";
                exists.Parameters.AddWithValue("$id", job.Id);
                if ((long)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! == 0) throw new JobNotFoundException(job.Id);
                return false;
            }
        }
        if (transition is not null) await InsertTransitionAsync(c, tx, transition, cancellationToken).ConfigureAwait(false);
        await UpsertApprovalAsync(c, tx, job, cancellationToken).ConfigureAwait(false);
        await InsertMessagesAsync(c, tx, messages, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public async Task<JobRecord?> GetAsync(string jobId, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT record FROM jobs WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", jobId);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? Deserialize<JobRecord>(json) : null;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<JobRecord> QueryAsync(JobQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        var sql = new StringBuilder("SELECT record FROM jobs WHERE 1 = 1");
        if (query.Owner is not null) { sql.Append(" AND owner = $owner"); cmd.Parameters.AddWithValue("$owner", query.Owner); }
        if (query.Account is not null) { sql.Append(" AND account = $account"); cmd.Parameters.AddWithValue("$account", query.Account); }
        if (query.Backend is not null) { sql.Append(" AND backend = $backend"); cmd.Parameters.AddWithValue("$backend", query.Backend); }
        if (query.SubmittedAfter is { } after) { sql.Append(" AND submitted_at >= $after"); cmd.Parameters.AddWithValue("$after", after.ToUnixTimeMilliseconds()); }
        if (query.SubmittedBefore is { } before) { sql.Append(" AND submitted_at < $before"); cmd.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds()); }
        if (query.States.Count > 0)
        {
            sql.Append(" AND state IN (");
            for (int i = 0; i < query.States.Count; i++)
            {
                sql.Append(i == 0 ? "" : ", ").Append("$s").Append(i.ToString(CultureInfo.InvariantCulture));
                cmd.Parameters.AddWithValue("$s" + i.ToString(CultureInfo.InvariantCulture), query.States[i].ToString());
            }
            sql.Append(')');
        }
        sql.Append(" ORDER BY submitted_at DESC, id DESC LIMIT $limit");
        cmd.Parameters.AddWithValue("$limit", query.Limit);
        cmd.CommandText = sql.ToString();
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return Deserialize<JobRecord>(reader.GetString(0));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<JobTransition>> GetHistoryAsync(string jobId, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT from_state, to_state, at, reason, actor FROM job_transitions WHERE job_id = $id ORDER BY seq";
        cmd.Parameters.AddWithValue("$id", jobId);
        var list = new List<JobTransition>();
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new JobTransition
            {
                JobId = jobId,
                From = r.IsDBNull(0) ? null : Enum.Parse<JobState>(r.GetString(0)),
                To = Enum.Parse<JobState>(r.GetString(1)),
                At = DateTimeOffset.Parse(r.GetString(2), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                Reason = r.IsDBNull(3) ? null : r.GetString(3),
                Actor = r.IsDBNull(4) ? null : r.GetString(4),
            });
        }
        return list;
    }

    /// <inheritdoc/>
    public async Task<bool> TryAddUsageAsync(UsageRecord usage, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(usage);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT OR IGNORE INTO usage_records (job_id, account, owner, record) VALUES ($id, $account, $owner, $record)";
        cmd.Parameters.AddWithValue("$id", usage.JobId);
        cmd.Parameters.AddWithValue("$account", (object?)usage.Account ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$owner", usage.User);
        cmd.Parameters.AddWithValue("$record", JsonSerializer.Serialize(usage, CompGridJson.Options));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<UsageRecord?> GetUsageAsync(string jobId, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT record FROM usage_records WHERE job_id = $id";
        cmd.Parameters.AddWithValue("$id", jobId);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? Deserialize<UsageRecord>(json) : null;
    }

    private static void BindJob(SqliteCommand cmd, JobRecord job)
    {
        cmd.Parameters.AddWithValue("$id", job.Id);
        cmd.Parameters.AddWithValue("$owner", job.Spec.Owner);
        cmd.Parameters.AddWithValue("$account", (object?)job.Spec.Account ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$state", job.State.ToString());
        cmd.Parameters.AddWithValue("$backend", (object?)job.Backend ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$bjid", (object?)job.BackendJobId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$submitted", job.SubmittedAt.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$version", job.Version);
        cmd.Parameters.AddWithValue("$record", JsonSerializer.Serialize(job, CompGridJson.Options));
    }

    private static async Task InsertTransitionAsync(SqliteConnection c, SqliteTransaction tx, JobTransition t, CancellationToken ct)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO job_transitions (job_id, from_state, to_state, at, reason, actor) VALUES ($job, $from, $to, $at, $reason, $actor)";
        cmd.Parameters.AddWithValue("$job", t.JobId);
        cmd.Parameters.AddWithValue("$from", (object?)t.From?.ToString() ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$to", t.To.ToString());
        cmd.Parameters.AddWithValue("$at", t.At.ToString("O", CultureInfo.InvariantCulture));
        cmd.Parameters.AddWithValue("$reason", (object?)t.Reason ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$actor", (object?)t.Actor ?? DBNull.Value);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task UpsertApprovalAsync(SqliteConnection c, SqliteTransaction tx, JobRecord job, CancellationToken ct)
    {
        if (job.Approval is not { } a) return;
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO job_approvals (job_id, approved, decided_by, decided_at, reason) VALUES ($job, $approved, $by, $at, $reason)
            ON CONFLICT (job_id) DO UPDATE SET approved = excluded.approved, decided_by = excluded.decided_by, decided_at = excluded.decided_at, reason = excluded.reason
            """;
        cmd.Parameters.AddWithValue("$job", job.Id);
        cmd.Parameters.AddWithValue("$approved", a.Approved ? 1 : 0);
        cmd.Parameters.AddWithValue("$by", a.By);
        cmd.Parameters.AddWithValue("$at", a.At.ToString("O", CultureInfo.InvariantCulture));
        cmd.Parameters.AddWithValue("$reason", (object?)a.Reason ?? DBNull.Value);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, CompGridJson.Options) ?? throw new CompGridException($"A stored {typeof(T).Name} could not be read.");
}
