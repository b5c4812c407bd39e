using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace CompGrid.Storage.PostgreSql;

/// <summary>
/// The job store on PostgreSQL: jobs (a JSON document plus indexed columns), transition history, usage records and
/// the notification outbox (in <c>PostgreSqlJobStore.Outbox.cs</c>). Updates use optimistic concurrency on
/// <see cref="JobRecord.Version"/>, so several instances can share the store. Writes are group-committed
/// (<c>PostgreSqlJobWriter</c>): concurrent submissions and transitions share a transaction, each call returning once
/// its write is durable.
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
        // v3: fair-share usage per association (decayed usage as of `at`, UTC ticks) and the jobs already charged
        """
        CREATE TABLE {schema}.fairshare_usage (
            account text NOT NULL,
            owner text NOT NULL,
            usage double precision NOT NULL,
            at bigint NOT NULL,
            charges bigint NOT NULL,
            PRIMARY KEY (account, owner)
        );
        CREATE TABLE {schema}.fairshare_charges (
            job_id text PRIMARY KEY
        );
        """,
    ];

    private readonly NpgsqlDataSource _db;
    private readonly string _s;
    private readonly PostgreSqlJobWriter _writer;
    private int _initialized;

    /// <summary>A store over <paramref name="dataSource"/> in <paramref name="schema"/> (created if missing).</summary>
    public PostgreSqlJobStore(NpgsqlDataSource dataSource, string schema = "compgrid")
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        new PostgreSqlStoreOptions { ConnectionString = "-", Schema = schema }.ThrowIfInvalid();
        _db = dataSource;
        _s = schema;
        _writer = new PostgreSqlJobWriter(dataSource, schema);
    }

    /// <inheritdoc/>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await PostgreSqlMigrator.MigrateAsync(_db, _s, "jobs", Migrations, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _initialized, 1);
    }

    /// <summary>The transactions the group-committing writer has run.</summary>
    internal long WriteBatches => _writer.Batches;

    /// <summary>Holds the writer so that the next writes commit as one batch when the result is disposed (tests).</summary>
    internal Task<IDisposable> PauseWritesAsync() => _writer.PauseAsync();

    private async ValueTask EnsureInitializedAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _initialized) == 0) await InitializeAsync(ct).ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        await EnsureInitializedAsync(ct).ConfigureAwait(false);
        return await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
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
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await _writer.WriteAsync(JobWrite.AddUsage(usage), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<UsageRecord?> GetUsageAsync(string jobId, CancellationToken cancellationToken = default)
    {
        using var c = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var cmd = new NpgsqlCommand($"SELECT record FROM {_s}.usage_records WHERE job_id = $1", c);
        cmd.Parameters.AddWithValue(jobId);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? Deserialize<UsageRecord>(json) : null;
    }

    private static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, CompGridJson.Options) ?? throw new CompGridException($"A stored {typeof(T).Name} could not be read.");
}
