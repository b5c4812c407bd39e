using CompGrid.Scheduling.Availability;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Scheduling.Tests.Availability;

/// <summary>The engine with availability windows, on the in-memory backend and a manual clock.</summary>
[Trait("Category", "Scheduling")]
public sealed class WindowEngineTests : IAsyncLifetime
{
    // Monday 2026-12-07 12:00 UTC: the lab's nights (20:00–07:00 UTC, every day) are closed.
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryJobStore _store = new();
    private readonly RecordingSink _sink = new();
    private readonly InMemoryBackend _backend;
    private readonly List<CompGridEngine> _engines = [];

    public WindowEngineTests() => _backend = new InMemoryBackend("lab", _clock, nodes: 2, cpusPerNode: 4, memoryMiBPerNode: 4096);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var e in _engines) await e.DisposeAsync();
    }

    private static NodePoolOptions Nights(WindowEndAction atEnd = WindowEndAction.Requeue) => new()
    {
        Name = "lab", Backend = "lab", AtWindowEnd = atEnd,
        Windows = [new() { Days = [.. Enum.GetValues<DayOfWeek>()], Start = TimeSpan.FromHours(20), End = TimeSpan.FromHours(7) }],
    };

    private async Task<CompGridEngine> StartAsync(NodePoolOptions? pool)
    {
        var engine = CompGridEngine.Create(b =>
        {
            b.AddBackend(_backend).UseJobStore(_store).UseTimeProvider(_clock).AddUsageSink(_sink);
            if (pool is not null) b.AddAvailabilityWindows(o => o.Pools.Add(pool));
        });
        await engine.StartAsync();
        _engines.Add(engine);
        return engine;
    }

    private static JobSpec Job(string command, TimeSpan walltime) =>
        new() { Name = "w", Owner = "alice", Payload = JobPayload.Command(command), Resources = new() { Cpus = 1 }, Walltime = walltime };

    private async Task<JobRecord> CycleAsync(CompGridEngine engine, string id)
    {
        await engine.RunCycleAsync();
        await engine.RunCycleAsync();
        return (await engine.GetJobAsync(id))!;
    }

    [Fact]
    public async Task Submit_PoolClosed_WaitsWithOpeningAndStartsWhenItOpens()
    {
        var engine = await StartAsync(Nights());
        var job = await engine.SubmitAsync(Job("sleep 60", TimeSpan.FromHours(1)));

        var waiting = await CycleAsync(engine, job.Id);
        Assert.Equal(JobState.Queued, waiting.State);
        Assert.Equal("Resources: node pool lab opens at 2026-12-07T20:00:00+00:00; estimated start 2026-12-07T20:00:00Z", waiting.Reason);
        Assert.Empty(_backend.Submissions);

        _clock.Advance(TimeSpan.FromHours(8));
        var running = await CycleAsync(engine, job.Id);
        Assert.Equal(JobState.Running, running.State);
    }

    [Fact]
    public async Task Submit_WalltimeCrossesWindowEnd_IsNotPlacedButAShortJobIs()
    {
        _clock.Advance(TimeSpan.FromHours(17));   // Tuesday 05:00: the night ends at 07:00
        var engine = await StartAsync(Nights());
        var tooLong = await engine.SubmitAsync(Job("sleep 60", TimeSpan.FromHours(3)));
        var fits = await engine.SubmitAsync(Job("sleep 60", TimeSpan.FromHours(2)));

        var waiting = await CycleAsync(engine, tooLong.Id);
        Assert.Equal(JobState.Queued, waiting.State);
        Assert.Equal("Resources: node pool lab opens at 2026-12-08T20:00:00+00:00; estimated start 2026-12-08T20:00:00Z", waiting.Reason);
        Assert.Equal(JobState.Running, (await engine.GetJobAsync(fits.Id))!.State);
        Assert.Single(_backend.Submissions);
    }

    [Fact]
    public async Task Submit_WalltimeLongerThanEveryWindow_SaysItCanNeverRun()
    {
        var engine = await StartAsync(Nights());
        var job = await engine.SubmitAsync(Job("sleep 60", TimeSpan.FromHours(12)));

        var waiting = await CycleAsync(engine, job.Id);
        Assert.Equal(JobState.Queued, waiting.State);
        Assert.StartsWith("Resources: can never run here: its walltime 12:00:00 is longer than every window of node pool lab", waiting.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WindowEnd_RequeuePolicy_RequeuesThroughTheEngineAndChargesOnlyTheLaterRun()
    {
        // A job placed while no window applied (before the windows were configured) still runs at 12:00, when the lab is closed.
        var before = await StartAsync(null);
        var job = await before.SubmitAsync(Job("sleep 3600", TimeSpan.FromHours(2)));
        Assert.Equal(JobState.Running, (await CycleAsync(before, job.Id)).State);
        await before.DisposeAsync();
        _engines.Remove(before);
        _clock.Advance(TimeSpan.FromMinutes(30));

        var engine = await StartAsync(Nights());
        var requeued = await CycleAsync(engine, job.Id);
        Assert.Equal(JobState.Queued, requeued.State);
        Assert.Null(requeued.BackendJobId);
        Assert.Empty(requeued.Nodes);
        Assert.Null(requeued.StartedAt);
        var history = await _store.GetHistoryAsync(job.Id);
        var back = Assert.Single(history, t => t.From == JobState.Running && t.To == JobState.Queued);
        Assert.StartsWith("requeued: the window of node pool lab closed at 2026-12-07T12:30:00+00:00 (the 00:30:00 it ran on lab-n1 is not charged)", back.Reason, StringComparison.Ordinal);

        _clock.Advance(TimeSpan.FromHours(7.5));   // 20:00: open until 07:00
        Assert.Equal(JobState.Running, (await CycleAsync(engine, job.Id)).State);
        _clock.Advance(TimeSpan.FromHours(1));
        var done = await CycleAsync(engine, job.Id);
        Assert.Equal(JobState.Completed, done.State);
        var usage = Assert.Single(_sink.Records.Values, u => u.JobId == job.Id);
        Assert.Equal(TimeSpan.FromHours(1), usage.Elapsed);   // the lost half hour at noon is not in the bill
    }

    [Fact]
    public async Task WindowEnd_SignalPolicy_CancelsTheJobThroughItsBackendWithTheReason()
    {
        _clock.Advance(TimeSpan.FromHours(18));   // Tuesday 06:00
        var before = await StartAsync(null);
        var job = await before.SubmitAsync(Job("sleep 36000", TimeSpan.FromHours(12)));
        Assert.Equal(JobState.Running, (await CycleAsync(before, job.Id)).State);
        await before.DisposeAsync();
        _engines.Remove(before);

        var engine = await StartAsync(Nights(WindowEndAction.Signal));
        Assert.Equal(JobState.Running, (await CycleAsync(engine, job.Id)).State);   // 06:00: the night is still open
        _clock.Advance(TimeSpan.FromHours(1));
        var ended = await CycleAsync(engine, job.Id);

        Assert.Equal(JobState.Cancelled, ended.State);
        Assert.Equal("signalled: the window of node pool lab closed at 2026-12-08T07:00:00+00:00", ended.Reason);
        var usage = Assert.Single(_sink.Records.Values, u => u.JobId == job.Id);
        Assert.Equal(TimeSpan.FromHours(1), usage.Elapsed);   // what ran, as observed
    }

    [Fact]
    public async Task AddAvailabilityWindows_InvalidOptions_FailStartUpNamingTheField()
    {
        var services = new ServiceCollection();
        services.AddCompGrid().AddAvailabilityWindows(o => o.Pools.Add(new NodePoolOptions { Name = "lab", Backend = "lab", TimeZone = "Nowhere/Land", Windows = [] }));
        await using var sp = services.BuildServiceProvider();
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => sp.GetRequiredService<AvailabilitySchedule>());
        Assert.Contains("CompGrid:Availability:Pools:0:TimeZone 'Nowhere/Land'", ex.Message);
    }
}
