using CompGrid.Ordering;

namespace CompGrid.Scheduling.Tests.Scheduling;

[Trait("Category", "Scheduling")]
public sealed class MultifactorPriorityTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static JobRecord Job(string id, string owner, string account, int cpus = 1, int nice = 0, TimeSpan? age = null, string? qos = null) => new()
    {
        Id = id, State = JobState.Queued, SubmittedAt = T0 - (age ?? TimeSpan.Zero),
        Spec = new JobSpec { Owner = owner, Account = account, Nice = nice, Qos = qos, Resources = new ResourceRequest { Cpus = cpus } },
    };

    [Fact]
    public void Order_EqualPriority_TiesBySubmitTimeThenId()
    {
        var policy = new MultifactorPriorityPolicy(new MultifactorPriorityOptions { AgeWeight = 0, JobSizeWeight = 0 });
        var jobs = new List<JobRecord> { Job("c", "u", "a"), Job("b", "u", "a"), Job("a", "u", "a", age: TimeSpan.FromSeconds(0)) with { SubmittedAt = T0.AddSeconds(1) } };
        policy.Order(jobs, new QueueOrderingContext { Now = T0.AddSeconds(1) });
        Assert.Equal(["b", "c", "a"], jobs.Select(j => j.Id));
    }

    [Fact]
    public void Order_HeavyUserAndNice_RankBelowLightUser()
    {
        var ledger = new FairShareLedger();
        ledger.AddUsage("a", "heavy", 1_000_000, T0);
        ledger.AddUsage("b", "light", 1_000, T0);
        var policy = new MultifactorPriorityPolicy(new MultifactorPriorityOptions(), ledger);
        var jobs = new List<JobRecord> { Job("h", "heavy", "a"), Job("l", "light", "b"), Job("n", "light", "b", nice: 9000) };
        policy.Order(jobs, new QueueOrderingContext { Now = T0 });
        Assert.Equal(["l", "h", "n"], jobs.Select(j => j.Id));
    }

    [Fact]
    public void Explain_FactorsSumToPriority()
    {
        var options = new MultifactorPriorityOptions { QosPriorities = { ["high"] = 10, ["normal"] = 5 } };
        var policy = new MultifactorPriorityPolicy(options);
        var job = Job("x", "u", "a", cpus: 8, nice: 3, age: TimeSpan.FromDays(3.5), qos: "normal");
        PriorityExplanation e = policy.Explain(job, new QueueOrderingContext { Now = T0 }, [job, Job("y", "v", "a", cpus: 16)]);
        Assert.Equal(0.5, e.AgeFactor, 6);
        Assert.Equal(0.5, e.QosFactor, 6);
        Assert.Equal(0.5, e.JobSizeFactor, 6);
        Assert.Equal(e.Age + e.FairShare + e.JobSize + e.Qos + e.Partition - e.Nice, e.Priority, 6);
        Assert.Contains("x", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_UnknownOrderingName_Throws()
    {
        var registry = SchedulingPolicyRegistry.CreateDefault();
        Assert.Throws<ArgumentException>(() => registry.GetOrdering("lottery"));
        Assert.Equal("fair-tree", registry.GetOrdering("fair-tree").Name);
    }
}

[Trait("Category", "Scheduling")]
public sealed class MultifactorOrderPropertyTests
{
    [SeedProperty(MaxTest = 50)]
    public bool Order_RandomQueues_EqualsNaiveSortByPriorityThenSubmitThenId(int seed)
    {
        var rng = new Random(seed);
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var ledger = new FairShareLedger();
        for (int u = 0; u < 4; u++) ledger.AddUsage("a" + (u % 2), "u" + u, rng.Next(0, 1000), t0);
        var policy = new MultifactorPriorityPolicy(new MultifactorPriorityOptions(), ledger, seed % 2 == 0 ? FairShareAlgorithm.Classic : FairShareAlgorithm.FairTree);
        var jobs = Enumerable.Range(0, rng.Next(2, 300)).Select(i => new JobRecord
        {
            Id = "j" + rng.Next(1000).ToString("D4", System.Globalization.CultureInfo.InvariantCulture) + "-" + i,
            State = JobState.Queued,
            SubmittedAt = t0.AddSeconds(-rng.Next(5)), // many equal submit times, so ties are common
            Spec = new JobSpec { Owner = "u" + rng.Next(5), Account = "a" + rng.Next(3), Nice = rng.Next(3) == 0 ? rng.Next(-5, 5) : 0, Resources = new ResourceRequest { Cpus = 1 << rng.Next(3) } },
        }).ToList();
        var ctx = new QueueOrderingContext { Now = t0 };
        var ordered = new List<JobRecord>(jobs);
        policy.Order(ordered, ctx);
        var expected = jobs.OrderByDescending(j => policy.GetPriority(j, ctx, jobs)).ThenBy(j => j.SubmittedAt).ThenBy(j => j.Id, StringComparer.Ordinal).ToList();
        return ordered.Select(j => j.Id).SequenceEqual(expected.Select(j => j.Id));
    }
}

[Trait("Category", "Scheduling")]
public sealed class MultifactorReorderPropertyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // One policy orders a queue that changes between calls the way the engine's does (jobs leave from anywhere, arrive
    // at the end or in the middle, a record is replaced by a changed copy, usage and the clock move), so the figures
    // it keeps per position are reused, moved and discarded; every call must equal the naive sort. Half the rounds pass
    // the last call's output as the next input (the engine's kept queue: the nearly-sorted path), and some add usage
    // large enough to move an account's jobs far (the nearly-sorted path gives up and the radix sort finishes).
    [SeedProperty(MaxTest = 40)]
    public bool Order_QueueChangingBetweenCalls_EqualsNaiveSortEachTime(int seed)
    {
        var rng = new Random(seed);
        var ledger = new FairShareLedger();
        for (int u = 0; u < 4; u++) ledger.AddUsage("a" + (u % 2), "u" + u, rng.Next(0, 1000), T0);
        var options = new MultifactorPriorityOptions();
        if (seed % 3 == 0) { options.QosPriorities["high"] = 10; options.QosPriorities["low"] = 1; }
        var policy = new MultifactorPriorityPolicy(options, ledger, seed % 2 == 0 ? FairShareAlgorithm.Classic : FairShareAlgorithm.FairTree);
        int next = 0;
        JobRecord NewJob() => new()
        {
            Id = "j" + rng.Next(1000).ToString("D4", System.Globalization.CultureInfo.InvariantCulture) + "-" + next++,
            State = JobState.Queued,
            SubmittedAt = T0.AddSeconds(-rng.Next(5)),
            Spec = new JobSpec
            {
                Owner = "u" + rng.Next(6), Account = rng.Next(8) == 0 ? null : "a" + rng.Next(4), Nice = rng.Next(3) == 0 ? rng.Next(-5, 5) : 0,
                Qos = rng.Next(3) == 0 ? "high" : rng.Next(2) == 0 ? "low" : null, Resources = new ResourceRequest { Cpus = 1 << rng.Next(3), Nodes = 1 + rng.Next(2) },
            },
        };
        var queue = Enumerable.Range(0, rng.Next(4) == 0 ? rng.Next(500, 2000) : rng.Next(2, 200)).Select(_ => NewJob()).ToList();
        DateTimeOffset now = T0;
        for (int round = 0; round < 8; round++)
        {
            var ctx = new QueueOrderingContext { Now = now };
            var ordered = new List<JobRecord>(queue);
            policy.Order(ordered, ctx);
            var expected = queue.OrderByDescending(j => policy.GetPriority(j, ctx, queue)).ThenBy(j => j.SubmittedAt).ThenBy(j => j.Id, StringComparer.Ordinal).ToList();
            if (!ordered.Select(j => j.Id).SequenceEqual(expected.Select(j => j.Id))) return false;

            if (rng.Next(2) == 0) queue = ordered;
            for (int r = rng.Next(4); r > 0 && queue.Count > 2; r--) queue.RemoveAt(rng.Next(queue.Count));
            if (rng.Next(2) == 0) for (int a = rng.Next(1, 4); a > 0; a--) queue.Add(NewJob());
            if (rng.Next(3) == 0) queue.Insert(rng.Next(queue.Count), NewJob());
            if (rng.Next(3) == 0) { int i = rng.Next(queue.Count); queue[i] = queue[i] with { Spec = queue[i].Spec with { Nice = rng.Next(-5, 5) } }; }
            if (rng.Next(3) == 0) ledger.AddUsage("a" + rng.Next(5), "u" + rng.Next(7), rng.Next(6) == 0 ? 1e6 : rng.Next(1, 500), now);
            now += TimeSpan.FromSeconds(rng.Next(0, 3));
        }
        return true;
    }
}
