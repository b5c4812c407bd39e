using System.Security.Cryptography;
using System.Text;
using CompGrid.Agents.Protocol;
using CompGrid.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Agents.Tests;

/// <summary>The portal side without a network: the registry and the backend over a recording channel, on a manual clock.</summary>
[Trait("Category", "Agents")]
public sealed class AgentRegistryTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly RecordingChannel _channel = new();

    internal static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private (AgentRegistry Registry, AgentComputeBackend Backend) Create(Action<AgentBackendOptions>? configure = null)
    {
        var options = new AgentBackendOptions
        {
            Machines =
            {
                ["lab-01"] = new AgentMachineOptions { TokenSha256 = Hash("token-1") },
                ["lab-02"] = new AgentMachineOptions { TokenSha256 = Hash("token-2"), MaxCpus = 2 },
            },
            HeartbeatInterval = TimeSpan.FromSeconds(5),
            HeartbeatTimeout = TimeSpan.FromSeconds(20),
            ReconnectGracePeriod = TimeSpan.FromSeconds(60),
        };
        configure?.Invoke(options);
        var registry = new AgentRegistry(options, _time, NullLogger.Instance);
        return (registry, new AgentComputeBackend("agents", registry, _channel, NullLogger.Instance));
    }

    private static AgentRegistration Machine(int cpus = 4, params AgentJobReport[] jobs) =>
        new() { Hostname = "h", Cpus = cpus, MemoryMiB = 8192, Features = ["lab"], Jobs = jobs };

    private static BackendJobRequest Request(string id, string node, int cpus = 1) => new()
    {
        JobId = id, Spec = new JobSpec { Owner = "alice", Account = "g1", Payload = JobPayload.Command("echo hi"), Resources = new ResourceRequest { Cpus = cpus } },
        Nodes = [node], MemoryMiBPerNode = 512, Walltime = TimeSpan.FromMinutes(5),
    };

    [Fact]
    public void Authenticate_TokenDecidesTheMachine_UnknownTokensGetNothing()
    {
        var (registry, _) = Create();
        Assert.Equal("lab-01", registry.Authenticate("token-1"));
        Assert.Equal("lab-02", registry.Authenticate("token-2"));
        Assert.Null(registry.Authenticate("token-3"));
        Assert.Null(registry.Authenticate(""));
        Assert.Null(registry.Authenticate(new string('x', 5000)));
    }

    [Fact]
    public async Task Nodes_BeforeRegistration_AreDown_ThenUpWithWhatTheyReport_CappedByConfiguration()
    {
        var (registry, backend) = Create();
        Assert.All(await backend.GetNodesAsync(), n => Assert.Equal(NodeState.Down, n.State));
        registry.Register("lab-01", "c1", Machine(cpus: 4));
        registry.Register("lab-02", "c2", Machine(cpus: 64));
        var nodes = await backend.GetNodesAsync();
        Assert.Equal(new NodeResources(4, 8192, 0), nodes.Single(n => n.Name == "lab-01").Capacity);
        Assert.Equal(2, nodes.Single(n => n.Name == "lab-02").Capacity.Cpus); // MaxCpus wins over what the agent claims
        Assert.All(nodes, n => Assert.Equal(NodeState.Up, n.State));
        Assert.All(nodes, n => Assert.Equal(["agents"], n.Partitions));
    }

    [Fact]
    public async Task Submit_SendsTheJobToItsMachine_AndHoldsCapacityUntilItEnds()
    {
        var (registry, backend) = Create();
        registry.Register("lab-01", "c1", Machine(cpus: 4));
        string id = await backend.SubmitAsync(Request("cg-1", "lab-01", cpus: 3));
        Assert.Equal("lab-01/cg-1", id);
        var (connection, method, argument) = Assert.Single(_channel.Sent);
        Assert.Equal(("c1", AgentProtocol.RunJob), (connection, method));
        Assert.Equal("cg-1", ((AgentJobAssignment)argument).JobId);
        Assert.Equal(1, (await backend.GetNodesAsync()).Single(n => n.Name == "lab-01").Free.Cpus);

        _time.Advance(TimeSpan.FromSeconds(1));
        registry.Report("lab-01", new AgentJobReport { JobId = "cg-1", State = JobState.Running });
        _time.Advance(TimeSpan.FromSeconds(30));
        registry.Heartbeat("lab-01", "c1");
        registry.Report("lab-01", new AgentJobReport { JobId = "cg-1", State = JobState.Completed, ExitCode = 0, CpuTime = TimeSpan.FromSeconds(12) });
        var status = await backend.GetStatusAsync(id);
        Assert.Equal(JobState.Completed, status!.State);
        var usage = await backend.GetUsageAsync(id);
        Assert.Equal(TimeSpan.FromSeconds(30), usage!.Elapsed); // the portal's own observation of start and end
        Assert.Equal(4, (await backend.GetNodesAsync()).Single(n => n.Name == "lab-01").Free.Cpus);
    }

    [Fact]
    public async Task Report_FromAnotherMachine_IsIgnored()
    {
        var (registry, backend) = Create();
        registry.Register("lab-01", "c1", Machine());
        registry.Register("lab-02", "c2", Machine());
        string id = await backend.SubmitAsync(Request("cg-1", "lab-01"));
        Assert.False(registry.Report("lab-02", new AgentJobReport { JobId = "cg-1", State = JobState.Completed, ExitCode = 0 }));
        registry.AppendLog("lab-02", new AgentLogChunk { JobId = "cg-1", Text = "forged" });
        Assert.Equal(JobState.Queued, (await backend.GetStatusAsync(id))!.State);
        Assert.Equal("", (await backend.GetLogsAsync(id)).StandardOutput);
    }

    [Fact]
    public async Task Report_CannotMoveAJobBackward_NorReviveAnEndedOne()
    {
        var (registry, backend) = Create();
        registry.Register("lab-01", "c1", Machine());
        string id = await backend.SubmitAsync(Request("cg-1", "lab-01"));
        registry.Report("lab-01", new AgentJobReport { JobId = "cg-1", State = JobState.Failed, ExitCode = 3 });
        Assert.False(registry.Report("lab-01", new AgentJobReport { JobId = "cg-1", State = JobState.Running }));
        Assert.False(registry.Report("lab-01", new AgentJobReport { JobId = "cg-1", State = JobState.Completed, ExitCode = 0 }));
        var status = await backend.GetStatusAsync(id);
        Assert.Equal((JobState.Failed, 3), (status!.State, status.ExitCode));
    }

    [Fact]
    public async Task MissingHeartbeats_MachineDown_OnlyItsJobsNodeFailed()
    {
        var (registry, backend) = Create();
        registry.Register("lab-01", "c1", Machine());
        registry.Register("lab-02", "c2", Machine());
        string a = await backend.SubmitAsync(Request("cg-a", "lab-01"));
        string b = await backend.SubmitAsync(Request("cg-b", "lab-02"));
        registry.Report("lab-01", new AgentJobReport { JobId = "cg-a", State = JobState.Running });
        registry.Report("lab-02", new AgentJobReport { JobId = "cg-b", State = JobState.Running });
        for (int i = 0; i < 5; i++) { _time.Advance(TimeSpan.FromSeconds(5)); registry.Heartbeat("lab-02", "c2"); }
        Assert.Equal(JobState.NodeFailed, (await backend.GetStatusAsync(a))!.State);
        Assert.Equal(JobState.Running, (await backend.GetStatusAsync(b))!.State);
        var nodes = await backend.GetNodesAsync();
        Assert.Equal(NodeState.Down, nodes.Single(n => n.Name == "lab-01").State);
        Assert.Equal(NodeState.Up, nodes.Single(n => n.Name == "lab-02").State);
        await Assert.ThrowsAsync<CompGridException>(() => backend.SubmitAsync(Request("cg-c", "lab-01")));
    }

    [Fact]
    public async Task Reregistration_AfterTheJobWasFailed_TellsTheAgentToStopIt()
    {
        var (registry, backend) = Create();
        registry.Register("lab-01", "c1", Machine());
        await backend.SubmitAsync(Request("cg-a", "lab-01"));
        _time.Advance(TimeSpan.FromSeconds(25));
        registry.ExpireSilentMachines();
        var (_, stale) = registry.Register("lab-01", "c9", Machine(jobs: new AgentJobReport { JobId = "cg-a", State = JobState.Running }));
        Assert.Equal(["cg-a"], stale);
        Assert.Equal(NodeState.Up, (await backend.GetNodesAsync()).Single(n => n.Name == "lab-01").State);
    }

    [Fact]
    public async Task PortalRestart_UnknownJobIsTransientUntilTheAgentReturns_ThenAdopted()
    {
        var (registry, backend) = Create();
        var ex = await Assert.ThrowsAsync<CompGridException>(() => backend.GetStatusAsync("lab-01/cg-old"));
        Assert.True(ex.IsTransient);
        registry.Register("lab-01", "c1", Machine(jobs: new AgentJobReport { JobId = "cg-old", State = JobState.Running, Cpus = 2 }));
        Assert.Equal(JobState.Running, (await backend.GetStatusAsync("lab-01/cg-old"))!.State);
        Assert.Equal(2, (await backend.GetNodesAsync()).Single(n => n.Name == "lab-01").Free.Cpus);
        Assert.Null(await backend.GetStatusAsync("lab-01/cg-never")); // the agent is back and does not have it: lost
    }

    [Fact]
    public async Task PortalRestart_AgentNeverReturns_JobLostAfterTheGracePeriod()
    {
        var (_, backend) = Create();
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Null(await backend.GetStatusAsync("lab-01/cg-old"));
    }

    [Fact]
    public async Task Cancel_WhileTheAgentIsAway_EndsTheJobHere()
    {
        var (registry, backend) = Create();
        registry.Register("lab-01", "c1", Machine());
        string id = await backend.SubmitAsync(Request("cg-a", "lab-01"));
        registry.Disconnected("lab-01", "c1");
        await backend.CancelAsync(id);
        Assert.Equal(JobState.Cancelled, (await backend.GetStatusAsync(id))!.State);
    }

    [Fact]
    public async Task Logs_KeepTheNewestOutputUpToTheLimit()
    {
        var (registry, backend) = Create(o => o.MaxLogBytes = 10);
        registry.Register("lab-01", "c1", Machine());
        string id = await backend.SubmitAsync(Request("cg-a", "lab-01"));
        registry.AppendLog("lab-01", new AgentLogChunk { JobId = "cg-a", Text = "0123456789" });
        registry.AppendLog("lab-01", new AgentLogChunk { JobId = "cg-a", Text = "abc" });
        var logs = await backend.GetLogsAsync(id);
        Assert.Equal("3456789abc", logs.StandardOutput);
        Assert.True(logs.Truncated);
    }

    [Fact]
    public void Register_OtherProtocolVersion_IsRefusedClearly()
    {
        var (registry, _) = Create();
        var ex = Assert.Throws<CompGridException>(() => registry.Register("lab-01", "c1", Machine() with { ProtocolVersion = 99 }));
        Assert.Equal(CompGridErrorCodes.UnsupportedVersion, ex.Code);
    }

    [Fact]
    public void Validator_NamesEachBadSetting()
    {
        var errors = AgentBackendOptionsValidator.Errors("agents", new AgentBackendOptions
        {
            Machines = { ["bad name"] = new AgentMachineOptions { TokenSha256 = "abc" }, ["a"] = new() { TokenSha256 = Hash("t") }, ["b"] = new() { TokenSha256 = Hash("t") } },
            HeartbeatInterval = TimeSpan.FromSeconds(10), HeartbeatTimeout = TimeSpan.FromSeconds(5), MaxLogBytes = 0,
        });
        Assert.Contains(errors, e => e.Contains("Machines:bad name", StringComparison.Ordinal) && e.Contains("machine name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Machines:bad name:TokenSha256", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("share one token", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("HeartbeatTimeout", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("MaxLogBytes", StringComparison.Ordinal));
    }

    private sealed class RecordingChannel : IAgentChannel
    {
        public List<(string Connection, string Method, object Argument)> Sent { get; } = [];

        public Task SendAsync(string connectionId, string method, object argument, CancellationToken cancellationToken)
        {
            Sent.Add((connectionId, method, argument));
            return Task.CompletedTask;
        }
    }
}
