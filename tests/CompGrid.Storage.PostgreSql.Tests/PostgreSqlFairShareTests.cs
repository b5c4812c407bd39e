using System.Reflection;
using CompGrid.Tests.PostgreSql;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Storage.PostgreSql.Tests;

/// <summary>Fair share that survives restarts and is shared, on the real PostgreSQL (the shared suite, one schema per test).</summary>
[Trait("Category", "PostgreSql")]
[Collection("PostgreSql")]
public sealed class PostgreSqlFairShareTests(PostgreSqlFixture fixture)
{
    /// <summary>Every fact of the shared fair-share suite.</summary>
    public static TheoryData<string> Facts()
    {
        var data = new TheoryData<string>();
        foreach (var m in typeof(FairShareRestartTests).GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.GetCustomAttribute<FactAttribute>() is not null))
            data.Add(m.Name);
        return data;
    }

    [PostgreSqlTheory]
    [MemberData(nameof(Facts))]
    public async Task FairShare(string fact)
    {
        var suite = new Runner(fixture);
        try
        {
            if (typeof(FairShareRestartTests).GetMethod(fact)!.Invoke(suite, null) is Task t) await t;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }

    private sealed class Runner(PostgreSqlFixture fixture) : FairShareRestartTests
    {
        protected override string NewDatabase() => fixture.NewSchema();

        protected override async Task<IFairShareUsageStore> OpenStoreAsync(string database)
        {
            var store = new PostgreSqlJobStore(fixture.DataSource, database);
            await store.InitializeAsync();
            return store;
        }

        // Each engine takes its own scheduler lock, so two instances on one schema both schedule their own cluster.
        protected override void UseStore(ICompGridBuilder builder, string database) =>
            builder.UsePostgreSqlStore(fixture.ConnectionString, o => { o.Schema = database; o.SchedulerLockName = "fs-" + Guid.NewGuid().ToString("N"); });
    }
}
