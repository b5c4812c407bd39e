using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace CompGrid.Storage.PostgreSql;

/// <summary>
/// The job store on PostgreSQL: jobs (a JSON document plus indexed columns), transition history, usage records and
/// the notification outbox (in <c>PostgreSqlJobStore.Outbox.cs</c>). Updates use optimistic concurrency on
/// <see cref="JobRecord.Version"/>, so several instances can share the store.
/// </summary>
public sealed partial class PostgreSqlJobStore : IJobStore, INotificationOutbox
{
    internal static readonly string[] Migrations =
    [
        // v1
        """
        CREATE TABLE {schema}.jobs (
            id text PRIMARY KEY,
            owner text NOT NULL,
            account text NULL,
            state text NOT NULL,
            backend text NULL,
            backend_job_id text NULL,
            submitted_at timestamptz NOT NULL,
            version bigint NOT NULL,
            record text NOT NULL
        );
        CREATE INDEX ix_jobs_owner ON {schema}.jobs (owner, submitted_at);
        CREATE INDEX ix_jobs_state ON {schema}.jobs (state);
        CREATE INDEX ix_jobs_submitted ON {schema}.jobs (submitted_at);
        CREATE TABLE {schema}.job_transitions (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            job_id text NOT NULL REFERENCES {schema}.jobs (id),
            to_state text NOT NULL,
            record text NOT NULL
        );
        CREATE INDEX ix_job_transitions_job ON {schema}.job_transitions (job_id, seq);
        CREATE TABLE {schema}.usage_records (
            job_id text PRIMARY KEY,
            account text NULL,
            owner text NOT NULL,
            record text NOT NULL
        );
        """,
        // v2: the notification outbox
        """
        CREATE TABLE {schema}.notification_outbox (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            job_id text NOT NULL,
            notifier text NOT NULL,
            state text NOT NULL,
            attempts integer NOT NULL,
            created_at timestamptz NOT NULL,
            next_attempt_at timestamptz NOT NULL,
            delivered_at timestamptz NULL,
            last_error text NULL,
            notification text NOT NULL
        );
        CREATE INDEX ix_notification_outbox_due ON {schema}.notification_outbox (state, next_attempt_at, seq);
        """,
    ];

    private readonly NpgsqlDataSource _db;
    private readonly string _s;
    private int _initialized;

