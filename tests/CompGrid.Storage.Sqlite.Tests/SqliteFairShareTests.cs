using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Storage.Sqlite.Tests;

/// <summary>Fair share that survives restarts and is shared, on a SQLite file (the shared suite).</summary>
[Trait("Category", "Storage")]
public sealed class SqliteFairShareRestartTests : FairShareRestartTests, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cg-fairshare-" + Guid.NewGuid().ToString("N")[..8]);

    protected override string NewDatabase()
    {
        Directory.CreateDirectory(_dir);
        return Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".db");
    }

    protected override async Task<IFairShareUsageStore> OpenStoreAsync(string database)
    {
        var store = new SqliteJobStore(database);
        await store.InitializeAsync();
        return store;
    }

    protected override void UseStore(ICompGridBuilder builder, string database) => builder.UseSqliteStore(database);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
