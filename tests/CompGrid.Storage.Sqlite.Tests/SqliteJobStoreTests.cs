using CompGrid.Testing;
using Microsoft.Data.Sqlite;

namespace CompGrid.Storage.Sqlite.Tests;

[Trait("Category", "Storage")]
public sealed class SqliteJobStoreConformanceTests : JobStoreConformanceTests, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cg-sqlite-" + Guid.NewGuid().ToString("N")[..8]);

    protected override async Task<IJobStore> CreateStoreAsync()
    {
        var store = new SqliteJobStore(Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".db"));
        await store.InitializeAsync();
        return store;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}

[Trait("Category", "Storage")]
public sealed class SqliteJobStoreTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "cg-sqlite-" + Guid.NewGuid().ToString("N")[..8] + ".db");

    [Fact]
    public async Task Initialize_Twice_AppliesEachMigrationOnceAndUsesWal()
    {
        var store = new SqliteJobStore(_path);
        await store.InitializeAsync();
        await new SqliteJobStore(_path).InitializeAsync();
        var factory = new SqliteConnectionFactory(_path);
        using var c = await factory.OpenAsync();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM schema_migrations WHERE component = 'jobs'";
        Assert.Equal((long)SqliteJobStore.Migrations.Length, (long)(await cmd.ExecuteScalarAsync())!);
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string)(await cmd.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Initialize_DatabaseFromNewerVersion_RefusesWithClearError()
    {
        await new SqliteJobStore(_path).InitializeAsync();
        using (var c = await new SqliteConnectionFactory(_path).OpenAsync())
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "INSERT INTO schema_migrations VALUES ('jobs', 99, 'x')";
            await cmd.ExecuteNonQueryAsync();
        }
        var ex = await Assert.ThrowsAsync<CompGridException>(() => new SqliteJobStore(_path).InitializeAsync());
        Assert.Contains("newer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConcurrentWriters_TwoStoreInstancesOnOneFile_AllWritesLand()
    {
        var a = new SqliteJobStore(_path);
        var b = new SqliteJobStore(_path);
        await a.InitializeAsync();
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            var store = i % 2 == 0 ? a : b;
            var job = new JobRecord { Id = $"j{i}", Spec = new JobSpec { Owner = "u" + (i % 3), Payload = JobPayload.Command("true") }, State = JobState.Queued, Version = 1, SubmittedAt = DateTimeOffset.UnixEpoch.AddSeconds(i) };
            await store.CreateAsync(job, new JobTransition { JobId = job.Id, To = JobState.Queued, At = job.SubmittedAt });
            Assert.True(await store.TryUpdateAsync(job with { State = JobState.Running, Version = 2 }, 1, new JobTransition { JobId = job.Id, From = JobState.Queued, To = JobState.Running, At = job.SubmittedAt }));
        })));
        int count = 0;
        await foreach (var j in a.QueryAsync(new JobQuery { States = [JobState.Running] })) count++;
        Assert.Equal(100, count);
    }

    [Fact]
    public async Task Approval_IsRecordedInItsOwnTable()
    {
        var store = new SqliteJobStore(_path);
        var job = new JobRecord { Id = "ap", Spec = new JobSpec { Owner = "alice", Payload = JobPayload.Command("true") }, State = JobState.AwaitingApproval, Version = 1 };
        await store.CreateAsync(job, new JobTransition { JobId = "ap", To = JobState.AwaitingApproval });
        var at = new DateTimeOffset(2026, 5, 1, 9, 30, 0, TimeSpan.Zero);
        await store.TryUpdateAsync(job with { State = JobState.Queued, Version = 2, Approval = new ApprovalDecision { Approved = true, By = "admin", At = at, Reason = "fine" } }, 1, null);
        using var c = await new SqliteConnectionFactory(_path).OpenAsync();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT decided_by || '|' || approved || '|' || reason FROM job_approvals WHERE job_id = 'ap'";
        Assert.Equal("admin|1|fine", (string)(await cmd.ExecuteScalarAsync())!);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var f in new[] { _path, _path + "-wal", _path + "-shm" }) File.Delete(f);
    }
}
