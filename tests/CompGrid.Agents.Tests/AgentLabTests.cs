using CompGrid.Testing;

namespace CompGrid.Agents.Tests;

/// <summary>
/// Real agents in real network namespaces, driven through the engine: registration on their own, jobs placed by
/// CompGrid, a crashed agent, a restarted portal. Runs on the real clock (real processes), with generous limits.
/// </summary>
[Collection(AgentLabCollection.Name)]
[Trait("Category", "Agents")]
public sealed class AgentLabTests(AgentLab lab)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static JobSpec Job(string command, int machine, int walltimeSeconds = 120) => new()
    {
        Owner = "alice", Payload = JobPayload.Command(command),
        Resources = new ResourceRequest { Cpus = 1, MemoryMiB = 64 }, Walltime = TimeSpan.FromSeconds(walltimeSeconds),
        Constraints = new JobConstraints { RequiredFeatures = [$"m{machine + 1}"] },
    };

    [BackendFact("network namespaces", "COMPGRID_NETNS")]
    public async Task ThreeAgents_RegisterThemselves_RunTheJobsCompGridPlaces_AndLeaveNoFiles()
    {
        var nodes = await lab.Engine.GetNodesAsync();
        Assert.Equal(["lab-1", "lab-2", "lab-3"], nodes.Where(n => n.Backend == "agents").Select(n => n.Name).Order(StringComparer.Ordinal));
        Assert.All(nodes, n => Assert.Equal(new NodeResources(2, 1024, 0), n.Capacity)); // what each agent offered

        var handles = new List<JobHandle>();
        for (int i = 0; i < AgentLab.Machines; i++)
            handles.Add(await lab.Engine.SubmitAsync(Job($"echo hello from job {i}; echo oops >&2; exit {i}", i)));
        for (int i = 0; i < AgentLab.Machines; i++)
        {
            var job = await lab.WaitForStateAsync(handles[i].Id, s => s.IsTerminal(), Limit);
            Assert.True((i == 0 ? JobState.Completed : JobState.Failed, i) == (job.State, job.ExitCode),
                $"job {i}: {job.State} exit {job.ExitCode} ({job.Reason}); agents:\n{lab.AgentOutput()}");
            Assert.Equal([AgentLab.MachineName(i)], job.Nodes);
            var logs = await lab.Engine.GetLogsAsync(job.Id);
            Assert.Equal($"hello from job {i}\n", logs.StandardOutput);
            Assert.Equal("oops\n", logs.StandardError);
        }
        for (int i = 0; i < AgentLab.Machines; i++)
        {
            int m = i;
            await AgentLab.WaitForAsync(() => Task.FromResult(lab.Leftovers(m).Count == 0), Limit, $"machine {m}'s workspace emptied: {string.Join(", ", lab.Leftovers(m))}");
        }
    }

    [BackendFact("network namespaces", "COMPGRID_NETNS")]
    public async Task KilledAgent_FailsOnlyItsOwnJob_AndCleansUpWhenItComesBack()
    {
        var doomed = await lab.Engine.SubmitAsync(Job("sleep 20", 2));
        var survivor = await lab.Engine.SubmitAsync(Job("sleep 2; echo survived", 0));
        await lab.WaitForStateAsync(doomed.Id, s => s == JobState.Running, Limit);
        await lab.WaitForStateAsync(survivor.Id, s => s == JobState.Running, Limit);

        lab.KillAgent(2);

        var failed = await lab.WaitForStateAsync(doomed.Id, s => s.IsTerminal(), Limit);
        Assert.Equal(JobState.NodeFailed, failed.State);
        var done = await lab.WaitForStateAsync(survivor.Id, s => s.IsTerminal(), Limit);
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal("survived\n", (await lab.Engine.GetLogsAsync(done.Id)).StandardOutput);
        Assert.Equal(NodeState.Down, (await lab.Engine.GetNodesAsync()).Single(n => n.Name == "lab-3").State);

        // Back again: the portal tells it to stop and remove the job it had already given up on.
        lab.StartAgent(2);
        await AgentLab.WaitForAsync(async () => (await lab.Engine.GetNodesAsync()).Single(n => n.Name == "lab-3").State == NodeState.Up, Limit, "lab-3 back");
        await AgentLab.WaitForAsync(() => Task.FromResult(lab.Leftovers(2).Count == 0), Limit, "lab-3's workspace emptied");
        Assert.Equal(JobState.NodeFailed, (await lab.Engine.GetJobAsync(doomed.Id))!.State);
    }

    [BackendFact("network namespaces", "COMPGRID_NETNS")]
    public async Task PortalRestart_AgentsReconnect_AndTheRunningJobFinishesUnderTheNewPortal()
    {
        var job = await lab.Engine.SubmitAsync(Job("sleep 4; echo finished", 1));
        await lab.WaitForStateAsync(job.Id, s => s == JobState.Running, Limit);

        await lab.StopPortalAsync();
        await lab.StartPortalAsync();

        var done = await lab.WaitForStateAsync(job.Id, s => s.IsTerminal(), Limit);
        Assert.Equal((JobState.Completed, 0), (done.State, done.ExitCode));
        Assert.Contains("finished", (await lab.Engine.GetLogsAsync(done.Id)).StandardOutput, StringComparison.Ordinal);
        await AgentLab.WaitForAsync(async () => (await lab.Engine.GetNodesAsync()).Count(n => n.State == NodeState.Up) == AgentLab.Machines, Limit, "all agents back");
    }
}
