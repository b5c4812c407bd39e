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
            await first.RunCycleAsync();
            time.Advance(TimeSpan.FromMinutes(10));
            await first.RunCycleAsync();
            await first.WaitForCompletionAsync(a.Id);
            var b = await first.SubmitAsync(Job("bob", "chem", 1, "sleep 600"));
            await first.RunCycleAsync();
            time.Advance(TimeSpan.FromMinutes(10));
            await first.RunCycleAsync();
            await first.WaitForCompletionAsync(b.Id);
            // A blocker holds the node so the next jobs stay queued across the restart.
            await first.SubmitAsync(Job("dave", "bio", 4, "sleep 100000", TimeSpan.FromDays(30)));
            await first.RunCycleAsync();
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
        await a.RunCycleAsync();
        time.Advance(TimeSpan.FromHours(1));
        await a.RunCycleAsync();
        await a.WaitForCompletionAsync(heavy.Id);

        // Another instance on the database (its own cluster, held by a blocker): alice's use counts against her there.
        var backendB = new InMemoryBackend("mem", time, nodes: 1, cpusPerNode: 1, memoryMiBPerNode: 1024);
        await using var b = Engine(db, backendB, time);
        await b.StartAsync();
        await b.SubmitAsync(Job("dave", "bio", 1, "sleep 100000", TimeSpan.FromDays(30)));
        await b.RunCycleAsync();
        var alice = await b.SubmitAsync(Job("alice", "phys", 1, "true"));
        var carol = await b.SubmitAsync(Job("carol", "math", 1, "true"));
        double[] f = await FactorsAsync(b, [alice.Id, carol.Id]);
        Assert.True(f[0] < f[1], string.Join(", ", f));
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