    /// <summary>A store over <paramref name="dataSource"/> in <paramref name="schema"/> (created if missing).</summary>
    public PostgreSqlJobStore(NpgsqlDataSource dataSource, string schema = "compgrid")
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        new PostgreSqlStoreOptions { ConnectionString = "-", Schema = schema }.ThrowIfInvalid();
        _db = dataSource;
        _s = schema;
    }

    /// <inheritdoc/>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await PostgreSqlMigrator.MigrateAsync(_db, _s, "jobs", Migrations, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _initialized, 1);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _initialized) == 0) await InitializeAsync(ct).ConfigureAwait(false);
        return await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task CreateAsync(JobRecord job, JobTransition transition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(transition);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using (var cmd = new NpgsqlCommand($"""
            INSERT INTO {_s}.jobs (id, owner, account, state, backend, backend_job_id, submitted_at, version, record)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING
            """, c, tx))
        {
            BindJob(cmd, job);
            if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                throw new CompGridException($"Job '{job.Id}' already exists.") { JobId = job.Id, Operation = "create" };
        }
        await InsertTransitionAsync(c, tx, transition, cancellationToken).ConfigureAwait(false);
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
        using var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using (var cmd = new NpgsqlCommand($"""
            UPDATE {_s}.jobs SET owner = $2, account = $3, state = $4, backend = $5, backend_job_id = $6, submitted_at = $7, version = $8, record = $9
            WHERE id = $1 AND version = $10
            """, c, tx))
        {
            BindJob(cmd, job);
            cmd.Parameters.AddWithValue(expectedVersion);
            if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                using var exists = new NpgsqlCommand($"SELECT 1 FROM {_s}.jobs WHERE id = $1", c, tx);
                exists.Parameters.AddWithValue(job.Id);
                if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null) throw new JobNotFoundException(job.Id);
                return false;
            }
        }
        if (transition is not null) await InsertTransitionAsync(c, tx, transition, cancellationToken).ConfigureAwait(false);
        await InsertMessagesAsync(c, tx, messages, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public async Task<JobRecord?> GetAsync(string jobId, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand($"SELECT record FROM {_s}.jobs WHERE id = $1", c);
        cmd.Parameters.AddWithValue(jobId);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? Deserialize<JobRecord>(json) : null;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<JobRecord> QueryAsync(JobQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand { Connection = c };
        var sql = new StringBuilder($"SELECT record FROM {_s}.jobs WHERE TRUE");
        void Arg(string clause, object value, NpgsqlDbType type)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
            sql.Append(" AND ").Append(clause.Replace("$?", "$" + cmd.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }
        if (query.Owner is not null) Arg("owner = $?", query.Owner, NpgsqlDbType.Text);
        if (query.Account is not null) Arg("account = $?", query.Account, NpgsqlDbType.Text);
        if (query.Backend is not null) Arg("backend = $?", query.Backend, NpgsqlDbType.Text);
        if (query.SubmittedAfter is { } after) Arg("submitted_at >= $?", after.ToUniversalTime(), NpgsqlDbType.TimestampTz);
        if (query.SubmittedBefore is { } before) Arg("submitted_at < $?", before.ToUniversalTime(), NpgsqlDbType.TimestampTz);
        if (query.States.Count > 0) Arg("state = ANY($?)", query.States.Select(s => s.ToString()).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (long)query.Limit, NpgsqlDbType = NpgsqlDbType.Bigint });
        sql.Append(" ORDER BY submitted_at DESC, id DESC LIMIT $").Append(cmd.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        cmd.CommandText = sql.ToString();
        using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return Deserialize<JobRecord>(reader.GetString(0));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<JobTransition>> GetHistoryAsync(string jobId, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand($"SELECT record FROM {_s}.job_transitions WHERE job_id = $1 ORDER BY seq", c);
        cmd.Parameters.AddWithValue(jobId);
        var list = new List<JobTransition>();
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(Deserialize<JobTransition>(r.GetString(0)));
        return list;
    }

    /// <inheritdoc/>
    public async Task<bool> TryAddUsageAsync(UsageRecord usage, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(usage);
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand($"INSERT INTO {_s}.usage_records (job_id, account, owner, record) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", c);
        cmd.Parameters.AddWithValue(usage.JobId);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)usage.Account ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.AddWithValue(usage.User);
        cmd.Parameters.AddWithValue(JsonSerializer.Serialize(usage, CompGridJson.Options));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<UsageRecord?> GetUsageAsync(string jobId, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand($"SELECT record FROM {_s}.usage_records WHERE job_id = $1", c);
        cmd.Parameters.AddWithValue(jobId);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? Deserialize<UsageRecord>(json) : null;
    }

    private static void BindJob(NpgsqlCommand cmd, JobRecord job)
    {
        cmd.Parameters.AddWithValue(job.Id);
        cmd.Parameters.AddWithValue(job.Spec.Owner);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)job.Spec.Account ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.AddWithValue(job.State.ToString());
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)job.Backend ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)job.BackendJobId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.AddWithValue(job.SubmittedAt.ToUniversalTime());
        cmd.Parameters.AddWithValue(job.Version);
        cmd.Parameters.AddWithValue(JsonSerializer.Serialize(job, CompGridJson.Options));
    }

    private async Task InsertTransitionAsync(NpgsqlConnection c, NpgsqlTransaction tx, JobTransition t, CancellationToken ct)
    {
        using var cmd = new NpgsqlCommand($"INSERT INTO {_s}.job_transitions (job_id, to_state, record) VALUES ($1, $2, $3)", c, tx);
        cmd.Parameters.AddWithValue(t.JobId);
        cmd.Parameters.AddWithValue(t.To.ToString());
        cmd.Parameters.AddWithValue(JsonSerializer.Serialize(t, CompGridJson.Options));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, CompGridJson.Options) ?? throw new CompGridException($"A stored {typeof(T).Name} could not be read.");
}
