using System.Diagnostics;
using CompGrid.Scheduling.Availability;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Local.Tests;

/// <summary>An availability window's end with real processes: the Local backend's job is cancelled and the job requeued.</summary>
[Trait("Category", "Local")]
public sealed class LocalWindowTests : IDisposable
{
    // Monday 2026-12-07 12:00 UTC; the pool opens 20:00–07:00 UTC.
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
    private readonly string _state = Path.Combine(Path.GetTempPath(), "compgrid-window-tests-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly IComputeBackend _backend;
    private readonly InMemoryJobStore _store = new();

    public LocalWindowTests() => _backend = LocalBackend.Create("local", new LocalBackendOptions
    {
        StateDirectory = _state, KillGracePeriod = TimeSpan.Zero, SampleInterval = TimeSpan.FromMilliseconds(100),
        Nodes = [new LocalNodeOptions { Name = "n1", Cpus = 2, MemoryMiB = 2048 }],
    }, timeProvider: _clock);

    public void Dispose()
    {
        (_backend as IDisposable)?.Dispose();
        try { Directory.Delete(_state, true); } catch (IOException) { }
    }

    private async Task<CompGridEngine> StartAsync(bool windows)
    {
        var engine = CompGridEngine.Create(b =>
        {
            b.AddBackend(_backend).UseJobStore(_store).UseTimeProvider(_clock);
            if (windows)
                b.AddAvailabilityWindows(o => o.Pools.Add(new NodePoolOptions
                {
                    Name = "desks", Backend = "local",
                    Windows = [new() { Days = [.. Enum.GetValues<DayOfWeek>()], Start = TimeSpan.FromHours(20), End = TimeSpan.FromHours(7) }],
                }));
        });
        await engine.StartAsync();
        return engine;
    }

    // Real processes start and die in real time: cycle until the job's record says so (bounded).
    private static async Task<JobRecord> CycleUntilAsync(CompGridEngine engine, string id, Func<JobRecord, bool> until)
    {
        var sw = Stopwatch.StartNew();
        JobRecord job;
        do
        {
            await engine.RunCycleAsync();
            job = (await engine.GetJobAsync(id))!;
            if (until(job)) return job;
            await Task.Delay(50);
        } while (sw.Elapsed < TimeSpan.FromSeconds(30));
        return job;
    }

    [Fact]
    public async Task WindowEnd_LocalProcessRunning_IsKilledAndTheJobRequeued()
    {
        var before = await StartAsync(windows: false);
        var job = await before.SubmitAsync(new JobSpec
        {
            Name = "w", Owner = "alice", Payload = JobPayload.Command("sleep 300"), Resources = new() { Cpus = 1 }, Walltime = TimeSpan.FromHours(2),
        });
        var running = await CycleUntilAsync(before, job.Id, j => j.State == JobState.Running);
        Assert.Equal(JobState.Running, running.State);
        string firstRun = running.BackendJobId!;
        await before.DisposeAsync();

        await using var engine = await StartAsync(windows: true);
        var requeued = await CycleUntilAsync(engine, job.Id, j => j.State == JobState.Queued);
        Assert.Equal(JobState.Queued, requeued.State);
        Assert.StartsWith("Resources: node pool desks opens at 2026-12-07T20:00:00+00:00", requeued.Reason, StringComparison.Ordinal);
        var history = await _store.GetHistoryAsync(job.Id);
        Assert.Contains(history, t => t.From == JobState.Running && t.To == JobState.Queued && t.Reason!.StartsWith("requeued: the window of node pool desks closed", StringComparison.Ordinal));

        // The old process was killed for real; once it ended, the cancelled run is cleaned up.
        var sw = Stopwatch.StartNew();
        BackendJobStatus? old;
        do { old = await _backend.GetStatusAsync(firstRun); await Task.Delay(50); } while (old is { State: JobState.Running or JobState.Queued } && sw.Elapsed < TimeSpan.FromSeconds(30));
        Assert.True(old is null || old.State == JobState.Cancelled, $"the first run ended as {old?.State}");
        Assert.Equal(JobState.Queued, (await CycleUntilAsync(engine, job.Id, j => j.State == JobState.Queued)).State);   // still waiting for 20:00

        // 20:00: the pool opens and the same job runs again on the Local backend, as a new run.
        _clock.Advance(TimeSpan.FromHours(8));
        var opened = _clock.GetUtcNow();
        var again = await CycleUntilAsync(engine, job.Id, j => j.State is JobState.Running || j.IsTerminal);
        Assert.True(again.State == JobState.Running, $"the requeued job did not run again: {again.State} ({again.Reason})");
        Assert.True(again.StartedAt >= opened, $"started at {again.StartedAt}: the cancelled run's start, not the new run's");
        await engine.CancelAsync(job.Id);
        Assert.Equal(JobState.Cancelled, (await CycleUntilAsync(engine, job.Id, j => j.IsTerminal)).State);
    }
}
