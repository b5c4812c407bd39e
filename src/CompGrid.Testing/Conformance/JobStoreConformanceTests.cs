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

    // ---------------------------------------------------------------- the notification outbox

    private async Task<(IJobStore Store, INotificationOutbox Outbox)> OutboxStoreAsync()
    {
        var store = await CreateStoreAsync();
        var outbox = Assert.IsAssignableFrom<INotificationOutbox>(store);
        return (store, outbox);
    }

    /// <summary>An outbox message for tests, due at <paramref name="dueMinute"/> minutes after the suite's epoch.</summary>
    protected static OutboxMessage NewMessage(JobRecord job, string notifier = "webhook", int dueMinute = 0)
    {
        var n = new JobNotification { Job = job, PreviousState = JobState.Running, At = T0.AddMinutes(dueMinute) };
        return new OutboxMessage
        {
            Id = OutboxMessage.MakeId(n, notifier), JobId = job.Id, Notifier = notifier, Notification = n,
            CreatedAt = T0.AddMinutes(dueMinute), NextAttemptAt = T0.AddMinutes(dueMinute),
        };
    }

    /// <summary>Writing the same message twice stores it once; it reads back with its notification (the job's spec included).</summary>
    [Fact]
    public async Task Outbox_EnqueueTwice_StoresOnceAndRoundTrips()
    {
        var (_, outbox) = await OutboxStoreAsync();
        var job = NewJob("o1", state: JobState.Completed) with { ExitCode = 0, Version = 7 };
        var m = NewMessage(job);
        await outbox.EnqueueAsync([m]);
        await outbox.EnqueueAsync([m with { Notifier = "changed" }]);
        var back = await outbox.GetMessageAsync(m.Id);
        Assert.NotNull(back);
        Assert.Equal("o1:v7:webhook", back!.Id);
        Assert.Equal("webhook", back.Notifier);
        Assert.Equal(OutboxMessageState.Pending, back.State);
        Assert.Equal(0, back.Attempts);
        Assert.Equal(m.NextAttemptAt, back.NextAttemptAt);
        Assert.Equal(JobState.Completed, back.Notification.Job.State);
        Assert.Equal(JobState.Running, back.Notification.PreviousState);
        Assert.Equal(job.Spec.Resources, back.Notification.Job.Spec.Resources);
        var all = new List<OutboxMessage>();
        await foreach (var x in outbox.QueryMessagesAsync()) all.Add(x);
        Assert.Single(all);
        Assert.Null(await outbox.GetMessageAsync("nope"));
    }

    /// <summary>A job update with messages stores both in one transaction; a stale version stores neither.</summary>
    [Fact]
    public async Task Outbox_TryUpdateWithMessages_StoresMessagesOnlyWithTheUpdate()
    {
        var (store, outbox) = await OutboxStoreAsync();
        var job = NewJob("o2", state: JobState.Running);
        await store.CreateAsync(job, First(job));
        var done = job with { State = JobState.Completed, Version = 2 };
        var transition = new JobTransition { JobId = "o2", From = JobState.Running, To = JobState.Completed, At = T0 };
        var stale = NewMessage(done, "stale");
        Assert.False(await outbox.TryUpdateWithMessagesAsync(done, 5, transition, [stale]));
        Assert.Null(await outbox.GetMessageAsync(stale.Id));
        var m = NewMessage(done);
        Assert.True(await outbox.TryUpdateWithMessagesAsync(done, 1, transition, [m]));
        Assert.Equal(JobState.Completed, (await store.GetAsync("o2"))!.State);
        Assert.Equal([JobState.Running, JobState.Completed], (await store.GetHistoryAsync("o2")).Select(h => h.To));
        Assert.NotNull(await outbox.GetMessageAsync(m.Id));
    }

    /// <summary>A claim returns only due pending messages, oldest due first, up to the limit, and hides them until the claim lapses.</summary>
    [Fact]
    public async Task Outbox_ClaimDue_OldestFirstAndHiddenUntilTheClaimLapses()
    {
        var (_, outbox) = await OutboxStoreAsync();
        var later = NewMessage(NewJob("late"), dueMinute: 10);
        var second = NewMessage(NewJob("b"), dueMinute: 2);
        var first = NewMessage(NewJob("a"), dueMinute: 1);
        var third = NewMessage(NewJob("c"), dueMinute: 3);
        await outbox.EnqueueAsync([later, second, first, third]);
        var now = T0.AddMinutes(5);
        var claimed = await outbox.ClaimDueAsync(now, now.AddMinutes(1), 2);
        Assert.Equal([first.Id, second.Id], claimed.Select(m => m.Id));
        Assert.All(claimed, m => Assert.Equal(now.AddMinutes(1), m.NextAttemptAt));
        Assert.Equal([third.Id], (await outbox.ClaimDueAsync(now, now.AddMinutes(1), 10)).Select(m => m.Id));
        Assert.Empty(await outbox.ClaimDueAsync(now, now.AddMinutes(1), 10));
        // The claimer died without recording an outcome: once its claim lapses the messages are due again (at least once).
        var lapsed = await outbox.ClaimDueAsync(now.AddMinutes(1), now.AddMinutes(2), 10);
        Assert.Equal([first.Id, second.Id, third.Id], lapsed.Select(m => m.Id).Order(StringComparer.Ordinal));
    }

    /// <summary>A failure counts the attempt and reschedules; a failure without a retry time dead-letters; a delivered message is never claimed or failed again.</summary>
    [Fact]
    public async Task Outbox_MarkFailedAndDelivered_RecordOutcomesAndEndClaims()
    {
        var (_, outbox) = await OutboxStoreAsync();
        var retry = NewMessage(NewJob("r"));
        var dead = NewMessage(NewJob("d"));
        var ok = NewMessage(NewJob("k"));
        await outbox.EnqueueAsync([retry, dead, ok]);
        Assert.Equal(3, (await outbox.ClaimDueAsync(T0, T0.AddMinutes(1), 10)).Count);

        await outbox.MarkFailedAsync(retry.Id, "HTTP 503", T0.AddMinutes(30));
        await outbox.MarkFailedAsync(dead.Id, "HTTP 410", null);
        await outbox.MarkDeliveredAsync(ok.Id, T0.AddSeconds(5));
        await outbox.MarkFailedAsync(ok.Id, "late failure", T0.AddMinutes(1));

        var r = (await outbox.GetMessageAsync(retry.Id))!;
        Assert.Equal((OutboxMessageState.Pending, 1, "HTTP 503", T0.AddMinutes(30)), (r.State, r.Attempts, r.LastError, r.NextAttemptAt));
        var d = (await outbox.GetMessageAsync(dead.Id))!;
        Assert.Equal((OutboxMessageState.DeadLettered, 1, "HTTP 410"), (d.State, d.Attempts, d.LastError));
        var k = (await outbox.GetMessageAsync(ok.Id))!;
        Assert.Equal((OutboxMessageState.Delivered, 1, (DateTimeOffset?)T0.AddSeconds(5), (string?)null), (k.State, k.Attempts, k.DeliveredAt, k.LastError));

        Assert.Empty(await outbox.ClaimDueAsync(T0.AddMinutes(29), T0.AddMinutes(40), 10));
        Assert.Equal([retry.Id], (await outbox.ClaimDueAsync(T0.AddDays(1), T0.AddDays(2), 10)).Select(m => m.Id));
        async Task<List<string>> Ids(OutboxMessageState s) { var l = new List<string>(); await foreach (var m in outbox.QueryMessagesAsync(s)) l.Add(m.Id); return l; }
        Assert.Equal([dead.Id], await Ids(OutboxMessageState.DeadLettered));
        Assert.Equal([ok.Id], await Ids(OutboxMessageState.Delivered));
    }

    /// <summary>Concurrent claims (several workers, or several processes on one store) never hand one message to two of them.</summary>
    [Fact]
    public async Task Outbox_ClaimDue_Concurrent_EachMessageClaimedOnce()
    {
        var (_, outbox) = await OutboxStoreAsync();
        var messages = Enumerable.Range(0, 40).Select(i => NewMessage(NewJob("c" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture)))).ToList();
        await outbox.EnqueueAsync(messages);
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => outbox.ClaimDueAsync(T0, T0.AddMinutes(5), 7))));
        var ids = claims.SelectMany(c => c.Select(m => m.Id)).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(40, ids.Count + (await outbox.ClaimDueAsync(T0, T0.AddMinutes(5), 100)).Count);
    }
}
