using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Storage;

/// <summary>
/// Fair share that survives (issue 14 §6), on a real SQL job store: usage charged by one engine is stored with the
/// jobs, so an engine started afterwards on the same database — the same one restarted, or another instance — orders
/// the queue with the same priorities. Linked into each SQL store's tests.
/// </summary>
public abstract class FairShareRestartTests
{
    /// <summary>Configures the builder to use one database; every call with the same <paramref name="database"/> reaches the same data.</summary>
    protected abstract void UseStore(ICompGridBuilder builder, string database);

    /// <summary>A fresh database name for one test.</summary>
    protected abstract string NewDatabase();

    /// <summary>The store itself on <paramref name="database"/>, initialised.</summary>
    protected abstract Task<IFairShareUsageStore> OpenStoreAsync(string database);

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan HalfLife = TimeSpan.FromDays(7);

    [Fact]
    public async Task Charge_SameJobTwice_CountsOnce()
    {
        var store = await OpenStoreAsync(NewDatabase());
        var charge = new FairShareUsage { Account = "phys", User = "alice", Usage = 100, At = T0 };
        var first = await store.TryChargeFairShareAsync("j1", charge, HalfLife);
        Assert.NotNull(first);
        Assert.Equal(1, first.Charges);
        Assert.Null(await store.TryChargeFairShareAsync("j1", charge with { Usage = 5 }, HalfLife));
        var row = Assert.Single(await store.GetFairShareUsageAsync());
        Assert.Equal((100.0, T0, 1L), (row.Usage, row.At, row.Charges));
    }

    [Fact]
    public async Task Charge_LaterAndEarlier_DecaysFromTheStoredTimeByTheHalfLife()
    {
        string db = NewDatabase();
        var store = await OpenStoreAsync(db);
        await store.TryChargeFairShareAsync("j1", new FairShareUsage { Account = "phys", User = "alice", Usage = 100, At = T0 }, HalfLife);
        // One half-life later: the stored 100 counts 50, plus the new 100.
        var later = await store.TryChargeFairShareAsync("j2", new FairShareUsage { Account = "phys", User = "alice", Usage = 100, At = T0 + HalfLife }, HalfLife);
        Assert.Equal(150, later!.Usage, 9);
        Assert.Equal(T0 + HalfLife, later.At);
        // A charge for a job that ended before the stored time is decayed to it (100 from T0 counts 50 at T0 + H).
        var earlier = await store.TryChargeFairShareAsync("j3", new FairShareUsage { Account = "phys", User = "alice", Usage = 100, At = T0 }, HalfLife);
        Assert.Equal(200, earlier!.Usage, 9);
        Assert.Equal(T0 + HalfLife, earlier.At);
        Assert.Equal(3, earlier.Charges);
        // Another store on the same database reads the same row.
        var row = Assert.Single(await (await OpenStoreAsync(db)).GetFairShareUsageAsync());
        Assert.Equal(earlier, row);
    }

