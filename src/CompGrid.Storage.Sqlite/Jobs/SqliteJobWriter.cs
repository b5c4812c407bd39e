using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace CompGrid.Storage.Sqlite;

/// <summary>
/// The job store's single writer: one connection kept open with its statements prepared once, and a
/// <see cref="GroupCommit{TWrite}"/> that commits every write waiting at that moment in one <c>BEGIN IMMEDIATE</c>
/// transaction. Durability is the store's usual one (WAL, <c>synchronous=NORMAL</c>); what changes is that N
/// concurrent submissions share one commit. Other processes on the same file still serialise on SQLite's write lock.
/// </summary>
internal sealed class SqliteJobWriter : IDisposable
{
    /// <summary>At most this many writes share one transaction (keeps the write lock held briefly).</summary>
    internal const int MaxBatch = 512;

    /// <summary>WAL pages after which the writer itself checkpoints between two batches (SQLite's auto-checkpoint default is 1000).</summary>
    internal const int WalCheckpointPages = 16_384;

    /// <summary>WAL pages written after which a checkpoint starts beside the writer (<see cref="SqliteCheckpointer"/>).</summary>
    internal const int BackgroundCheckpointPages = 4_096;

    private readonly SqliteConnectionFactory _db;
    private readonly GroupCommit<JobWrite> _commit;
    private readonly SqliteCheckpointer _checkpointer;
    private SqliteConnection? _connection;
    private Statements? _sql;
    // WAL pages this writer wrote since its last own checkpoint, and at the last background one it started.
    private long _walPages, _walPagesAtBackground;
    private long _ownCheckpoints;

    public SqliteJobWriter(SqliteConnectionFactory db)
    {
        _db = db;
        _commit = new GroupCommit<JobWrite>(FlushAsync, MaxBatch);
        _checkpointer = new SqliteCheckpointer(db);
    }

    /// <summary>The transactions this writer ran.</summary>
    public long Batches => _commit.Batches;

    /// <summary>Checkpoints run beside the writer, and by the writer itself (tests).</summary>
    internal (long Background, long Own) Checkpoints => (_checkpointer.Started, Interlocked.Read(ref _ownCheckpoints));

    /// <summary>Waits for the background checkpoint, if one runs (tests).</summary>
    internal Task WhenCheckpointIdleAsync() => _checkpointer.WhenIdleAsync();

    /// <summary>Queues a write and returns once it is durable (or refused, or its batch failed).</summary>
    public Task<bool> WriteAsync(JobWrite write, CancellationToken cancellationToken) => _commit.WriteAsync(write, cancellationToken);

    /// <summary>Holds the writer so the next writes commit as one batch (tests).</summary>
    internal Task<IDisposable> PauseAsync() => _commit.PauseAsync();

    private async Task FlushAsync(IReadOnlyList<JobWrite> batch)
    {
        if (_connection is null)
        {
            _connection = await _db.OpenAsync().ConfigureAwait(false);
            using (var pragma = _connection.CreateCommand())
            {
                // No auto-checkpoint on the writer's commits: the checkpointer copies the WAL beside it, and the writer
                // checkpoints itself only every 64 MiB of WAL (CheckpointIfDue). Commits stay as durable.
                pragma.CommandText = "PRAGMA wal_autocheckpoint=0";
                pragma.ExecuteNonQuery();
            }
            _sql = new Statements(_connection);
        }
        var sql = _sql!;
        if (_walPages >= WalCheckpointPages) await CheckpointAsync(_connection).ConfigureAwait(false);
        using var tx = _connection.BeginTransaction(deferred: false);
        sql.Enlist(tx);
        try
        {
            foreach (var w in batch) Apply(sql, w);
            tx.Commit();
        }
        catch
        {
            // A failed batch may have left the connection mid-transaction or broken: start the next one afresh.
            try { tx.Rollback(); } catch (SqliteException) { } catch (InvalidOperationException) { }
            Reset();
            throw;
        }
        CountWalPages(_connection);
    }

