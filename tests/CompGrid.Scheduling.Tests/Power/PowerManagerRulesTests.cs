using CompGrid.Scheduling.Availability;
using CompGrid.Scheduling.Power;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Scheduling.Tests.Power;

/// <summary>
/// The power manager's Slurm-like rules not covered beside the QEMU provider — ResumeTimeout on the clock, SuspendRate,
/// SuspendExcNodes/Parts — and its availability windows, on the in-memory backend and a manual clock.
/// </summary>
[Trait("Category", "Scheduling")]
public sealed class PowerManagerRulesTests : IAsyncLifetime
{
    // Monday 2026-12-07 12:00 UTC; the lab pool is open 20:00–07:00 UTC every day.
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryBackend _backend;
    private readonly PoweredNodes _nodes;
    private readonly AvailabilitySchedule _windows = AvailabilitySchedule.Create(new AvailabilityOptions
    {
        Pools = [new NodePoolOptions { Name = "lab", Backend = "lab", Windows = [new() { Days = [.. Enum.GetValues<DayOfWeek>()], Start = TimeSpan.FromHours(20), End = TimeSpan.FromHours(7) }] }],
    });
    private CompGridEngine _grid = null!;

    public PowerManagerRulesTests()
    {
        _backend = new InMemoryBackend("lab", _clock, nodes: 3);
        _nodes = new PoweredNodes(_backend);
    }

    public async Task InitializeAsync()
    {
        foreach (var n in (await _backend.GetNodesAsync()).ToList()) _backend.SetNodeState(n.Name, NodeState.PoweredOff);
        _grid = CompGridEngine.Create(b => b.AddBackend(_backend).UseJobStore(new InMemoryJobStore()).UseTimeProvider(_clock));
        await _grid.StartAsync();
    }

    public async Task DisposeAsync() => await _grid.DisposeAsync();

    private PowerManager Manager(Action<PowerManagerOptions>? configure = null, bool windows = false)
    {
        var o = new PowerManagerOptions { IdleTime = TimeSpan.FromMinutes(5) };
        configure?.Invoke(o);
        return PowerManager.Create(_grid, [_nodes], o, timeProvider: _clock, availability: windows ? _windows : null);
    }

    private Task<JobHandle> Submit(TimeSpan walltime) =>
        _grid.SubmitAsync(new JobSpec { Owner = "bob", Payload = JobPayload.Command("true"), Resources = new() { Cpus = 1 }, Walltime = walltime });

    private void AllUp()
    {
        foreach (var n in new[] { "lab-n1", "lab-n2", "lab-n3" }) _backend.SetNodeState(n, NodeState.Up);
    }

    [Fact]
    public async Task RunOnce_NodeDoesNotComeUpWithinResumeTimeout_IsMarkedDownOnTheClock()
    {
        _nodes.Hang = true;
        await Submit(TimeSpan.FromHours(1));
        var power = Manager(o => o.ResumeTimeout = TimeSpan.FromMinutes(3));

        Assert.Single((await power.RunOnceAsync()).Starting);
        await _nodes.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(power.DownNodes);
        _clock.Advance(TimeSpan.FromMinutes(3));
        await power.WhenSettledAsync().WaitAsync(TimeSpan.FromSeconds(10));

        var (node, reason) = Assert.Single(power.DownNodes);
        Assert.Equal("not up within ResumeTimeout 00:03:00", reason);
        Assert.DoesNotContain(node, (await power.RunOnceAsync()).Starting);   // a down node is not tried again
    }

    [Fact]
    public async Task RunOnce_SuspendRate_StopsAtMostThatManyIdleNodesPerMinute()
    {
        AllUp();
        var power = Manager(o => o.SuspendRate = 1);
        await power.RunOnceAsync();
        _clock.Advance(TimeSpan.FromMinutes(5));

        var first = await power.RunOnceAsync();
        Assert.Single(first.Stopping);
        Assert.Equal(2, first.Deferred.Count);
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Single((await power.RunOnceAsync()).Stopping);
    }

    [Fact]
    public async Task RunOnce_SuspendExcludedNodesAndPartitions_AreNeverStopped()
    {
        AllUp();
        var byNode = Manager(o => o.SuspendExcludedNodes = ["lab/lab-n1", "lab/lab-n2"]);
        await byNode.RunOnceAsync();
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(["lab/lab-n3"], (await byNode.RunOnceAsync()).Stopping);

        var byPartition = Manager(o => o.SuspendExcludedPartitions = ["default"]);
        await byPartition.RunOnceAsync();
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Empty((await byPartition.RunOnceAsync()).Stopping);
    }

    [Fact]
    public async Task RunOnce_WindowClosed_DoesNotStartANodeForAQueuedJob()
    {
        await Submit(TimeSpan.FromHours(1));
        var power = Manager(windows: true);

        Assert.Empty((await power.RunOnceAsync()).Starting);   // 12:00: closed
        _clock.Advance(TimeSpan.FromHours(8));                   // 20:00: open
        Assert.Single((await power.RunOnceAsync()).Starting);
    }

    [Fact]
    public async Task RunOnce_WindowEndsBeforeTheWalltime_DoesNotStartANode()
    {
        _clock.Advance(TimeSpan.FromHours(17));   // Tuesday 05:00: two hours left
        await Submit(TimeSpan.FromHours(3));
        var power = Manager(windows: true);

        Assert.Empty((await power.RunOnceAsync()).Starting);
        await Submit(TimeSpan.FromHours(1));
        Assert.Single((await power.RunOnceAsync()).Starting);
    }

    [Fact]
    public async Task RunOnce_WindowCloses_StopsIdleNodesWithoutWaitingForIdleTime()
    {
        _clock.Advance(TimeSpan.FromHours(18.5));   // Tuesday 06:30
        AllUp();
        var power = Manager(o => o.IdleTime = TimeSpan.FromHours(2), windows: true);
        Assert.Empty((await power.RunOnceAsync()).Stopping);

        _clock.Advance(TimeSpan.FromMinutes(30));   // 07:00: the window closed
        var actions = await power.RunOnceAsync();
        await power.WhenSettledAsync();
        Assert.Equal(3, actions.Stopping.Count);
        Assert.Equal(3, _nodes.Stopped.Count);
    }

    [Fact]
    public void Create_InvalidExclusions_NamesTheOptionAndRule()
    {
        var ex = Assert.Throws<ArgumentException>(() => Manager(o => { o.SuspendExcludedNodes = ["lab-n1"]; o.SuspendExcludedPartitions = [""]; }));
        Assert.Contains("SuspendExcludedNodes: 'lab-n1' must be backend/node", ex.Message);
        Assert.Contains("SuspendExcludedPartitions must not contain an empty name", ex.Message);
    }

    /// <summary>Powers the in-memory backend's nodes by flipping their state; can hang on start until cancelled.</summary>
    private sealed class PoweredNodes(InMemoryBackend backend) : INodeProvider
    {
        public bool Hang { get; set; }
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public List<string> Stopped { get; } = [];
        public string Backend => backend.Name;

        public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default) => backend.GetNodesAsync(cancellationToken);

        public async Task StartNodeAsync(string node, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            if (Hang) await Task.Delay(Timeout.Infinite, cancellationToken);
            backend.SetNodeState(node, NodeState.Up);
        }

        public Task StopNodeAsync(string node, CancellationToken cancellationToken = default)
        {
            lock (Stopped) Stopped.Add(node);
            backend.SetNodeState(node, NodeState.PoweredOff);
            return Task.CompletedTask;
        }
    }
}
