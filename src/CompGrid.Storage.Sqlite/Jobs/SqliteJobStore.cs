using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace CompGrid.Storage.Sqlite;

/// <summary>
/// The durable job store on SQLite: jobs (JSON document plus indexed columns), transition history, approval decisions
/// usage records and the notification outbox (in <c>SqliteJobStore.Outbox.cs</c>). Updates use optimistic concurrency
/// on <see cref="JobRecord.Version"/>. Writes are group-committed by one writer per store (<c>SqliteJobWriter</c>):
/// concurrent submissions and transitions share a transaction, and each call returns once its write is durable.
/// </summary>
public sealed partial class SqliteJobStore : IJobStore, INotificationOutbox, IDisposable
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
        // v3: fair-share usage per association (decayed usage as of `at`, UTC ticks) and the jobs already charged
        """
        CREATE TABLE fairshare_usage (
            account TEXT NOT NULL,
            owner TEXT NOT NULL,
            usage REAL NOT NULL,
            at INTEGER NOT NULL,
            charges INTEGER NOT NULL,
            PRIMARY KEY (account, owner)
        );
        CREATE TABLE fairshare_charges (
            job_id TEXT PRIMARY KEY
        );
        """,
        // v4: a job's first transition kept in its own row (written by the job's insert; history reads it before
        // job_transitions), so a submission writes one row and its indexes instead of two rows, an index and the
        // AUTOINCREMENT counter. Rows stored before v4 have NULL here and their first transition in job_transitions.
        """
        ALTER TABLE jobs ADD COLUMN created_from TEXT NULL;
        ALTER TABLE jobs ADD COLUMN created_to TEXT NULL;
        ALTER TABLE jobs ADD COLUMN created_on TEXT NULL;
        ALTER TABLE jobs ADD COLUMN created_reason TEXT NULL;
        ALTER TABLE jobs ADD COLUMN created_actor TEXT NULL;
        """,
    ];

    private readonly SqliteConnectionFactory _db;
    private readonly SqliteJobWriter _writer;
    private int _initialized;

    /// <summary>A store in the SQLite file at <paramref name="path"/> (created if missing).</summary>
    public SqliteJobStore(string path) : this(new SqliteConnectionFactory(path)) { }

    /// <summary>A store on an existing connection factory (to share one file with other stores).</summary>
    public SqliteJobStore(SqliteConnectionFactory factory)
    {
        _db = factory ?? throw new ArgumentNullException(nameof(factory));
        _writer = new SqliteJobWriter(_db);
    }

    /// <summary>The database file.</summary>
    public string DatabasePath => _db.DatabasePath;

    /// <inheritdoc/>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await SqliteMigrator.MigrateAsync(_db, "jobs", Migrations, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _initialized, 1);
    }

    /// <summary>The transactions the group-committing writer has run (each holds every write waiting at that moment).</summary>
    internal long WriteBatches => _writer.Batches;

    /// <summary>Checkpoints run beside the writer and by the writer itself (tests).</summary>
    internal (long Background, long Own) WriterCheckpoints => _writer.Checkpoints;

    /// <summary>Waits for the checkpoint running beside the writer, if any (tests).</summary>
    internal Task WhenCheckpointIdleAsync() => _writer.WhenCheckpointIdleAsync();

    /// <summary>Holds the writer so that the next writes commit as one batch when the result is disposed (tests).</summary>
    internal Task<IDisposable> PauseWritesAsync() => _writer.PauseAsync();

    /// <summary>Closes the writer's connection.</summary>
    public void Dispose() => _writer.Dispose();

    private async ValueTask EnsureInitializedAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _initialized) == 0) await InitializeAsync(ct).ConfigureAwait(false);
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        await EnsureInitializedAsync(ct).ConfigureAwait(false);
        return await _db.OpenAsync(ct).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    /// <remarks>Group-committed: concurrent calls share one transaction; each returns once its job is durable.</remarks>
    public async Task CreateAsync(JobRecord job, JobTransition transition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(transition);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await _writer.WriteAsync(JobWrite.Create(job, transition), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task<bool> TryUpdateAsync(JobRecord job, long expectedVersion, JobTransition? transition, CancellationToken cancellationToken = default) =>
        TryUpdateWithMessagesAsync(job, expectedVersion, transition, [], cancellationToken);

    /// <inheritdoc/>
    /// <remarks>Group-committed like <see cref="CreateAsync"/>.</remarks>
    public async Task<bool> TryUpdateWithMessagesAsync(JobRecord job, long expectedVersion, JobTransition? transition, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(messages);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await _writer.WriteAsync(JobWrite.Update(job, expectedVersion, transition, messages), cancellationToken).ConfigureAwait(false);
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
        // The first transition from the job's row (v4 on), then the later ones in order (seq starts at 1).
        cmd.CommandText = """
            SELECT created_from, created_to, created_on, created_reason, created_actor, 0 AS k FROM jobs WHERE id = $id AND created_to IS NOT NULL
            UNION ALL
            SELECT from_state, to_state, at, reason, actor, seq FROM job_transitions WHERE job_id = $id
            ORDER BY k
            """;
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
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await _writer.WriteAsync(JobWrite.AddUsage(usage), cancellationToken).ConfigureAwait(false);
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

    private static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, CompGridJson.Options) ?? throw new CompGridException($"A stored {typeof(T).Name} could not be read.");
}
