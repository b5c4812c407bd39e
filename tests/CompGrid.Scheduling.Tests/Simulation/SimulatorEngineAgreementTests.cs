using CompGrid.Simulation;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Scheduling.Tests.Simulation;

/// <summary>
/// The simulator replays the engine's scheduling cycle without its I/O; this runs the same workload through the real
/// <see cref="CompGridEngine"/> (in-memory backend and store, manual clock) and checks every job starts at the same time.
/// </summary>
[Trait("Category", "Simulation")]
public sealed class SimulatorEngineAgreementTests
{
    [Theory]
    [InlineData(1, "fifo", "first-fit")]
    [InlineData(2, "fifo", "best-fit")]
    [InlineData(3, "priority", "first-fit")]
    public async Task Simulate_SmallWorkload_StartsEveryJobWhenTheRealEngineDoes(int seed, string ordering, string placement)
    {
        var rng = new Random(seed);
        var cluster = new SimulatedCluster { Nodes = 3, CpusPerNode = 4, MemoryMiBPerNode = 8192 };
        var jobs = new List<SimulatedJob>();
        int t = 0;
        for (int i = 0; i < 30; i++)
        {
            t += rng.Next(1, 12); // distinct submit seconds: the engine's ids break ties differently
            int runtime = rng.Next(20, 200), cpus = new[] { 1, 2, 4 }[rng.Next(3)];
            jobs.Add(new SimulatedJob
            {
                Id = "gen-" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture),
                Submit = TimeSpan.FromSeconds(t), Runtime = TimeSpan.FromSeconds(runtime),
                RequestedWalltime = TimeSpan.FromSeconds(runtime * rng.Next(1, 4)),
                Nodes = rng.Next(10) == 0 ? 2 : 1, CpusPerNode = cpus, MemoryMiBPerNode = cpus * 1024L, User = "u", Account = "default",
            });
        }
        var config = new SimulationConfiguration { QueueOrdering = ordering, PlacementPolicy = placement };
        SimulationReport report = Simulator.Simulate(new Workload { Cluster = cluster, Jobs = jobs }, config);

        var time = new ManualTimeProvider();
        DateTimeOffset t0 = time.GetUtcNow();
        var backend = new InMemoryBackend("sim", time, cluster.Nodes, cluster.CpusPerNode, cluster.MemoryMiBPerNode);
        await using var engine = CompGridEngine.Create(b => b.AddBackend(backend).UseJobStore(new InMemoryJobStore()).UseTimeProvider(time)
            .Configure(o => { o.QueueOrdering = ordering; o.PlacementPolicy = placement; o.PollInterval = TimeSpan.FromHours(1); }));
        await engine.StartAsync();
        var handles = new Dictionary<string, JobHandle>();
        int next = 0;
        for (int second = 0; second < 20_000 && (next < jobs.Count || handles.Count < jobs.Count || !await AllEndedAsync()); second++)
        {
            if (second > 0) time.Advance(TimeSpan.FromSeconds(1));
            while (next < jobs.Count && jobs[next].Submit <= TimeSpan.FromSeconds(second))
            {
                SimulatedJob j = jobs[next++];
                handles[j.Id] = await engine.SubmitAsync(new JobSpec
                {
                    Name = j.Id, Owner = j.User, Payload = JobPayload.Command("sleep " + (int)j.Runtime.TotalSeconds), Walltime = j.RequestedWalltime,
                    Resources = new ResourceRequest { Cpus = j.CpusPerNode, Nodes = j.Nodes, MemoryMiB = j.MemoryMiBPerNode },
                });
            }
            await engine.RunCycleAsync();
            await engine.RunCycleAsync();
        }

        foreach (SimulatedJobResult r in report.Jobs)
        {
            JobRecord rec = await handles[r.Id].GetAsync();
            Assert.True(rec.StartedAt is not null, $"{r.Id} never started in the engine: {rec.Reason}");
            Assert.Equal(r.Start, rec.StartedAt!.Value - t0);
        }

        async Task<bool> AllEndedAsync()
        {
            foreach (JobHandle h in handles.Values)
                if (!(await h.GetAsync()).IsTerminal) return false;
            return true;
        }
    }
}
