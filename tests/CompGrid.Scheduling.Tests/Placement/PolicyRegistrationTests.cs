using CompGrid.Placement;
using CompGrid.Simulation;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Scheduling.Tests.Placement;

// A custom policy the built-ins never choose like: the highest-indexed node that fits.
internal sealed class LastFitPolicy : IPlacementPolicy
{
    public int Calls;

    public string Name => "last-fit";

    public bool TryPlace(ClusterSnapshot cluster, in PlacementRequest request, Span<int> chosen)
    {
        Interlocked.Increment(ref Calls);
        int found = 0;
        for (int i = cluster.Count - 1; i >= 0 && found < request.Nodes; i--)
            if (cluster.Fits(i, request)) chosen[found++] = i;
        return found == request.Nodes;
    }
}

internal sealed class ReverseIdOrdering : IQueueOrderingPolicy
{
    public string Name => "reverse-id";

    public void Order(List<JobRecord> pending, QueueOrderingContext context) => pending.Sort((a, b) => string.CompareOrdinal(b.Id, a.Id));
}

[Trait("Category", "Scheduling")]
public sealed class PolicyRegistrationTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public async Task AddPlacementPolicy_CustomPolicy_EngineDispatchesWhereItChooses()
    {
        var backend = new InMemoryBackend("mem", _time, nodes: 3, cpusPerNode: 4, memoryMiBPerNode: 4096);
        await using var engine = CompGridEngine.Create(b => b.AddBackend(backend).UseJobStore(new InMemoryJobStore()).UseTimeProvider(_time)
            .AddPlacementPolicy<LastFitPolicy>().Configure(o => o.PlacementPolicy = "Last-Fit")); // the case differs on purpose
        await engine.StartAsync();
        var job = await engine.SubmitAsync(new JobSpec { Owner = "alice", Payload = JobPayload.Command("sleep 10"), Resources = new() { Cpus = 1 } });
        await engine.RunCycleAsync();
        Assert.Equal(["mem-n3"], (await job.GetAsync()).Nodes); // first-fit would have chosen mem-n1
    }

    [Fact]
    public void AddPlacementPolicy_CustomPolicies_SimulatorFromDiSeesThem()
    {
        var policy = new LastFitPolicy();
        var services = new ServiceCollection();
        services.AddCompGrid().AddPlacementPolicy(policy).AddQueueOrderingPolicy<ReverseIdOrdering>();
        using var provider = services.BuildServiceProvider();
        var simulator = provider.GetRequiredService<CompGridSimulator>();

        SimulationReport report = simulator.Simulate(Workload.Generate(5, jobs: 60), new SimulationConfiguration { PlacementPolicy = "LAST-FIT", QueueOrdering = "Reverse-Id" });

        Assert.Equal(60, report.JobsStarted + report.JobsNeverStarted);
        Assert.True(report.JobsStarted > 0);
        Assert.True(policy.Calls > 0);
        Assert.Contains("last-fit", simulator.PlacementPolicies);
        Assert.Contains("reverse-id", simulator.QueueOrderings);
        Assert.Contains(PlacementPolicyNames.BestFit, simulator.PlacementPolicies);
    }

    [Fact]
    public void Simulator_UnknownPolicyName_ThrowsListingTheRegisteredNames()
    {
        var simulator = new CompGridSimulator([new LastFitPolicy()], []);
        var ex = Assert.Throws<ArgumentException>(() => simulator.Simulate(Workload.Generate(1, jobs: 5), new SimulationConfiguration { PlacementPolicy = "worst-fit" }));
        Assert.Contains("worst-fit", ex.Message, StringComparison.Ordinal);
        Assert.Contains("last-fit", ex.Message, StringComparison.Ordinal);
        Assert.Contains(PlacementPolicyNames.FirstFit, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_BuiltInNameInOtherCase_Starts()
    {
        await using var engine = CompGridEngine.Create(b => b.AddBackend(new InMemoryBackend("mem", _time)).UseJobStore(new InMemoryJobStore()).UseTimeProvider(_time)
            .Configure(o => { o.PlacementPolicy = "BEST-FIT"; o.QueueOrdering = "Fair-Tree"; }));
        await engine.StartAsync();
        Assert.True(engine.IsActiveScheduler);
    }
}
