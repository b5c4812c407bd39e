namespace CompGrid.Testing;

/// <summary>
/// The suite every <see cref="IJobStore"/> passes (in-memory, SQLite, PostgreSQL). Derive a class and return a fresh,
/// initialised store from <see cref="CreateStoreAsync"/>.
/// </summary>
public abstract class JobStoreConformanceTests
{
    /// <summary>A new, empty, initialised store.</summary>
    protected abstract Task<IJobStore> CreateStoreAsync();

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A job record for tests.</summary>
    protected static JobRecord NewJob(string id, string owner = "alice", JobState state = JobState.Queued, int minute = 0, string? account = "phys-001") => new()
    {
        Id = id, State = state, SubmittedAt = T0.AddMinutes(minute), Version = 1, Backend = "local",
        Spec = new JobSpec
        {
            Name = "n-" + id, Owner = owner, Account = account, Payload = JobPayload.Command("echo 'quoted' \"x\" $(y)"),
            Resources = new() { Cpus = 2, MemoryMiB = 512, Gpus = 1, GpuModel = "a100", Nodes = 1 },
            Walltime = TimeSpan.FromMinutes(5),
            Environment = new Dictionary<string, string> { ["A"] = "1\n2" },
            Labels = new Dictionary<string, string> { ["team"] = "x" },
            Inputs = [new StagingItem { Source = "/tmp/in", Destination = "in" }],
        },
    };

    private static JobTransition First(JobRecord j) => new() { JobId = j.Id, To = j.State, At = j.SubmittedAt, Reason = "submitted", Actor = j.Spec.Owner };

    /// <summary>A created job reads back equal, spec included.</summary>
    [Fact]
    public async Task Create_ThenGet_RoundTripsEveryField()
    {
        var store = await CreateStoreAsync();
        var job = NewJob("j1") with { Approval = new ApprovalDecision { Approved = true, By = "admin", At = T0, Reason = "ok" }, Nodes = ["n1", "n2"], ExitCode = 3 };
        await store.CreateAsync(job, First(job));
        var back = await store.GetAsync("j1");
        Assert.NotNull(back);
        Assert.Equal(job.Spec.Payload, back!.Spec.Payload);
        Assert.Equal(job.Spec.Resources, back.Spec.Resources);
        Assert.Equal("1\n2", back.Spec.Environment["A"]);
        Assert.Equal(job.Approval, back.Approval);
        Assert.Equal(job.Nodes, back.Nodes);
        Assert.Equal(job.SubmittedAt, back.SubmittedAt);
        Assert.Equal(3, back.ExitCode);
        Assert.Equal(job.Spec.Walltime, back.Spec.Walltime);
        Assert.Null(await store.GetAsync("nope"));
    }

    /// <summary>Creating an existing id throws.</summary>
    [Fact]
    public async Task Create_DuplicateId_Throws()
    {
        var store = await CreateStoreAsync();
        var job = NewJob("dup");
        await store.CreateAsync(job, First(job));
        await Assert.ThrowsAnyAsync<CompGridException>(() => store.CreateAsync(job, First(job)));
    }

    /// <summary>An update with a stale version is refused and changes nothing.</summary>
    [Fact]
    public async Task TryUpdate_StaleVersion_ReturnsFalseAndChangesNothing()
    {
        var store = await CreateStoreAsync();
        var job = NewJob("v");
        await store.CreateAsync(job, First(job));
        var running = job with { State = JobState.Running, Version = 2 };
        Assert.True(await store.TryUpdateAsync(running, 1, new JobTransition { JobId = "v", From = JobState.Queued, To = JobState.Running, At = T0 }));
        Assert.False(await store.TryUpdateAsync(job with { State = JobState.Failed, Version = 2 }, 1, new JobTransition { JobId = "v", From = JobState.Queued, To = JobState.Failed, At = T0 }));
        var back = await store.GetAsync("v");
        Assert.Equal(JobState.Running, back!.State);
        var history = await store.GetHistoryAsync("v");
        Assert.Equal([JobState.Queued, JobState.Running], history.Select(h => h.To));
    }

    /// <summary>Queries filter by owner, state and account, newest first, with a limit.</summary>
    [Fact]
    public async Task Query_FiltersAndOrdersNewestFirst()
    {
        var store = await CreateStoreAsync();
        foreach (var j in new[] { NewJob("a", "alice", JobState.Queued, 1), NewJob("b", "bob", JobState.Running, 2), NewJob("c", "alice", JobState.Completed, 3, "other") })
            await store.CreateAsync(j, First(j));
        async Task<List<string>> Ids(JobQuery q) { var l = new List<string>(); await foreach (var j in store.QueryAsync(q)) l.Add(j.Id); return l; }
        Assert.Equal(["c", "b", "a"], await Ids(new JobQuery()));
        Assert.Equal(["c", "a"], await Ids(new JobQuery { Owner = "alice" }));
        Assert.Equal(["b", "a"], await Ids(JobQuery.Active));
        Assert.Equal(["c"], await Ids(new JobQuery { Account = "other" }));
        Assert.Equal(["c"], await Ids(new JobQuery { Limit = 1 }));
    }

    /// <summary>A usage record is stored once; a second add is refused and keeps the first.</summary>
    [Fact]
    public async Task TryAddUsage_Twice_KeepsTheFirst()
    {
        var store = await CreateStoreAsync();
        var u = new UsageRecord { JobId = "u1", User = "alice", Elapsed = TimeSpan.FromSeconds(1234), AllocatedCpus = 16, FinalState = JobState.Completed, Tres = new Dictionary<string, decimal> { ["billing"] = 16.25m } };
        Assert.True(await store.TryAddUsageAsync(u));
        Assert.False(await store.TryAddUsageAsync(u with { AllocatedCpus = 1 }));
        var back = await store.GetUsageAsync("u1");
        Assert.Equal(16, back!.AllocatedCpus);
        Assert.Equal(TimeSpan.FromSeconds(1234), back.Elapsed);
        Assert.Equal(16.25m, back.Tres["billing"]);
    }

    /// <summary>Concurrent updates of one job: exactly one wins per version.</summary>
    [Fact]
    public async Task TryUpdate_Concurrent_ExactlyOneWins()
    {
        var store = await CreateStoreAsync();
        var job = NewJob("race");
        await store.CreateAsync(job, First(job));
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            store.TryUpdateAsync(job with { Reason = "w" + i, Version = 2 }, 1, null))));
        Assert.Equal(1, results.Count(r => r));
    }
}
