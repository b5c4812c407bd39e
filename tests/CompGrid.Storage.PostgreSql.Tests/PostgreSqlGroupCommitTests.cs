using System.Reflection;
using CompGrid.Tests.PostgreSql;
using Npgsql;

namespace CompGrid.Storage.PostgreSql.Tests;

[Trait("Category", "PostgreSql")]
[Collection("PostgreSql")]
public sealed class PostgreSqlGroupCommitTests(PostgreSqlFixture fixture)
{
    /// <summary>Every fact of the shared group-commit suite.</summary>
    public static TheoryData<string> Facts()
    {
        var data = new TheoryData<string>();
        foreach (var m in typeof(GroupCommitTests).GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.GetCustomAttribute<FactAttribute>() is not null))
            data.Add(m.Name);
        return data;
    }

    [PostgreSqlTheory]
    [MemberData(nameof(Facts))]
    public async Task GroupCommit(string fact)
    {
        await using var second = NpgsqlDataSource.Create(fixture.ConnectionString);
        var suite = new Runner(fixture, second);
        try
        {
            if (typeof(GroupCommitTests).GetMethod(fact)!.Invoke(suite, null) is Task t) await t;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }

    private sealed class Runner(PostgreSqlFixture fixture, NpgsqlDataSource second) : GroupCommitTests
    {
        private readonly Dictionary<IJobStore, string> _schemas = [];

        protected override async Task<IJobStore> CreateStoreAsync()
        {
            string schema = fixture.NewSchema();
            var store = new PostgreSqlJobStore(fixture.DataSource, schema);
            await store.InitializeAsync();
            _schemas[store] = schema;
            return store;
        }

        protected override IJobStore OpenSecond(IJobStore store) => new PostgreSqlJobStore(second, _schemas[store]);

        protected override Task<IDisposable> PauseAsync(IJobStore store) => ((PostgreSqlJobStore)store).PauseWritesAsync();

        protected override long Batches(IJobStore store) => ((PostgreSqlJobStore)store).WriteBatches;
    }
}
