namespace CompGrid.Testing.Tests;

[Trait("Category", "Testing")]
public sealed class InMemoryBackendConformanceTests : BackendConformanceTests
{
    protected override IComputeBackend Backend { get; } = new InMemoryBackend(timeProvider: TimeProvider.System);

    // The in-memory backend's sleeps run on the real clock here; keep the walltime fact short.
    protected override TimeSpan ShortWalltime => TimeSpan.FromMilliseconds(300);
}

[Trait("Category", "Testing")]
public sealed class InMemoryJobStoreConformanceTests : JobStoreConformanceTests
{
    protected override Task<IJobStore> CreateStoreAsync() => Task.FromResult<IJobStore>(new InMemoryJobStore());
}

[Trait("Category", "Testing")]
public sealed class ManualTimeProviderTests
{
    [Fact]
    public async Task Advance_FiresDelaysInOrder()
    {
        var time = new ManualTimeProvider();
        var order = new List<int>();
        var a = Task.Delay(TimeSpan.FromSeconds(2), time).ContinueWith(_ => { lock (order) order.Add(2); }, TaskScheduler.Default);
        var b = Task.Delay(TimeSpan.FromSeconds(1), time).ContinueWith(_ => { lock (order) order.Add(1); }, TaskScheduler.Default);
        Assert.False(a.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await b;
        Assert.False(a.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await a;
        Assert.Equal([1, 2], order);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 2, TimeSpan.Zero), time.GetUtcNow());
    }

    [Fact]
    public void PeriodicTimer_FiresOncePerPeriodAdvanced()
    {
        var time = new ManualTimeProvider();
        int ticks = 0;
        using var timer = time.CreateTimer(_ => Interlocked.Increment(ref ticks), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(3.5));
        Assert.Equal(3, ticks);
        timer.Dispose();
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(3, ticks);
    }

    [Fact]
    public async Task InMemoryBackend_SleepAndWalltime_FollowTheManualClock()
    {
        var time = new ManualTimeProvider();
        var backend = new InMemoryBackend(timeProvider: time);
        string id = await backend.SubmitAsync(new BackendJobRequest { JobId = "cg-1", Spec = new JobSpec { Owner = "a", Payload = JobPayload.Command("echo hi; sleep 100; echo late") }, Walltime = TimeSpan.FromSeconds(10) });
        Assert.Equal(JobState.Running, (await backend.GetStatusAsync(id))!.State);
        time.Advance(TimeSpan.FromSeconds(10));
        var s = await backend.GetStatusAsync(id);
        Assert.Equal(JobState.TimedOut, s!.State);
        Assert.Equal("hi\n", (await backend.GetLogsAsync(id)).StandardOutput);
    }
}
