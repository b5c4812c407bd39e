using Microsoft.Data.Sqlite;

namespace CompGrid.Storage.Sqlite.Tests;

[Trait("Category", "Storage")]
public sealed class SqliteGroupCommitTests : GroupCommitTests, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cg-gc-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<SqliteJobStore> _stores = [];

    protected override async Task<IJobStore> CreateStoreAsync()
    {
        var store = new SqliteJobStore(Path.Combine(_dir, "jobs.db"));
        _stores.Add(store);
        await store.InitializeAsync();
        return store;
    }

    protected override IJobStore OpenSecond(IJobStore store)
    {
        var second = new SqliteJobStore(((SqliteJobStore)store).DatabasePath);
        _stores.Add(second);
        return second;
    }

    protected override Task<IDisposable> PauseAsync(IJobStore store) => ((SqliteJobStore)store).PauseWritesAsync();

    protected override long Batches(IJobStore store) => ((SqliteJobStore)store).WriteBatches;

    public void Dispose()
    {
        foreach (var s in _stores) s.Dispose();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
