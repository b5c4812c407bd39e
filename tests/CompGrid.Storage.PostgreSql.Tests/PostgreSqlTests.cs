using System.Reflection;
using CompGrid.Storage.PostgreSql;
using CompGrid.Testing;
using CompGrid.Tests.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace CompGrid.Storage.PostgreSql.Tests;

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
    public async Task UsePostgreSqlStore_RegistersTheJobStore(string prefix)
    {
        var services = new ServiceCollection();
        var schema = fixture.NewSchema();
        new Builder(services).UsePostgreSqlStore(fixture.ConnectionString, o => o.Schema = schema);
        await using var sp = services.BuildServiceProvider();
        var jobs = sp.GetRequiredService<IJobStore>();
        Assert.IsType<PostgreSqlJobStore>(jobs);
        await jobs.InitializeAsync();
        await jobs.CreateAsync(new JobRecord { Id = prefix + "-1", State = JobState.Queued, Version = 1, Spec = new JobSpec { Owner = "alice" } },
            new JobTransition { JobId = prefix + "-1", To = JobState.Queued, Reason = "submitted" });
        var stores = PostgreSqlStores.Create(fixture.ConnectionString, o => o.Schema = schema);
        await using (stores)
        {
            Assert.NotNull(await stores.Jobs.GetAsync(prefix + "-1"));
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
