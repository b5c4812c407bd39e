using CompGrid.Testing;

namespace CompGrid.Docker.Tests;

/// <summary>Two engines as two nodes: jobs go where placement says; an engine that stops takes only its own jobs down.</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public sealed class MultiEngineTests(DockerEnginesFixture fixture)
{
    private const string Env = DockerEnginesFixture.HostVariable;

    private IComputeBackend Pool(TimeSpan downAfter) =>
        fixture.Create("docker-pool-" + Guid.NewGuid().ToString("N")[..4], downAfter, DockerEnginesFixture.Engine("lab-a", fixture.Host1), DockerEnginesFixture.Engine("lab-b", fixture.Host2));

    private static BackendJobRequest Request(string node, JobPayload payload) => new()
    {
        JobId = "cg-me-" + Guid.NewGuid().ToString("N")[..12],
        Spec = new JobSpec { Name = "pool", Owner = "bob", Payload = payload, Resources = new() { Cpus = 1, MemoryMiB = 64 } },
        Nodes = [node],
        MemoryMiBPerNode = 64,
        Walltime = TimeSpan.FromMinutes(5),
    };

    [BackendFact("Docker", Env)]
    public async Task GetNodes_TwoEngines_TwoUpNodes()
    {
        var pool = Pool(TimeSpan.FromSeconds(30));
        var nodes = await pool.GetNodesAsync();
        Assert.Equal(["lab-a", "lab-b"], nodes.Select(n => n.Name).Order().ToArray());
        Assert.All(nodes, n =>
        {
            Assert.Equal(NodeState.Up, n.State);
            Assert.True(n.Capacity.Cpus > 0 && n.Capacity.MemoryMiB > 0);
            Assert.Contains("docker", n.Features);
        });
        Assert.False(pool.Capabilities.PlacesJobsItself);
    }

    [BackendFact("Docker", Env)]
    public async Task Submit_ChosenNode_RunsOnThatEngine()
    {
        var pool = Pool(TimeSpan.FromSeconds(30));
        string a = await pool.SubmitAsync(Request("lab-a", JobPayload.Command("echo on-a")));
        string b = await pool.SubmitAsync(Request("lab-b", JobPayload.Command("echo on-b")));
        Assert.StartsWith("lab-a/", a, StringComparison.Ordinal);
        Assert.StartsWith("lab-b/", b, StringComparison.Ordinal);
        Assert.Equal(JobState.Completed, (await Poll.TerminalAsync(pool, a)).State);
        var sb = await Poll.TerminalAsync(pool, b);
        Assert.Equal(["lab-b"], sb.Nodes);
        using var engine2 = fixture.Client(fixture.Host2);
        using var engine1 = fixture.Client(fixture.Host1);
        Assert.NotNull(await engine2.InspectContainerAsync(b.Split('/')[1], null));
        Assert.Null(await engine1.InspectContainerAsync(b.Split('/')[1], null));
        Assert.Equal("on-b\n", (await pool.GetLogsAsync(b)).StandardOutput);
        await pool.CompleteAsync(a);
        await pool.CompleteAsync(b);
    }

    [BackendFact("Docker", Env)]
    public async Task StopOneEngine_ItsJobsNodeFailed_OtherEnginesJobsComplete()
    {
        var pool = Pool(TimeSpan.FromSeconds(2));
        string onB = await pool.SubmitAsync(Request("lab-b", JobPayload.Container(fixture.Image, "sleep", "120")));
        await Poll.UntilAsync(pool, onB, s => s.State == JobState.Running, "Running");
        try
        {
            await fixture.ControlAsync("stop-engine", 2);
            string onA = await pool.SubmitAsync(Request("lab-a", JobPayload.Command("sleep 2; echo fine")));
            var failed = await Poll.TerminalAsync(pool, onB, 30);
            Assert.Equal(JobState.NodeFailed, failed.State);
            Assert.Contains("lab-b", failed.Reason, StringComparison.Ordinal);
            Assert.Contains("unreachable", failed.Reason, StringComparison.Ordinal);
            var nodes = await pool.GetNodesAsync();
            Assert.Equal(NodeState.Down, nodes.Single(n => n.Name == "lab-b").State);
            Assert.Equal(NodeState.Up, nodes.Single(n => n.Name == "lab-a").State);
            var done = await Poll.TerminalAsync(pool, onA);
            Assert.Equal(JobState.Completed, done.State);
            await pool.CompleteAsync(onB); // engine down: cleanup is deferred, not an error
            await pool.CompleteAsync(onA);
        }
        finally
        {
            await fixture.ControlAsync("start-engine", 2);
        }
        // Back up: the node is Up again and the NodeFailed job's container (kept running by live-restore) is removed.
        await Poll.ConditionAsync(async () => (await pool.GetNodesAsync()).Single(n => n.Name == "lab-b").State, s => s == NodeState.Up, "lab-b Up");
        using var engine2 = fixture.Client(fixture.Host2);
        await Poll.ConditionAsync(() => engine2.InspectContainerAsync(onB.Split('/')[1], null), c => c is null, "NodeFailed container removed");
        Assert.Equal(JobState.NodeFailed, (await pool.GetStatusAsync(onB))!.State);
    }

    [BackendFact("Docker", Env)]
    public async Task RestartEngine_DuringRunningJob_JobTrackedAgainAndCompletes()
    {
        var pool = Pool(TimeSpan.FromSeconds(60));
        string id = await pool.SubmitAsync(Request("lab-b", JobPayload.Command("sleep 6; echo survived")));
        await Poll.UntilAsync(pool, id, s => s.State == JobState.Running, "Running");
        await fixture.ControlAsync("stop-engine", 2);
        try
        {
            var during = await pool.GetStatusAsync(id);
            Assert.Equal(JobState.Running, during!.State);
            Assert.Contains("unreachable", during.Reason, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.ControlAsync("start-engine", 2);
        }
        var status = await Poll.TerminalAsync(pool, id);
        Assert.Equal(JobState.Completed, status.State);
        Assert.Contains("survived", (await pool.GetLogsAsync(id)).StandardOutput, StringComparison.Ordinal);
        await pool.CompleteAsync(id);
    }
}
