using Microsoft.Data.Sqlite;

namespace CompGrid.Storage.Sqlite.Tests;

/// <summary>
/// The SQLite writer's storage choices: a job's first transition in its own row (schema v4, files from before v4 read
/// as before) and checkpoints beside the writer (the WAL stays bounded, every commit stays readable).
/// </summary>
[Trait("Category", "Storage")]
public sealed class SqliteJobWriterTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cg-writer-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<SqliteJobStore> _stores = [];

    private string DbPath => Path.Combine(_dir, "jobs.db");

    private SqliteJobStore Open()
    {
        var store = new SqliteJobStore(DbPath);
        _stores.Add(store);
        return store;
    }

    private static JobRecord Job(string id) => new()
    {
        Id = id, Spec = new JobSpec { Owner = "alice", Account = "phys", Payload = JobPayload.Command("true") }, State = JobState.Queued, Version = 1, SubmittedAt = T0,
    };

    private async Task<long> ScalarAsync(string sql)
    {
        using var c = await new SqliteConnectionFactory(DbPath).OpenAsync();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task CreateAsync_FirstTransition_IsKeptInTheJobRowAndReadBackFirst()
    {
        var store = Open();
        var job = Job("j1");
        await store.CreateAsync(job, new JobTransition { JobId = "j1", To = JobState.Queued, At = T0.AddTicks(1234567), Reason = "submitted", Actor = "alice" });
        Assert.True(await store.TryUpdateAsync(job with { State = JobState.Running, Version = 2 }, 1,
            new JobTransition { JobId = "j1", From = JobState.Queued, To = JobState.Running, At = T0.AddMinutes(1), Reason = "dispatched", Actor = "engine" }));

        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM job_transitions"));
        var history = await Open().GetHistoryAsync("j1");
        Assert.Equal(2, history.Count);
        Assert.Equal(new JobTransition { JobId = "j1", From = null, To = JobState.Queued, At = T0.AddTicks(1234567), Reason = "submitted", Actor = "alice" }, history[0]);
        Assert.Equal(new JobTransition { JobId = "j1", From = JobState.Queued, To = JobState.Running, At = T0.AddMinutes(1), Reason = "dispatched", Actor = "engine" }, history[1]);
    }

    [Fact]
    public async Task CreateAsync_FirstTransitionNamingAnotherJob_KeepsItsOwnRowUnderThatJob()
    {
        var store = Open();
        var a = Job("a");
        await store.CreateAsync(a, new JobTransition { JobId = "a", To = JobState.Queued, At = T0 });
        var b = Job("b");
        await store.CreateAsync(b, new JobTransition { JobId = "a", From = JobState.Queued, To = JobState.Cancelled, At = T0.AddSeconds(1) });

        Assert.Equal([JobState.Queued, JobState.Cancelled], (await store.GetHistoryAsync("a")).Select(t => t.To));
        Assert.Empty(await store.GetHistoryAsync("b"));
        Assert.NotNull(await store.GetAsync("b"));
    }

    [Fact]
    public async Task GetHistoryAsync_FileWrittenBeforeV4_ReadsTheOldFirstTransitionThenTheNewOnes()
    {
        // A v3 file: the first transition in job_transitions, no first-transition columns on the job.
        var factory = new SqliteConnectionFactory(DbPath);
        await SqliteMigrator.MigrateAsync(factory, "jobs", SqliteJobStore.Migrations[..3]);
        using (var c = await factory.OpenAsync())
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = $"""
                INSERT INTO jobs (id, owner, account, state, backend, backend_job_id, submitted_at, version, record)
                VALUES ('old', 'alice', 'phys', 'Queued', NULL, NULL, {T0.ToUnixTimeMilliseconds()}, 1, $record);
                INSERT INTO job_transitions (job_id, from_state, to_state, at, reason, actor) VALUES ('old', NULL, 'Queued', '{T0:O}', 'submitted', 'alice');
                """;
            cmd.Parameters.AddWithValue("$record", System.Text.Json.JsonSerializer.Serialize(Job("old"), CompGridJson.Options));
            await cmd.ExecuteNonQueryAsync();
        }

        var store = Open();
        await store.InitializeAsync();
        var old = (await store.GetAsync("old"))!;
        Assert.True(await store.TryUpdateAsync(old with { State = JobState.Running, Version = 2 }, 1,
            new JobTransition { JobId = "old", From = JobState.Queued, To = JobState.Running, At = T0.AddMinutes(1) }));

        var history = await store.GetHistoryAsync("old");
        Assert.Equal([JobState.Queued, JobState.Running], history.Select(t => t.To));
        Assert.Equal("submitted", history[0].Reason);
        Assert.Equal(4, await ScalarAsync("SELECT MAX(version) FROM schema_migrations WHERE component = 'jobs'"));
    }

    [Fact]
    public async Task Writes_PastTheCheckpointThreshold_CheckpointBesideTheWriterKeepTheWalBoundedAndLoseNothing()
    {
        var store = Open();
        await store.InitializeAsync();
        int jobs = 0;
        // One submitter: each job is its own transaction (about eight WAL pages), so this passes the threshold twice.
        while (store.WriterCheckpoints.Own < 2 && jobs < 50_000)
        {
            var job = Job("w" + jobs++);
            await store.CreateAsync(job, new JobTransition { JobId = job.Id, To = JobState.Queued, At = T0 });
        }
        await store.WhenCheckpointIdleAsync();

        Assert.True(store.WriterCheckpoints.Background >= 1, "the writer handed checkpoints to the checkpointer");
        // The writer's own checkpoint let the WAL restart: it never held much more than the threshold.
        long walBytes = new FileInfo(DbPath + "-wal").Length;
        Assert.InRange(walBytes, 1, (SqliteJobWriter.WalCheckpointPages + 1_000) * (4096L + 24));
        Assert.Equal(jobs, await ScalarAsync("SELECT COUNT(*) FROM jobs"));

        store.Dispose();
        SqliteConnection.ClearAllPools();
        var reopened = Open();
        Assert.Equal(jobs, await ScalarAsync("SELECT COUNT(*) FROM jobs"));
        Assert.NotNull(await reopened.GetAsync("w" + (jobs - 1)));
    }

    public void Dispose()
    {
        foreach (var s in _stores) s.Dispose();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
