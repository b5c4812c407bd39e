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
        var registry = new QueueOrderingPolicyRegistry();
        Assert.Throws<ArgumentException>(() => registry.Get("lottery"));
        Assert.Equal("fair-tree", registry.Get("fair-tree").Name);
    }
}
