namespace CompGrid.Storage;

/// <summary>
/// Group commit of a job store, one scenario per fact: concurrent writes share transactions, each caller returns only
/// once its write is durable, a refused write refuses only itself, a failed batch fails every caller in it and stores
/// nothing of it, and a write cancelled before the writer took it is never stored. Linked into each SQL store's tests.
/// </summary>
public abstract class GroupCommitTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A fresh, initialised store.</summary>
    protected abstract Task<IJobStore> CreateStoreAsync();

    /// <summary>A second store on the same database (its own connections), to see what is durable.</summary>
    protected abstract IJobStore OpenSecond(IJobStore store);

    /// <summary>Holds the store's writer so the next writes commit together when disposed.</summary>
    protected abstract Task<IDisposable> PauseAsync(IJobStore store);

    /// <summary>The transactions the store's writer has run.</summary>
    protected abstract long Batches(IJobStore store);

    private static JobRecord Job(string id) => new()
    {
        Id = id, Spec = new JobSpec { Owner = "alice", Account = "phys", Payload = JobPayload.Command("true") }, State = JobState.Queued, Version = 1, SubmittedAt = T0,
    };

    private static JobTransition First(JobRecord j) => new() { JobId = j.Id, To = j.State, At = T0, Reason = "submitted", Actor = "alice" };

    [Fact]
    public async Task CreateAsync_EightConcurrentSubmitters_EveryJobDurableWhenItsCallReturns()
    {
        var store = await CreateStoreAsync();
        var other = OpenSecond(store);
        long before = Batches(store);
        var missing = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(s => Task.Run(async () =>
        {
            for (int i = 0; i < 100; i++)
            {
                var job = Job($"s{s}-{i}");
                await store.CreateAsync(job, First(job));
                // Returned means durable: another connection sees it now.
                if (i % 10 == 0 && await other.GetAsync(job.Id) is null) missing.Add(job.Id);
            }
        })));
        Assert.Empty(missing);
        int count = 0;
        await foreach (var _ in other.QueryAsync(new JobQuery { Limit = 10_000 })) count++;
        Assert.Equal(800, count);
        Assert.InRange(Batches(store) - before, 1, 800);
    }

    [Fact]
    public async Task Writes_QueuedWhileWriterBusy_CommitInOneTransaction()
    {
        var store = await CreateStoreAsync();
        long before;
        Task[] creates;
        using (await PauseAsync(store))
        {
            before = Batches(store);
            creates = Enumerable.Range(0, 50).Select(i => { var j = Job("b" + i); return store.CreateAsync(j, First(j)); }).ToArray();
            Assert.All(creates, t => Assert.False(t.IsCompleted));
        }
        await Task.WhenAll(creates);
        Assert.Equal(1, Batches(store) - before);
        Assert.NotNull(await OpenSecond(store).GetAsync("b49"));
    }

    [Fact]
    public async Task Batch_DuplicateIdAndStaleVersion_RefuseOnlyThoseWrites()
    {
        var store = await CreateStoreAsync();
        var v = Job("v");
        await store.CreateAsync(v, First(v));
        Task dupA, dupB, ok;
        Task<bool> win, lose;
        using (await PauseAsync(store))
        {
            var a = Job("dup");
            dupA = store.CreateAsync(a, First(a));
            dupB = store.CreateAsync(a, First(a));
            var o = Job("ok");
            ok = store.CreateAsync(o, First(o));
            win = store.TryUpdateAsync(v with { State = JobState.Running, Version = 2 }, 1, new JobTransition { JobId = "v", From = JobState.Queued, To = JobState.Running, At = T0 });
            lose = store.TryUpdateAsync(v with { State = JobState.Cancelled, Version = 2 }, 1, new JobTransition { JobId = "v", From = JobState.Queued, To = JobState.Cancelled, At = T0 });
        }
        await dupA;
        var ex = await Assert.ThrowsAsync<CompGridException>(() => dupB);
        Assert.Contains("already exists", ex.Message, StringComparison.Ordinal);
        await ok;
        Assert.True(await win);
        Assert.False(await lose);
        var other = OpenSecond(store);
        Assert.Single(await other.GetHistoryAsync("dup"));
        Assert.Equal(JobState.Running, (await other.GetAsync("v"))!.State);
        Assert.Equal(2, (await other.GetHistoryAsync("v")).Count);
    }

    [Fact]
    public async Task Batch_OneWriteFailsInTheDatabase_EveryCallerFailsAndNothingOfTheBatchIsStored()
    {
        var store = await CreateStoreAsync();
        var x = Job("x");
        await store.CreateAsync(x, First(x));
        Task[] creates;
        Task<bool> bad;
        using (await PauseAsync(store))
        {
            creates = Enumerable.Range(0, 20).Select(i => { var j = Job("f" + i); return store.CreateAsync(j, First(j)); }).ToArray();
            // The transition names a job that does not exist: the foreign key fails inside the shared transaction.
            bad = store.TryUpdateAsync(x with { State = JobState.Running, Version = 2 }, 1, new JobTransition { JobId = "no-such-job", From = JobState.Queued, To = JobState.Running, At = T0 });
        }
        var error = await Assert.ThrowsAnyAsync<Exception>(() => bad);
        foreach (var t in creates) Assert.Same(error, await Assert.ThrowsAnyAsync<Exception>(() => t));
        var other = OpenSecond(store);
        for (int i = 0; i < 20; i++) Assert.Null(await other.GetAsync("f" + i));
        Assert.Equal(1, (await other.GetAsync("x"))!.Version);
        Assert.Single(await other.GetHistoryAsync("x"));
        // The writer recovers: the next write lands.
        var after = Job("after");
        await store.CreateAsync(after, First(after));
        Assert.NotNull(await other.GetAsync("after"));
    }

    [Fact]
    public async Task CreateAsync_CancelledBeforeTheWriterTookIt_ThrowsAndStoresNothing()
    {
        var store = await CreateStoreAsync();
        using var cts = new CancellationTokenSource();
        Task create;
        Task kept;
        using (await PauseAsync(store))
        {
            var j = Job("cancelled");
            create = store.CreateAsync(j, First(j), cts.Token);
            var k = Job("kept");
            kept = store.CreateAsync(k, First(k));
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => create);
        }
        await kept;
        var other = OpenSecond(store);
        Assert.Null(await other.GetAsync("cancelled"));
        Assert.NotNull(await other.GetAsync("kept"));
    }
}
