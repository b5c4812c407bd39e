using CompGrid.Testing;

namespace CompGrid.Agents.Tests;

/// <summary>
/// The shared backend conformance suite against the agent backend, driving a real agent process (worker-1) over the
/// real hub. Jobs are placed on worker-1 (the other nodes of the fixture belong to the UTM tests).
/// </summary>
[Collection(LoopbackAgentsCollection.Name)]
[Trait("Category", "Agents")]
public sealed class AgentBackendConformanceTests(LoopbackAgents lab) : BackendConformanceTests
{
    protected override IComputeBackend Backend => lab.Backend;

    protected override JobSpec BaseSpec(string name) => base.BaseSpec(name) with { Owner = "alice" };

    protected override async Task<BackendJobRequest> CreateRequestAsync(string jobId, JobSpec spec, TimeSpan? walltime = null) =>
        await base.CreateRequestAsync(jobId, spec, walltime) with { Nodes = [LoopbackAgents.Worker] };
}
