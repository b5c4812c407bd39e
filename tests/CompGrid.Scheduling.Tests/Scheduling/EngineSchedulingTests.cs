using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Scheduling.Tests.Scheduling;

/// <summary>The engine running the scheduling cycle: reasons with estimated starts, backfill, limits, named policies.</summary>
[Trait("Category", "Scheduling")]
public sealed class EngineSchedulingTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private readonly InMemoryJobStore _store = new();
    private readonly List<CompGridEngine> _engines = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (CompGridEngine e in _engines) await e.DisposeAsync();
    }

    private async Task<CompGridEngine> StartAsync(Action<ICompGridBuilder>? more = null)
    {
        var backend = new InMemoryBackend("mem", _time, nodes: 2, cpusPerNode: 4, memoryMiBPerNode: 4096);
        var engine = CompGridEngine.Create(b =>
        {
            b.AddBackend(backend).UseJobStore(_store).UseTimeProvider(_time);
            more?.Invoke(b);
        });
        _engines.Add(engine);
        await engine.StartAsync();
        return engine;
    }

    private static JobSpec Job(int cpus, TimeSpan walltime, int nodes = 1, string owner = "alice") => new()
    {
        Name = "t", Owner = owner, Payload = JobPayload.Command("sleep 1000"), Walltime = walltime, Resources = new() { Cpus = cpus, Nodes = nodes },
    };

    [Fact]
    public async Task PendingJob_ReasonCarriesEstimatedStartFromWalltimes()
    {
        var engine = await StartAsync();
        await engine.SubmitAsync(Job(4, TimeSpan.FromHours(1)));
        await engine.SubmitAsync(Job(4, TimeSpan.FromHours(2)));
        await engine.RunCycleAsync();
        var waiting = await engine.SubmitAsync(Job(4, TimeSpan.FromHours(1)));
        await engine.RunCycleAsync();
        JobRecord w = await waiting.GetAsync();
        Assert.Equal(JobState.Queued, w.State);
        Assert.StartsWith("Resources", w.Reason, StringComparison.Ordinal);
        Assert.Contains("estimated start 2026-01-01T01:00:00Z", w.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backfill_ShortJobStartsAheadOfBlockedGang_LongJobWaitsForReservation()
    {
        var engine = await StartAsync(b => b.Configure(o => o.QueueOrdering = "fifo"));
        var running = await engine.SubmitAsync(Job(4, TimeSpan.FromHours(1)));
        await engine.RunCycleAsync();
        var gang = await engine.SubmitAsync(Job(4, TimeSpan.FromHours(1), nodes: 2));
        _time.Advance(TimeSpan.FromSeconds(1));
        var longJob = await engine.SubmitAsync(Job(1, TimeSpan.FromHours(3)));
        _time.Advance(TimeSpan.FromSeconds(1));
        var shortJob = await engine.SubmitAsync(Job(1, TimeSpan.FromMinutes(10)));
        await engine.RunCycleAsync();
        await engine.RunCycleAsync();
        Assert.Equal(JobState.Running, (await running.GetAsync()).State);
        Assert.StartsWith("Resources", (await gang.GetAsync()).Reason, StringComparison.Ordinal);
        Assert.StartsWith("Reservation", (await longJob.GetAsync()).Reason, StringComparison.Ordinal);
        Assert.NotNull((await shortJob.GetAsync()).BackendJobId);
    }

    [Fact]
    public async Task Limits_UserAtRunningLimit_WaitsWithLimitReason_AndSubmitLimitRejects()
    {
        var engine = await StartAsync(b => b.AddResourceLimits(l => l.Users["alice"] = new() { MaxRunningJobs = 1, MaxSubmittedJobs = 2 }));
        var first = await engine.SubmitAsync(Job(1, TimeSpan.FromHours(1)));
        _time.Advance(TimeSpan.FromSeconds(1));
        var second = await engine.SubmitAsync(Job(1, TimeSpan.FromHours(1)));
        await engine.RunCycleAsync();
        Assert.NotNull((await first.GetAsync()).BackendJobId);
        Assert.StartsWith("Limit", (await second.GetAsync()).Reason, StringComparison.Ordinal);
        var ex = await Assert.ThrowsAsync<JobRejectedException>(() => engine.SubmitAsync(Job(1, TimeSpan.FromHours(1))));
        Assert.Equal("limit", ex.Code);
    }

    [Theory]
    [InlineData("best-fit", "multifactor")]
    [InlineData("spread", "fair-tree")]
    [InlineData("gpu-aware", "fifo")]
    public async Task NamedPolicies_FromOptions_ScheduleJobs(string placement, string ordering)
    {
        var engine = await StartAsync(b => b.Configure(o => { o.PlacementPolicy = placement; o.QueueOrdering = ordering; }));
        var job = await engine.SubmitAsync(Job(2, TimeSpan.FromHours(1)));
        await engine.RunCycleAsync();
        Assert.NotNull((await job.GetAsync()).BackendJobId);
    }

    [Fact]
    public async Task Start_UnknownOrderingName_FailsAtStartUp()
    {
        var engine = CompGridEngine.Create(b => b.AddBackend(new InMemoryBackend("m", _time)).UseJobStore(new InMemoryJobStore()).Configure(o => o.QueueOrdering = "lottery"));
        _engines.Add(engine);
        var ex = await Assert.ThrowsAsync<CompGridException>(() => engine.StartAsync());
        Assert.Contains("fair-tree", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddCompGrid_InvalidSchedulingOptions_FailValidation()
    {
        var services = new ServiceCollection();
        services.AddCompGrid().ConfigureScheduling(s => s.FairShare.UsageHalfLife = TimeSpan.Zero);
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(
            () => provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<SchedulingPolicyOptions>>().Value);
        Assert.Contains("UsageHalfLife", ex.Message, StringComparison.Ordinal);
    }
}

[Trait("Category", "Scheduling")]
public sealed class EnginePriorityTests
{
    [Fact]
    public async Task ExplainPriorityAsync_MultifactorQueuedJob_BreaksDownByFactor()
    {
        var time = new ManualTimeProvider();
        await using var engine = CompGridEngine.Create(b => b.AddBackend(new InMemoryBackend("mem", time, nodes: 1, cpusPerNode: 2, memoryMiBPerNode: 2048))
            .UseJobStore(new InMemoryJobStore()).UseTimeProvider(time).Configure(o => o.QueueOrdering = "multifactor"));
        await engine.StartAsync();
        // The blocker outlives the advance below (its 1 h default walltime too), so the engine's own loop, woken
        // by the advance, cannot start the waiting job before it is explained.
        await engine.SubmitAsync(new JobSpec { Owner = "a", Payload = JobPayload.Command("sleep 100000"), Resources = new() { Cpus = 2 } });
        await engine.RunCycleAsync();
        var waiting = await engine.SubmitAsync(new JobSpec { Owner = "b", Account = "x", Nice = 10, Payload = JobPayload.Command("true"), Resources = new() { Cpus = 1 } });
        time.Advance(TimeSpan.FromMinutes(30));
        var e = await engine.ExplainPriorityAsync(waiting.Id);
        Assert.NotNull(e);
        Assert.Equal(10, e.Nice);
        Assert.True(e.AgeFactor > 0);
        Assert.Equal(e.Age + e.FairShare + e.JobSize + e.Qos + e.Partition - e.Nice, e.Priority, 6);
    }
}