    /// <summary>Adds the pages the last commit appended to the WAL, and starts a background checkpoint every <see cref="BackgroundCheckpointPages"/>.</summary>
    private void CountWalPages(SqliteConnection connection)
    {
        raw.sqlite3_db_status(connection.Handle, raw.SQLITE_DBSTATUS_CACHE_WRITE, out int written, out _, 1);
        _walPages += written;
        if (_walPages - _walPagesAtBackground < BackgroundCheckpointPages) return;
        _walPagesAtBackground = _walPages;
        _checkpointer.Start();
    }

    /// <summary>
    /// Between two batches, once the WAL holds <see cref="WalCheckpointPages"/>: a passive checkpoint on the writer's own
    /// connection (after the background one, which copied most of it), so the next transaction restarts the WAL from its
    /// start and the WAL stays near 64 MiB. One that fails or finds another checkpointer is tried again next batch.
    /// </summary>
    private async Task CheckpointAsync(SqliteConnection connection)
    {
        await _checkpointer.WhenIdleAsync().ConfigureAwait(false);
        try
        {
            if (SqliteCheckpointer.Passive(connection) != raw.SQLITE_OK) return;
        }
        catch (SqliteException)
        {
            return; // the checkpoint stored and lost nothing; the next batch tries again
        }
        _walPages = _walPagesAtBackground = 0;
        Interlocked.Increment(ref _ownCheckpoints);
    }

    private static void Apply(Statements sql, JobWrite w)
    {
        switch (w.Kind)
        {
            case JobWriteKind.Create:
                sql.InsertJob(w);
                return;
            case JobWriteKind.Update:
                Statements.BindJob(sql.UpdateJob, w.Job!, w.Json!);
                sql.UpdateJob.Int(10, w.ExpectedVersion);
                if (sql.UpdateJob.Execute() == 0)
                {
                    sql.Exists.Parameters["$id"].Value = w.Job!.Id;
                    if ((long)sql.Exists.ExecuteScalar()! == 0) w.SetRejected(new JobNotFoundException(w.Job.Id));
                    else w.SetOutcome(false);
                    return;
                }
                if (w.Transition is not null) sql.InsertTransition(w.Transition);
                sql.UpsertApproval(w.Job!);
                sql.InsertMessages(w.Messages, w.MessageJson);
                w.SetOutcome(true);
                return;
            case JobWriteKind.Usage:
                var u = w.Usage!;
                sql.InsertUsage.Parameters["$id"].Value = u.JobId;
                sql.InsertUsage.Parameters["$account"].Value = (object?)u.Account ?? DBNull.Value;
                sql.InsertUsage.Parameters["$owner"].Value = u.User;
                sql.InsertUsage.Parameters["$record"].Value = w.Json!;
                w.SetOutcome(sql.InsertUsage.ExecuteNonQuery() == 1);
                return;
            case JobWriteKind.Messages:
                sql.InsertMessages(w.Messages, w.MessageJson);
                w.SetOutcome(true);
                return;
            case JobWriteKind.FairShare:
                sql.FairShareCharge.Parameters["$id"].Value = w.ChargedJobId;
                if (sql.FairShareCharge.ExecuteNonQuery() == 0) { w.SetOutcome(false); return; }
                var f = w.FairShare!;
                var fp = sql.FairShareUsage.Parameters;
                fp["$account"].Value = f.Account;
                fp["$owner"].Value = f.User;
                fp["$usage"].Value = f.Usage;
                fp["$at"].Value = f.At.UtcTicks;
                fp["$half"].Value = w.HalfLifeSeconds;
                using (var r = sql.FairShareUsage.ExecuteReader())
                {
                    r.Read();
                    w.Charged = f with { Usage = r.GetDouble(0), At = new DateTimeOffset(r.GetInt64(1), TimeSpan.Zero), Charges = r.GetInt64(2) };
                }
                w.SetOutcome(true);
                return;
        }
    }

    private void Reset()
    {
        _sql?.Dispose();
        // The connection goes back to the pool: whoever opens it next gets SQLite's own auto-checkpoint again.
        if (_connection?.Handle is { } handle) raw.sqlite3_wal_autocheckpoint(handle, 1000);
        _connection?.Dispose();
        _sql = null;
        _connection = null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _checkpointer.Dispose();
        Reset();
        _commit.Dispose();
    }

