using System.Reflection;
using CompGrid.Billing;
using CompGrid.Storage.PostgreSql;
using CompGrid.Storage.Sqlite;
using CompGrid.Testing;
using Npgsql;

namespace CompGrid.Billing.Tests.Stores;

[Trait("Category", "Billing")]
public sealed class InMemoryBillingStoreTests : BillingStoreContractTests
{
    protected override Task<IBillingStore> CreateStoreAsync() => Task.FromResult<IBillingStore>(new InMemoryBillingStore());
}

[Trait("Category", "Storage")]
public sealed class SqliteBillingStoreTests : BillingStoreContractTests, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "compgrid-billing-" + Guid.NewGuid().ToString("N"));

    protected override async Task<IBillingStore> CreateStoreAsync()
    {
        var store = new SqliteBillingStore(Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".db"));
        await store.InitializeAsync();
        return store;
    }

    [Fact]
    public async Task Ledger_UpdateOrDelete_RefusedByTrigger()
    {
        var path = Path.Combine(_dir, "append-only.db");
        var store = new SqliteBillingStore(path);
        await store.InitializeAsync();
        await store.TryCreateGrantAsync(new Grant { Code = "g", PrincipalInvestigator = "alice" });
        await store.TryAppendAsync([new LedgerEntry { GrantCode = "g", Kind = LedgerEntryKind.Allocation, Amount = 5m, Currency = "CRD", At = DateTimeOffset.UnixEpoch }]);
        using var c = await new SqliteConnectionFactory(path).OpenAsync();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE billing_ledger SET amount = '500'";
        Assert.Contains("append-only", Assert.ThrowsAny<Exception>(() => cmd.ExecuteNonQuery()).Message, StringComparison.Ordinal);
        cmd.CommandText = "DELETE FROM billing_ledger";
        Assert.Contains("append-only", Assert.ThrowsAny<Exception>(() => cmd.ExecuteNonQuery()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crash_ProcessDiesInsideTheChargeTransaction_NothingIsWritten()
    {
        var path = Path.Combine(_dir, "crash.db");
        var store = new SqliteBillingStore(path);
        var billing = B.Service(store, B.GoldOptions(B.Grant("g", 100_000m)));
        await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "g"));
        // A writer that dies mid-transaction: the charge row is inserted but never committed.
        var factory = new SqliteConnectionFactory(path);
        using (var c = await factory.OpenAsync())
        {
            using var tx = c.BeginTransaction(deferred: false);
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO billing_ledger (grant_code, kind, amount, currency, at, job_id, entry_key, carry_over) VALUES ('g', 'Charge', '-19744', 'CRD', 0, 'j', 'charge:j', '0')";
            cmd.ExecuteNonQuery();
            // no commit: disposing the connection is what the OS does to a killed process's file handle
        }
        var restarted = B.Service(new SqliteBillingStore(path), B.GoldOptions(B.Grant("g", 100_000m)));
        Assert.Equal(57_600m, (await restarted.GetBalanceAsync("g")).Held);
        Assert.Equal(ChargeStatus.Charged, (await restarted.ChargeAsync(B.Usage("j", "alice", "g"))).Status);
        Assert.Equal(ChargeStatus.AlreadyCharged, (await restarted.ChargeAsync(B.Usage("j", "alice", "g"))).Status);
        var b = await restarted.GetBalanceAsync("g");
        Assert.Equal(19_744m, b.Charged);
        Assert.Equal(0m, b.Held);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>One PostgreSQL data source per test run; each store gets its own schema, dropped at the end.</summary>
public sealed class PostgreSqlFixture : IAsyncLifetime
{
    private readonly List<string> _schemas = [];
    private NpgsqlDataSource? _dataSource;

    public NpgsqlDataSource DataSource => _dataSource ??= NpgsqlDataSource.Create(BackendEnvironment.Get(PostgreSqlTheoryAttribute.Variable, "PostgreSQL"));

    public string NewSchema()
    {
        var s = "t_" + Guid.NewGuid().ToString("N")[..16];
        lock (_schemas) _schemas.Add(s);
        return s;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_dataSource is null) return;
        foreach (var s in _schemas)
        {
            await using var cmd = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {s} CASCADE");
            await cmd.ExecuteNonQueryAsync();
        }
        await _dataSource.DisposeAsync();
    }
}

[CollectionDefinition("PostgreSql")]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgreSqlFixture>;

/// <summary>The store contract on PostgreSQL: each fact of <see cref="BillingStoreContractTests"/> runs as a case (skipped when PostgreSQL is not running).</summary>
[Trait("Category", "PostgreSql")]
[Collection("PostgreSql")]
public sealed class PostgreSqlBillingStoreTests(PostgreSqlFixture fixture)
{
    public static TheoryData<string> Facts() => ContractRunner.FactNames(typeof(BillingStoreContractTests));

    [PostgreSqlTheory]
    [MemberData(nameof(Facts))]
    public Task Contract(string fact) => ContractRunner.RunAsync(new Runner(fixture), fact);

    [PostgreSqlTheory]
    [InlineData("update")]
    [InlineData("delete")]
    public async Task Ledger_UpdateOrDelete_RefusedByTrigger(string verb)
    {
        var schema = fixture.NewSchema();
        var store = new PostgreSqlBillingStore(fixture.DataSource, schema);
        await store.InitializeAsync();
        await store.TryCreateGrantAsync(new Grant { Code = "g", PrincipalInvestigator = "alice" });
        await store.TryAppendAsync([new LedgerEntry { GrantCode = "g", Kind = LedgerEntryKind.Allocation, Amount = 5m, Currency = "CRD", At = DateTimeOffset.UnixEpoch }]);
        await using var cmd = fixture.DataSource.CreateCommand(verb == "update" ? $"UPDATE {schema}.billing_ledger SET amount = 500" : $"DELETE FROM {schema}.billing_ledger");
        var e = await Assert.ThrowsAsync<PostgresException>(() => cmd.ExecuteNonQueryAsync());
        Assert.Contains("append-only", e.MessageText, StringComparison.Ordinal);
    }

    [PostgreSqlTheory]
    [InlineData(2)]
    public async Task Concurrency_TwoInstances_SameLedger_NeverOverdraw(int instances)
    {
        // Several portal instances: separate data sources (pools) on one schema.
        var schema = fixture.NewSchema();
        var cs = new NpgsqlConnectionStringBuilder(BackendEnvironment.Get(PostgreSqlTheoryAttribute.Variable, "PostgreSQL")) { MaxPoolSize = 20 }.ConnectionString;
        var sources = Enumerable.Range(0, instances).Select(_ => NpgsqlDataSource.Create(cs)).ToList();
        try
        {
            var stores = sources.Select(ds => new PostgreSqlBillingStore(ds, schema)).ToList();
            foreach (var s in stores) await s.InitializeAsync();
            await stores[0].TryCreateGrantAsync(new Grant { Code = "g", PrincipalInvestigator = "alice" });
            await stores[0].TryAppendAsync([new LedgerEntry { GrantCode = "g", Kind = LedgerEntryKind.Allocation, Amount = 50m, Currency = "CRD", At = DateTimeOffset.UnixEpoch }]);
            var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => stores[i % instances].TryPlaceHoldAsync(new LedgerEntry
            {
                GrantCode = "g", Kind = LedgerEntryKind.Hold, Amount = -1m, Currency = "CRD", At = DateTimeOffset.UnixEpoch, JobId = "j" + i, Key = "hold:j" + i,
            }))));
            Assert.Equal(50, results.Count(r => r.Status == HoldStatus.Placed));
            Assert.Equal(0m, (await stores[1 % instances].GetBalanceAsync("g"))!.Available);
        }
        finally
        {
            foreach (var ds in sources) await ds.DisposeAsync();
        }
    }

    private sealed class Runner(PostgreSqlFixture fixture) : BillingStoreContractTests
    {
        protected override async Task<IBillingStore> CreateStoreAsync()
        {
            var store = new PostgreSqlBillingStore(fixture.DataSource, fixture.NewSchema());
            await store.InitializeAsync();
            return store;
        }
    }
}

/// <summary>Runs the facts of an abstract suite on an instance by name (for suites whose backend needs a skippable theory).</summary>
public static class ContractRunner
{
    public static TheoryData<string> FactNames(Type suite)
    {
        var data = new TheoryData<string>();
        foreach (var m in suite.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.GetCustomAttribute<FactAttribute>() is not null).OrderBy(m => m.Name, StringComparer.Ordinal))
            data.Add(m.Name);
        return data;
    }

    public static async Task RunAsync(object suite, string fact)
    {
        ArgumentNullException.ThrowIfNull(suite);
        var method = suite.GetType().GetMethod(fact, BindingFlags.Public | BindingFlags.Instance) ?? throw new InvalidOperationException($"No fact '{fact}'.");
        try
        {
            if (method.Invoke(suite, null) is Task t) await t;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }
}
