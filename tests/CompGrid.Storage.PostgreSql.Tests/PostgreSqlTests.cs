using System.Reflection;
using CompGrid.Billing;
using CompGrid.Storage.PostgreSql;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CompGrid.Storage.PostgreSql.Tests;

/// <summary>A theory that needs the PostgreSQL started by <c>eng/backends/postgresql.sh</c>.</summary>
public sealed class PostgreSqlTheoryAttribute : TheoryAttribute
{
    public const string Variable = "COMPGRID_POSTGRES_CONNECTION";

    public PostgreSqlTheoryAttribute()
    {
        if (!BackendEnvironment.IsAvailable(Variable) && !BackendEnvironment.Required)
            Skip = $"PostgreSQL is not running ({Variable} is unset); start it with eng/test.sh or eng/backends/postgresql.sh start.";
    }
}

/// <summary>One data source per run; every store gets a fresh schema, dropped at the end.</summary>
public sealed class PostgreSqlFixture : IAsyncLifetime
{
    private readonly List<string> _schemas = [];
    private NpgsqlDataSource? _dataSource;

    public string ConnectionString => BackendEnvironment.Get(PostgreSqlTheoryAttribute.Variable, "PostgreSQL");

    public NpgsqlDataSource DataSource => _dataSource ??= NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = 30 }.ConnectionString);

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

[Trait("Category", "PostgreSql")]
[Collection("PostgreSql")]
public sealed class PostgreSqlJobStoreTests(PostgreSqlFixture fixture)
{
    /// <summary>Every fact of the shared job store suite from CompGrid.Testing.</summary>
    public static TheoryData<string> Facts()
    {
        var data = new TheoryData<string>();
        foreach (var m in typeof(JobStoreConformanceTests).GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.GetCustomAttribute<FactAttribute>() is not null))
            data.Add(m.Name);
        return data;
    }

    [PostgreSqlTheory]
    [MemberData(nameof(Facts))]
    public async Task Conformance(string fact)
    {
        var suite = new Runner(fixture);
        try
        {
            if (typeof(JobStoreConformanceTests).GetMethod(fact)!.Invoke(suite, null) is Task t) await t;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }

    [PostgreSqlTheory]
    [InlineData("j-missing")]
    public async Task TryUpdate_UnknownJob_ThrowsJobNotFound(string id)
    {
        var store = new PostgreSqlJobStore(fixture.DataSource, fixture.NewSchema());
        await store.InitializeAsync();
        await Assert.ThrowsAsync<JobNotFoundException>(() => store.TryUpdateAsync(new JobRecord { Id = id, Version = 2 }, 1, null));
    }

    [PostgreSqlTheory]
    [InlineData(4)]
    public async Task Initialize_ConcurrentInstances_MigrateOnce(int instances)
    {
        var schema = fixture.NewSchema();
        await Task.WhenAll(Enumerable.Range(0, instances).Select(_ => Task.Run(() => new PostgreSqlJobStore(fixture.DataSource, schema).InitializeAsync())));
        await using var cmd = fixture.DataSource.CreateCommand($"SELECT COUNT(*) FROM {schema}.schema_migrations WHERE component = 'jobs'");
        Assert.Equal((long)PostgreSqlJobStore.Migrations.Length, await cmd.ExecuteScalarAsync());
    }

    private sealed class Runner(PostgreSqlFixture fixture) : JobStoreConformanceTests
    {
        protected override async Task<IJobStore> CreateStoreAsync()
        {
            var store = new PostgreSqlJobStore(fixture.DataSource, fixture.NewSchema());
            await store.InitializeAsync();
            return store;
        }
    }
}

[Trait("Category", "PostgreSql")]
[Collection("PostgreSql")]
public sealed class PostgreSqlAdvisoryLockTests(PostgreSqlFixture fixture)
{
    [PostgreSqlTheory]
    [InlineData("compgrid-scheduler-test-1")]
    public async Task TryAcquire_SecondInstance_StandsByUntilTheFirstReleases(string name)
    {
        await using var other = NpgsqlDataSource.Create(fixture.ConnectionString);
        var first = await PostgreSqlAdvisoryLock.TryAcquireAsync(fixture.DataSource, name);
        Assert.NotNull(first);
        Assert.True(await first!.IsHeldAsync());
        Assert.Null(await PostgreSqlAdvisoryLock.TryAcquireAsync(other, name));
        await first.DisposeAsync();
        Assert.False(await first.IsHeldAsync());
        await using var second = await PostgreSqlAdvisoryLock.TryAcquireAsync(other, name);
        Assert.NotNull(second);
        Assert.True(await second!.IsHeldAsync());
    }