    /// <summary>The writer's statements, prepared once on its connection; parameters are rebound per write.</summary>
    private sealed class Statements : IDisposable
    {
        // The statements every submission and transition runs, bound by position; the rest through SqliteCommand.
        public readonly RawStatement Insert, UpdateJob, Transition;
        public readonly SqliteCommand Exists, Approval, InsertUsage, Message, FairShareCharge, FairShareUsage;

        public Statements(SqliteConnection c)
        {
            // The decay of fair-share usage, 2^(-seconds / half-life), exactly as the ledger computes it in memory.
            c.CreateFunction("compgrid_decay", (double seconds, double halfLife) => Math.Pow(2, -seconds / halfLife), isDeterministic: true);
            // A single-row insert: measured against multi-row INSERT ... VALUES (...), (...) (with RETURNING for the
            // guards) the multi-row statement cost twice the writer time per job, so each job keeps its own step.
            Insert = new RawStatement(c, """
                INSERT INTO jobs (id, owner, account, state, backend, backend_job_id, submitted_at, version, record,
                                  created_from, created_to, created_on, created_reason, created_actor)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT (id) DO NOTHING
                """);
            UpdateJob = new RawStatement(c, """
                UPDATE jobs SET owner = ?2, account = ?3, state = ?4, backend = ?5, backend_job_id = ?6, submitted_at = ?7, version = ?8, record = ?9
                WHERE id = ?1 AND version = ?10
                """);
            Exists = Make(c, "SELECT COUNT(*) FROM jobs WHERE id = $id", "$id");
            Transition = new RawStatement(c, "INSERT INTO job_transitions (job_id, from_state, to_state, at, reason, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
            Approval = Make(c, """
                INSERT INTO job_approvals (job_id, approved, decided_by, decided_at, reason) VALUES ($job, $approved, $by, $at, $reason)
                ON CONFLICT (job_id) DO UPDATE SET approved = excluded.approved, decided_by = excluded.decided_by, decided_at = excluded.decided_at, reason = excluded.reason
                """, "$job", "$approved", "$by", "$at", "$reason");
            InsertUsage = Make(c, "INSERT OR IGNORE INTO usage_records (job_id, account, owner, record) VALUES ($id, $account, $owner, $record)",
                "$id", "$account", "$owner", "$record");
            Message = Make(c, $"""
                INSERT INTO notification_outbox ({SqliteJobStore.OutboxColumns})
                VALUES ($id, $job, $notifier, $state, $attempts, $created, $next, $delivered, $error, $notification)
                ON CONFLICT (id) DO NOTHING
                """, "$id", "$job", "$notifier", "$state", "$attempts", "$created", "$next", "$delivered", "$error", "$notification");
            FairShareCharge = Make(c, "INSERT INTO fairshare_charges (job_id) VALUES ($id) ON CONFLICT (job_id) DO NOTHING", "$id");
            // The stored usage decays to the later of the two times and the charge (decayed likewise) is added.
            FairShareUsage = Make(c, """
                INSERT INTO fairshare_usage (account, owner, usage, at, charges) VALUES ($account, $owner, $usage, $at, 1)
                ON CONFLICT (account, owner) DO UPDATE SET
                    usage = CASE WHEN excluded.at >= at THEN usage * compgrid_decay((excluded.at - at) / 1e7, $half) + excluded.usage
                                 ELSE usage + excluded.usage * compgrid_decay((at - excluded.at) / 1e7, $half) END,
                    at = max(at, excluded.at),
                    charges = charges + 1
                RETURNING usage, at, charges
                """, "$account", "$owner", "$usage", "$at", "$half");
        }

        private IEnumerable<SqliteCommand> All => [Exists, Approval, InsertUsage, Message, FairShareCharge, FairShareUsage];

        public void Enlist(SqliteTransaction tx)
        {
            foreach (var cmd in All) cmd.Transaction = tx;
        }

        /// <summary>
        /// A new job: its guard is the insert of its id (a taken id refuses this write only). The first transition goes
        /// in the job's own row (v4), so a submission writes one row and its indexes.
        /// </summary>
        public void InsertJob(JobWrite w)
        {
            var job = w.Job!;
            // A first transition naming another job keeps its own row (and that job's foreign key), as before v4.
            bool inRow = string.Equals(w.Transition!.JobId, job.Id, StringComparison.Ordinal);
            BindJob(Insert, job, w.Json!);
            BindCreated(Insert, inRow ? w.Transition : null);
            if (Insert.Execute() == 0)
            {
                w.SetRejected(new CompGridException($"Job '{job.Id}' already exists.") { JobId = job.Id, Operation = "create" });
                return;
            }
            if (!inRow) InsertTransition(w.Transition);
            UpsertApproval(job);
            w.SetOutcome(true);
        }

        /// <summary>Binds a job's columns to parameters 1..9 (the insert and the update alike).</summary>
        public static void BindJob(RawStatement cmd, JobRecord job, string json)
        {
            cmd.Text(1, job.Id);
            cmd.Text(2, job.Spec.Owner);
            cmd.Text(3, job.Spec.Account);
            cmd.Text(4, job.State.ToString());
            cmd.Text(5, job.Backend);
            cmd.Text(6, job.BackendJobId);
            cmd.Int(7, job.SubmittedAt.ToUnixTimeMilliseconds());
            cmd.Int(8, job.Version);
            cmd.Text(9, json);
        }

        /// <summary>Binds the job's first transition to parameters 10..14 of the insert (all NULL when it has its own row).</summary>
        private static void BindCreated(RawStatement cmd, JobTransition? t)
        {
            cmd.Text(10, t?.From?.ToString());
            cmd.Text(11, t?.To.ToString());
            cmd.Text(12, t?.At.ToString("O", CultureInfo.InvariantCulture));
            cmd.Text(13, t?.Reason);
            cmd.Text(14, t?.Actor);
        }

        public void InsertTransition(JobTransition t)
        {
            Transition.Text(1, t.JobId);
            Transition.Text(2, t.From?.ToString());
            Transition.Text(3, t.To.ToString());
            Transition.Text(4, t.At.ToString("O", CultureInfo.InvariantCulture));
            Transition.Text(5, t.Reason);
            Transition.Text(6, t.Actor);
            Transition.Execute();
        }

        public void UpsertApproval(JobRecord job)
        {
            if (job.Approval is not { } a) return;
            var p = Approval.Parameters;
            p["$job"].Value = job.Id;
            p["$approved"].Value = a.Approved ? 1 : 0;
            p["$by"].Value = a.By;
            p["$at"].Value = a.At.ToString("O", CultureInfo.InvariantCulture);
            p["$reason"].Value = (object?)a.Reason ?? DBNull.Value;
            Approval.ExecuteNonQuery();
        }

        public void InsertMessages(IReadOnlyList<OutboxMessage> messages, IReadOnlyList<string> json)
        {
            var p = Message.Parameters;
            for (int i = 0; i < messages.Count; i++)
            {
                var m = messages[i];
                p["$id"].Value = m.Id;
                p["$job"].Value = m.JobId;
                p["$notifier"].Value = m.Notifier;
                p["$state"].Value = m.State.ToString();
                p["$attempts"].Value = m.Attempts;
                p["$created"].Value = m.CreatedAt.UtcTicks;
                p["$next"].Value = m.NextAttemptAt.UtcTicks;
                p["$delivered"].Value = (object?)m.DeliveredAt?.UtcTicks ?? DBNull.Value;
                p["$error"].Value = (object?)m.LastError ?? DBNull.Value;
                p["$notification"].Value = json[i];
                Message.ExecuteNonQuery();
            }
        }

        private static SqliteCommand Make(SqliteConnection c, string text, params string[] parameters)
        {
            var cmd = c.CreateCommand();
            cmd.CommandText = text;
            foreach (string name in parameters) cmd.Parameters.Add(new SqliteParameter { ParameterName = name, Value = DBNull.Value });
            cmd.Prepare();
            return cmd;
        }

        public void Dispose()
        {
            Insert.Dispose();
            UpdateJob.Dispose();
            Transition.Dispose();
            foreach (var cmd in All) cmd.Dispose();
        }
    }
}
