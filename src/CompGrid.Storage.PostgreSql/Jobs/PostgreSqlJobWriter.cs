using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace CompGrid.Storage.PostgreSql;

/// <summary>
/// The job store's single writer per store instance: a <see cref="GroupCommit{TWrite}"/> that commits every write
/// waiting at that moment in one transaction on one pooled connection, so concurrent submissions and transitions
/// share a commit (and its WAL flush) instead of paying one each. Several instances on one database each have their
/// own writer; PostgreSQL's row locks and the version guard keep them correct.
/// </summary>
internal sealed class PostgreSqlJobWriter(NpgsqlDataSource db, string schema)
{
    /// <summary>At most this many writes share one transaction.</summary>
    internal const int MaxBatch = 512;

    private readonly GroupCommit<JobWrite> _commit = new(batch => FlushAsync(db, schema, batch), MaxBatch);

    /// <summary>The transactions this writer ran.</summary>
    public long Batches => _commit.Batches;

    /// <summary>Queues a write and returns once it is durable (or refused, or its batch failed).</summary>
    public Task<bool> WriteAsync(JobWrite write, CancellationToken cancellationToken) => _commit.WriteAsync(write, cancellationToken);

    /// <summary>Holds the writer so the next writes commit as one batch (tests).</summary>
    internal Task<IDisposable> PauseAsync() => _commit.PauseAsync();

    private static async Task FlushAsync(NpgsqlDataSource db, string s, IReadOnlyList<JobWrite> batch)
    {
        // The transaction is not tied to any one caller's token: it holds other callers' writes too.
        using var c = await db.OpenConnectionAsync().ConfigureAwait(false);
        using var tx = await c.BeginTransactionAsync().ConfigureAwait(false);
        foreach (var w in batch) await ApplyAsync(c, tx, s, w).ConfigureAwait(false);
        await tx.CommitAsync().ConfigureAwait(false);
    }