    [PostgreSqlTheory]
    [InlineData("compgrid-scheduler-test-2")]
    public async Task Acquire_HolderConnectionDies_StandbyTakesOver(string name)
    {
        var holder = await PostgreSqlAdvisoryLock.TryAcquireAsync(fixture.DataSource, name);
        Assert.NotNull(holder);
        // Kill the holder's backend as a crash would; PostgreSQL frees its session locks.
        await using (var kill = fixture.DataSource.CreateCommand(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = $1"))
        {
            kill.Parameters.AddWithValue(PostgreSqlAdvisoryLock.KeyFor(name));
            await kill.ExecuteNonQueryAsync();
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var standby = await PostgreSqlAdvisoryLock.AcquireAsync(fixture.DataSource, name, TimeSpan.FromMilliseconds(100), TimeProvider.System, cts.Token);
        Assert.True(await standby.IsHeldAsync());
        Assert.False(await holder!.IsHeldAsync());
        await holder.DisposeAsync();
    }

    [PostgreSqlTheory]
    [InlineData("compgrid-scheduler-test-3")]
    public async Task SchedulerLease_OneHolder_StandbyTakesOverAfterRelease(string name)
    {
        await using var other = NpgsqlDataSource.Create(fixture.ConnectionString);
        await using var a = new PostgreSqlSchedulerLease(fixture.DataSource, name);
        await using var b = new PostgreSqlSchedulerLease(other, name);
        Assert.True(await a.TryAcquireAsync());
        Assert.True(await a.TryAcquireAsync()); // confirms, does not take a second lock
        Assert.False(await b.TryAcquireAsync());
        await a.ReleaseAsync();
        Assert.True(await b.TryAcquireAsync());
        Assert.False(await a.TryAcquireAsync());
    }

    [Fact]
    [Trait("Category", "PostgreSql")]
    public void KeyFor_IsStable() => Assert.Equal(PostgreSqlAdvisoryLock.KeyFor("compgrid-scheduler"), PostgreSqlAdvisoryLock.KeyFor("compgrid-scheduler"));
}

[Trait("Category", "PostgreSql")]
[Collection("PostgreSql")]
public sealed class PostgreSqlRegistrationTests(PostgreSqlFixture fixture)
{
    [PostgreSqlTheory]
    [InlineData("reg")]
    public async Task UsePostgreSqlStore_RegistersJobAndBillingStores(string prefix)
    {
        var services = new ServiceCollection();
        var schema = fixture.NewSchema();
        new Builder(services).UsePostgreSqlStore(fixture.ConnectionString, o => o.Schema = schema);
        await using var sp = services.BuildServiceProvider();
        var jobs = sp.GetRequiredService<IJobStore>();
        var billing = sp.GetRequiredService<IBillingStore>();
        Assert.IsType<PostgreSqlJobStore>(jobs);
        await jobs.InitializeAsync();
        await billing.InitializeAsync();
        Assert.True(await billing.TryCreateGrantAsync(new Grant { Code = prefix + "-g", PrincipalInvestigator = "alice" }));
        var stores = PostgreSqlStores.Create(fixture.ConnectionString, o => o.Schema = schema);
        await using (stores)
        {
            Assert.NotNull(await stores.Billing.GetGrantAsync(prefix + "-g"));
        }
    }

    [Fact]
    public void UsePostgreSqlStore_BadSchema_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => new Builder(new ServiceCollection()).UsePostgreSqlStore("Host=x", o => o.Schema = "Bad-Schema;"));
        Assert.Contains("Schema", e.Message, StringComparison.Ordinal);
    }

    private sealed class Builder(IServiceCollection services) : ICompGridBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
