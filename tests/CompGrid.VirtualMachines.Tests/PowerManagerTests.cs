using CompGrid.Scheduling.Power;

namespace CompGrid.VirtualMachines.Tests;

/// <summary>The power manager's rules on the in-memory backend and a manual clock.</summary>
public sealed class PowerManagerTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _clock = new();
    private readonly InMemoryBackend _backend;
    private readonly SwitchableNodes _provider;
    private CompGridEngine _grid = null!;

    public PowerManagerTests()
    {
        _backend = new InMemoryBackend("lab", _clock, nodes: 3);
        _provider = new SwitchableNodes(_backend);
    }

    public async Task InitializeAsync()
    {
        foreach (var n in (await _backend.GetNodesAsync()).ToList()) _backend.SetNodeState(n.Name, NodeState.PoweredOff);
        _grid = CompGridEngine.Create(b => b.AddBackend(_backend).UseJobStore(new InMemoryJobStore()).UseTimeProvider(_clock));
        await _grid.StartAsync();
    }

    public async Task DisposeAsync() => await _grid.DisposeAsync();

    private PowerManager Manager(Action<PowerManagerOptions>? configure = null)
    {
        var o = new PowerManagerOptions { IdleTime = TimeSpan.FromMinutes(5) };
        configure?.Invoke(o);
        return PowerManager.Create(_grid, [_provider], o, timeProvider: _clock);
    }

    private Task<JobHandle> Submit(int cpus = 1) => _grid.SubmitAsync(new JobSpec { Owner = "bob", Payload = JobPayload.Command("true"), Resources = new() { Cpus = cpus } });

    [Fact]
    public async Task RunOnce_OneQueuedJob_StartsOneNodeNotAll()
    {
        await Submit();
        var power = Manager();

        var actions = await power.RunOnceAsync();
        await power.WhenSettledAsync();

        Assert.Single(actions.Starting);
        Assert.Single(_provider.Started);
    }

    [Fact]
    public async Task RunOnce_ResumeRate_DefersStartsBeyondTheRatePerMinute()
    {
        await Submit(cpus: 4); await Submit(cpus: 4); await Submit(cpus: 4);
        var power = Manager(o => o.ResumeRate = 2);

        var first = await power.RunOnceAsync();
        Assert.Equal(2, first.Starting.Count);
        Assert.Single(first.Deferred);
        await power.WhenSettledAsync();
        _clock.Advance(TimeSpan.FromMinutes(1));
        // Two nodes are up and hold (or are about to hold) two whole-node jobs: only the third job needs a node.
        var second = await power.RunOnceAsync();
        Assert.Single(second.Starting);
    }

    [Fact]
    public async Task RunOnce_ResumeFails_NodeIsMarkedDownAndNotTriedAgain()
    {
        _provider.FailStarts = true;
        await Submit();
        var power = Manager();

        await power.RunOnceAsync();
        await power.WhenSettledAsync();
        string failed = Assert.Single(power.DownNodes).Key;
        Assert.Contains("did not boot", power.DownNodes[failed]);

        var next = await power.RunOnceAsync();
        await power.WhenSettledAsync();
        Assert.DoesNotContain(failed, next.Starting);
        Assert.True(power.ReturnToService("lab", failed.Split('/')[1]));
    }

    [Fact]
    public async Task RunOnce_JobTooBigForEveryNode_StartsNothing()
    {
        await Submit(cpus: 64);
        var actions = await Manager().RunOnceAsync();
        Assert.Empty(actions.Starting);
    }

    [Fact]
    public async Task RunOnce_IdleUpNode_IsStoppedOnlyAfterIdleTime()
    {
        _backend.SetNodeState("lab-n1", NodeState.Up);
        var power = Manager();

        Assert.Empty((await power.RunOnceAsync()).Stopping);
        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Empty((await power.RunOnceAsync()).Stopping);
        _clock.Advance(TimeSpan.FromMinutes(1));
        var actions = await power.RunOnceAsync();
        await power.WhenSettledAsync();

        Assert.Equal(["lab/lab-n1"], actions.Stopping);
        Assert.Equal(["lab-n1"], _provider.Stopped);
    }

    [Fact]
    public void Create_InvalidOptions_NamesEachOptionAndRule()
    {
        var ex = Assert.Throws<ArgumentException>(() => PowerManager.Create(_grid, [_provider], new PowerManagerOptions { IdleTime = TimeSpan.Zero, ResumeRate = -1 }));
        Assert.Contains("IdleTime must be positive", ex.Message);
        Assert.Contains("ResumeRate must not be negative", ex.Message);
    }

    /// <summary>A node provider over the in-memory backend: "powering" a node flips its state.</summary>
    private sealed class SwitchableNodes(InMemoryBackend backend) : INodeProvider
    {
        public List<string> Started { get; } = [];
        public List<string> Stopped { get; } = [];
        public bool FailStarts { get; set; }

        public string Backend => backend.Name;

        public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default) => backend.GetNodesAsync(cancellationToken);

        public Task StartNodeAsync(string node, CancellationToken cancellationToken = default)
        {
            lock (Started) Started.Add(node);
            if (FailStarts) throw new CompGridException($"{node} did not boot") { Code = CompGridErrorCodes.NodeStartFailed };
            backend.SetNodeState(node, NodeState.Up);
            return Task.CompletedTask;
        }

        public Task StopNodeAsync(string node, CancellationToken cancellationToken = default)
        {
            lock (Stopped) Stopped.Add(node);
            backend.SetNodeState(node, NodeState.PoweredOff);
            return Task.CompletedTask;
        }
    }
}
