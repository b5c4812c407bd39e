using CompGrid.Testing;
using CompGrid.Tests.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

[assembly: TestFramework("CompGrid.Testing.BackendTestFramework", "CompGrid.Testing")]

namespace CompGrid.Billing.PostgreSql.Tests;

/// <summary>
/// The billing store suite of CompGrid.Testing on a real PostgreSQL; each store gets its own schema, and the second
/// instance is a store with its own connection pool on the same schema (another portal instance).
/// </summary>
[Trait("Category", "PostgreSql")]
[Collection("PostgreSql")]
[RequiresBackend("PostgreSQL", PostgreSqlTheoryAttribute.Variable)]
public sealed class PostgreSqlBillingStoreConformanceTests(PostgreSqlFixture fixture) : BillingStoreConformanceTests, IAsyncLifetime
{
    private readonly Dictionary<IBillingStore, string> _schemas = [];
    private readonly List<IBillingStore> _owned = [];

    protected override async Task<IBillingStore> CreateStoreAsync()
    {
        var schema = fixture.NewSchema();
        var store = PostgreSqlBilling.CreateStore(fixture.DataSource, new PostgreSqlBillingStoreOptions { Schema = schema });
        await store.InitializeAsync();
        lock (_schemas) _schemas[store] = schema;
        return store;
    }

    protected override async Task<IBillingStore> OpenSecondInstanceAsync(IBillingStore store)
    {
        var second = PostgreSqlBilling.CreateStore(new PostgreSqlBillingStoreOptions
        {
            ConnectionString = new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { MaxPoolSize = 20 }.ConnectionString, Schema = _schemas[store],
        });
        await second.InitializeAsync();
        _owned.Add(second);
        return second;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var s in _owned) await ((IAsyncDisposable)s).DisposeAsync();
    }
}

[Trait("Category", "PostgreSql")]
[Collection("PostgreSql")]
public sealed class PostgreSqlBillingStoreTests(PostgreSqlFixture fixture)
{
    [PostgreSqlTheory]
    [InlineData("update")]
    [InlineData("delete")]
    public async Task Ledger_UpdateOrDelete_RefusedByTrigger(string verb)
    {
        var schema = fixture.NewSchema();
        var store = PostgreSqlBilling.CreateStore(fixture.DataSource, new PostgreSqlBillingStoreOptions { Schema = schema });
        await store.TryCreateGrantAsync(new Grant { Code = "g", PrincipalInvestigator = "alice" });
        await store.WriteAsync(LedgerWrite.Append(new LedgerEntry { GrantCode = "g", Kind = LedgerEntryKind.Allocation, Amount = 5m, Currency = "CRD", At = DateTimeOffset.UnixEpoch }));
        await using var cmd = fixture.DataSource.CreateCommand(verb == "update" ? $"UPDATE {schema}.billing_ledger SET amount = 500" : $"DELETE FROM {schema}.billing_ledger");
        var e = await Assert.ThrowsAsync<PostgresException>(() => cmd.ExecuteNonQueryAsync());
        Assert.Contains("append-only", e.MessageText, StringComparison.Ordinal);
    }

    [PostgreSqlTheory]
    [InlineData(4)]
    public async Task Initialize_ConcurrentInstances_MigrateOnce(int instances)
    {
        var schema = fixture.NewSchema();
        await Task.WhenAll(Enumerable.Range(0, instances).Select(_ => Task.Run(() =>
            PostgreSqlBilling.CreateStore(fixture.DataSource, new PostgreSqlBillingStoreOptions { Schema = schema }).InitializeAsync())));
        await using var cmd = fixture.DataSource.CreateCommand($"SELECT COUNT(*) FROM {schema}.schema_migrations WHERE component = 'billing'");
        Assert.Equal(2L, await cmd.ExecuteScalarAsync());
    }

    [PostgreSqlTheory]
    [InlineData("reg")]
    public async Task UsePostgreSqlBillingStore_RegistersTheStore(string prefix)
    {
        var services = new ServiceCollection();
        var schema = fixture.NewSchema();
        new Builder(services).UsePostgreSqlBillingStore(fixture.ConnectionString, o => o.Schema = schema);
        await using (var sp = services.BuildServiceProvider())
        {
            var billing = sp.GetRequiredService<IBillingStore>();
            Assert.True(await billing.TryCreateGrantAsync(new Grant { Code = prefix + "-g", PrincipalInvestigator = "alice" }));
        }
        var direct = PostgreSqlBilling.CreateStore(new PostgreSqlBillingStoreOptions { ConnectionString = fixture.ConnectionString, Schema = schema });
        await using ((IAsyncDisposable)direct)
        {
            Assert.NotNull(await direct.GetGrantAsync(prefix + "-g"));
        }
    }

    [Fact]
    public void CreateStore_BadSchema_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => PostgreSqlBilling.CreateStore(new PostgreSqlBillingStoreOptions { ConnectionString = "Host=127.0.0.1", Schema = "Bad-Schema;" }));
        Assert.Contains("Schema: must be", e.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectionString: is required", Assert.Throws<ArgumentException>(() => PostgreSqlBilling.CreateStore(new PostgreSqlBillingStoreOptions())).Message, StringComparison.Ordinal);
    }

    private sealed class Builder(IServiceCollection services) : ICompGridBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