    private static async Task ApplyAsync(NpgsqlConnection c, NpgsqlTransaction tx, string s, JobWrite w)
    {
        switch (w.Kind)
        {
            case JobWriteKind.Create:
                using (var cmd = new NpgsqlCommand($"""
                    INSERT INTO {s}.jobs (id, owner, account, state, backend, backend_job_id, submitted_at, version, record)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING
                    """, c, tx))
                {
                    BindJob(cmd, w.Job!, w.Json!);
                    if (await cmd.ExecuteNonQueryAsync().ConfigureAwait(false) == 0)
                    {
                        w.SetRejected(new CompGridException($"Job '{w.Job!.Id}' already exists.") { JobId = w.Job.Id, Operation = "create" });
                        return;
                    }
                }
                await InsertRestAsync(c, tx, s, w).ConfigureAwait(false);
                w.SetOutcome(true);
                return;
            case JobWriteKind.Update:
                using (var cmd = new NpgsqlCommand($"""
                    UPDATE {s}.jobs SET owner = $2, account = $3, state = $4, backend = $5, backend_job_id = $6, submitted_at = $7, version = $8, record = $9
                    WHERE id = $1 AND version = $10
                    """, c, tx))
                {
                    BindJob(cmd, w.Job!, w.Json!);
                    cmd.Parameters.AddWithValue(w.ExpectedVersion);
                    if (await cmd.ExecuteNonQueryAsync().ConfigureAwait(false) == 0)
                    {
                        using var exists = new NpgsqlCommand($"SELECT 1 FROM {s}.jobs WHERE id = $1", c, tx);
                        exists.Parameters.AddWithValue(w.Job!.Id);
                        if (await exists.ExecuteScalarAsync().ConfigureAwait(false) is null) w.SetRejected(new JobNotFoundException(w.Job.Id));
                        else w.SetOutcome(false);
                        return;
                    }
                }
                await InsertRestAsync(c, tx, s, w).ConfigureAwait(false);
                w.SetOutcome(true);
                return;
            case JobWriteKind.Usage:
                using (var cmd = new NpgsqlCommand($"INSERT INTO {s}.usage_records (job_id, account, owner, record) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", c, tx))
                {
                    cmd.Parameters.AddWithValue(w.Usage!.JobId);
                    cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)w.Usage.Account ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                    cmd.Parameters.AddWithValue(w.Usage.User);
                    cmd.Parameters.AddWithValue(w.Json!);
                    w.SetOutcome(await cmd.ExecuteNonQueryAsync().ConfigureAwait(false) == 1);
                }
                return;
            case JobWriteKind.Messages:
                await InsertRestAsync(c, tx, s, w).ConfigureAwait(false);
                w.SetOutcome(true);
                return;
            case JobWriteKind.FairShare:
                using (var cmd = new NpgsqlCommand($"INSERT INTO {s}.fairshare_charges (job_id) VALUES ($1) ON CONFLICT DO NOTHING", c, tx))
                {
                    cmd.Parameters.AddWithValue(w.ChargedJobId!);
                    if (await cmd.ExecuteNonQueryAsync().ConfigureAwait(false) == 0) { w.SetOutcome(false); return; }
                }
                // The stored usage decays to the later of the two times and the charge (decayed likewise) is added; one
                // statement, so instances charging the same association at once serialise on its row.
                using (var cmd = new NpgsqlCommand($"""
                    INSERT INTO {s}.fairshare_usage AS u (account, owner, usage, at, charges) VALUES ($1, $2, $3, $4, 1)
                    ON CONFLICT (account, owner) DO UPDATE SET
                        usage = CASE WHEN excluded.at >= u.at THEN u.usage * power(2.0::float8, -((excluded.at - u.at)::float8 / 1e7) / $5) + excluded.usage
                                     ELSE u.usage + excluded.usage * power(2.0::float8, -((u.at - excluded.at)::float8 / 1e7) / $5) END,
                        at = GREATEST(u.at, excluded.at),
                        charges = u.charges + 1
                    RETURNING usage, at, charges
                    """, c, tx))
                {
                    var f = w.FairShare!;
                    cmd.Parameters.AddWithValue(f.Account);
                    cmd.Parameters.AddWithValue(f.User);
                    cmd.Parameters.AddWithValue(f.Usage);
                    cmd.Parameters.AddWithValue(f.At.UtcTicks);
                    cmd.Parameters.AddWithValue(w.HalfLifeSeconds);
                    using var r = await cmd.ExecuteReaderAsync().ConfigureAwait(false);
                    await r.ReadAsync().ConfigureAwait(false);
                    w.Charged = f with { Usage = r.GetDouble(0), At = new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero), Charges = r.GetInt64(2) };
                }
                w.SetOutcome(true);
                return;
        }
    }

    // What follows a write's guard (its transition and outbox messages) goes in one round trip.
    private static async Task InsertRestAsync(NpgsqlConnection c, NpgsqlTransaction tx, string s, JobWrite w)
    {
        using var batch = new NpgsqlBatch(c, tx);
        if (w.Transition is { } t)
        {
            var cmd = new NpgsqlBatchCommand($"INSERT INTO {s}.job_transitions (job_id, to_state, record) VALUES ($1, $2, $3)");
            cmd.Parameters.AddWithValue(t.JobId);
            cmd.Parameters.AddWithValue(t.To.ToString());
            cmd.Parameters.AddWithValue(JsonSerializer.Serialize(t, CompGridJson.Options));
            batch.BatchCommands.Add(cmd);
        }
        for (int i = 0; i < w.Messages.Count; i++)
        {
            var m = w.Messages[i];
            var cmd = new NpgsqlBatchCommand($"""
                INSERT INTO {s}.notification_outbox ({PostgreSqlJobStore.OutboxColumns})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING
                """);
            cmd.Parameters.AddWithValue(m.Id);
            cmd.Parameters.AddWithValue(m.JobId);
            cmd.Parameters.AddWithValue(m.Notifier);
            cmd.Parameters.AddWithValue(m.State.ToString());
            cmd.Parameters.AddWithValue(m.Attempts);
            cmd.Parameters.AddWithValue(m.CreatedAt.ToUniversalTime());
            cmd.Parameters.AddWithValue(m.NextAttemptAt.ToUniversalTime());
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)m.DeliveredAt?.ToUniversalTime() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)m.LastError ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.AddWithValue(w.MessageJson[i]);
            batch.BatchCommands.Add(cmd);
        }
        if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private static void BindJob(NpgsqlCommand cmd, JobRecord job, string json)
    {
        cmd.Parameters.AddWithValue(job.Id);
        cmd.Parameters.AddWithValue(job.Spec.Owner);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)job.Spec.Account ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.AddWithValue(job.State.ToString());
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)job.Backend ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)job.BackendJobId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.AddWithValue(job.SubmittedAt.ToUniversalTime());
        cmd.Parameters.AddWithValue(job.Version);
        cmd.Parameters.AddWithValue(json);
    }
}