    [Fact]
    public async Task Charge_InvalidUsage_IsRefusedNamingTheFieldAndStoresNothing()
    {
        var store = await OpenStoreAsync(NewDatabase());
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => store.TryChargeFairShareAsync("j1", new FairShareUsage { Account = "phys", User = "alice", Usage = double.NaN, At = T0 }, HalfLife));
        Assert.Contains("FairShareUsage.Usage", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TryChargeFairShareAsync("j1", new FairShareUsage { Account = "phys", User = "alice", Usage = 1, At = T0 }, TimeSpan.Zero));
        Assert.Empty(await store.GetFairShareUsageAsync());
        Assert.NotNull(await store.TryChargeFairShareAsync("j1", new FairShareUsage { Account = "phys", User = "alice", Usage = 1, At = T0 }, HalfLife));
    }

    private static JobSpec Job(string owner, string? account, int cpus, string command, TimeSpan? walltime = null) => new()
    {
        Owner = owner, Account = account, Payload = JobPayload.Command(command), Resources = new() { Cpus = cpus }, Walltime = walltime,
    };

    private CompGridEngine Engine(string database, InMemoryBackend backend, ManualTimeProvider time) => CompGridEngine.Create(b =>
    {
        b.AddBackend(backend).UseTimeProvider(time).Configure(o => o.QueueOrdering = "multifactor");
        UseStore(b, database);
    });

    [Fact]
    public async Task Restart_SameDatabase_QueuedJobsKeepTheirFairSharePriorities()
    {
        var time = new ManualTimeProvider();
        // The backend outlives the engine, as a cluster does: the restarted engine adopts the running blocker.
        var backend = new InMemoryBackend("mem", time, nodes: 1, cpusPerNode: 4, memoryMiBPerNode: 4096);
        string db = NewDatabase();
        string[] waiting;
        double[] before, factors;
        await using (var first = Engine(db, backend, time))
        {
            await first.StartAsync();
            // alice uses 4 CPUs for 10 minutes, bob 1 CPU for 10 minutes; carol nothing.
            var a = await first.SubmitAsync(Job("alice", "phys", 4, "sleep 600"));
            await RunUntilRunningAsync(first, a.Id);
            time.Advance(TimeSpan.FromMinutes(10));
            await first.RunCycleAsync();
            await first.WaitForCompletionAsync(a.Id);
            var b = await first.SubmitAsync(Job("bob", "chem", 1, "sleep 600"));
            await RunUntilRunningAsync(first, b.Id);
            time.Advance(TimeSpan.FromMinutes(10));
            await first.RunCycleAsync();
            await first.WaitForCompletionAsync(b.Id);
            // A blocker holds the node so the next jobs stay queued across the restart.
            await RunUntilRunningAsync(first, (await first.SubmitAsync(Job("dave", "bio", 4, "sleep 100000", TimeSpan.FromDays(30)))).Id);
            waiting = [
                (await first.SubmitAsync(Job("alice", "phys", 1, "true"))).Id,
                (await first.SubmitAsync(Job("bob", "chem", 1, "true"))).Id,
                (await first.SubmitAsync(Job("carol", "math", 1, "true"))).Id,
            ];
            before = await PrioritiesAsync(first, waiting);
            factors = await FactorsAsync(first, waiting);
        }
        // Heavier past use, lower factor: the test could not pass with the usage forgotten (every factor 1).
        Assert.True(factors[0] < factors[1] && factors[1] < factors[2], string.Join(", ", factors));

        await using var second = Engine(db, backend, time);
        await second.StartAsync();
        Assert.Equal(before, await PrioritiesAsync(second, waiting));
        Assert.Equal(factors, await FactorsAsync(second, waiting));
    }

    [Fact]
    public async Task SecondInstance_SameDatabase_SeesTheUsageTheFirstCharged()
    {
        var time = new ManualTimeProvider();
        string db = NewDatabase();
        var backendA = new InMemoryBackend("mem", time, nodes: 1, cpusPerNode: 4, memoryMiBPerNode: 4096);
        await using var a = Engine(db, backendA, time);
        await a.StartAsync();
        var heavy = await a.SubmitAsync(Job("alice", "phys", 4, "sleep 3600", TimeSpan.FromHours(2)));
        await RunUntilRunningAsync(a, heavy.Id);
        time.Advance(TimeSpan.FromHours(1));
        await a.RunCycleAsync();
        await a.WaitForCompletionAsync(heavy.Id);

        // Another instance on the database (its own cluster, held by a blocker): alice's use counts against her there.
        var backendB = new InMemoryBackend("mem", time, nodes: 1, cpusPerNode: 1, memoryMiBPerNode: 1024);
        await using var b = Engine(db, backendB, time);
        await b.StartAsync();
        await RunUntilRunningAsync(b, (await b.SubmitAsync(Job("dave", "bio", 1, "sleep 100000", TimeSpan.FromDays(30)))).Id);
        var alice = await b.SubmitAsync(Job("alice", "phys", 1, "true"));
        var carol = await b.SubmitAsync(Job("carol", "math", 1, "true"));
        double[] f = await FactorsAsync(b, [alice.Id, carol.Id]);
        Assert.True(f[0] < f[1], string.Join(", ", f));
    }

    // The engine's own loop may hold a cycle when the test asks for one: run cycles until the job runs (no clock moves).
    private static async Task RunUntilRunningAsync(CompGridEngine engine, string id)
    {
        for (int i = 0; i < 1000; i++)
        {
            await engine.RunCycleAsync();
            if ((await engine.GetJobAsync(id))?.State == JobState.Running) return;
            await Task.Yield();
        }
        throw new InvalidOperationException($"Job {id} did not start.");
    }

    private static async Task<double[]> PrioritiesAsync(CompGridEngine engine, string[] ids)
    {
        var result = new double[ids.Length];
        for (int i = 0; i < ids.Length; i++) result[i] = (await engine.ExplainPriorityAsync(ids[i]) ?? throw new InvalidOperationException(ids[i] + " is not queued")).Priority;
        return result;
    }

    private static async Task<double[]> FactorsAsync(CompGridEngine engine, string[] ids)
    {
        var result = new double[ids.Length];
        for (int i = 0; i < ids.Length; i++) result[i] = (await engine.ExplainPriorityAsync(ids[i]) ?? throw new InvalidOperationException(ids[i] + " is not queued")).FairShareFactor;
        return result;
    }
}
