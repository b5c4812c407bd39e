using CompGrid.Ordering;
using CompGrid.Testing;

namespace CompGrid.Scheduling.Tests.Scheduling;

[Trait("Category", "Scheduling")]
public sealed class FairShareTests
{
    // The hierarchy of the example in Slurm's classic fair-share documentation (classic_fair_share.html, "Example").
    private static FairShareOptions SlurmExample() => new()
    {
        Accounts =
        [
            new() { Name = "A", Shares = 40 }, new() { Name = "D", Shares = 60 },
            new() { Name = "B", Parent = "A", Shares = 30 }, new() { Name = "C", Parent = "A", Shares = 10 },
            new() { Name = "E", Parent = "D", Shares = 25 }, new() { Name = "F", Parent = "D", Shares = 35 },
        ],
        Users =
        [
            new() { User = "user1", Account = "B" }, new() { User = "user2", Account = "C" }, new() { User = "user3", Account = "C" },
            new() { User = "user4", Account = "E" }, new() { User = "user5", Account = "F" },
        ],
    };

    [Fact]
    public void Classic_SlurmDocumentationExample_ReproducesEffectiveUsageAndFactors()
    {
        var usage = new Dictionary<(string, string), double> { [("B", "user1")] = 0.2, [("C", "user2")] = 0.25, [("E", "user4")] = 0.25 };
        FairShareResult r = FairShareCalculator.Compute(SlurmExample(), FairShareAlgorithm.Classic, usage, totalUsage: 1.0);

        Assert.Equal(0.3, r.Get("B", "user1")!.NormalizedShares, 6);
        Assert.Equal(0.05, r.Get("C", "user2")!.NormalizedShares, 6);
        Assert.Equal(0.05, r.Get("C", "user3")!.NormalizedShares, 6);
        Assert.Equal(0.25, r.Get("E", "user4")!.NormalizedShares, 6);
        Assert.Equal(0.35, r.Get("F", "user5")!.NormalizedShares, 6);

        Assert.Equal(0.3875, r.Get("B", "user1")!.EffectiveUsage, 4);
        Assert.Equal(0.275, r.Get("C", "user2")!.EffectiveUsage, 4);
        Assert.Equal(0.15, r.Get("C", "user3")!.EffectiveUsage, 4);
        Assert.Equal(0.25, r.Get("E", "user4")!.EffectiveUsage, 4);
        Assert.Equal(0.1458, r.Get("F", "user5")!.EffectiveUsage, 4);

        Assert.Equal(0.408479, r.GetFactor("B", "user1"), 5);
        Assert.Equal(0.022097, r.GetFactor("C", "user2"), 5);
        Assert.Equal(0.125000, r.GetFactor("C", "user3"), 5);
        Assert.Equal(0.500000, r.GetFactor("E", "user4"), 5);
        Assert.Equal(0.749154, r.GetFactor("F", "user5"), 3); // the document rounds UE to 0.1458 before dividing
    }

    [SeedProperty]
    public bool Classic_MoreUsage_NeverRaisesTheFactor(int seed)
    {
        var rng = new Random(seed);
        var usage = new Dictionary<(string, string), double>();
        string[] users = ["user1", "user2", "user3", "user4", "user5"];
        string[] accounts = ["B", "C", "C", "E", "F"];
        for (int i = 0; i < users.Length; i++) usage[(accounts[i], users[i])] = rng.NextDouble() * 100;
        int who = rng.Next(users.Length);
        double before = FairShareCalculator.Compute(SlurmExample(), FairShareAlgorithm.Classic, usage).GetFactor(accounts[who], users[who]);
        usage[(accounts[who], users[who])] += 1 + rng.NextDouble() * 100;
        double after = FairShareCalculator.Compute(SlurmExample(), FairShareAlgorithm.Classic, usage).GetFactor(accounts[who], users[who]);
        return after <= before + 1e-12 && after is >= 0 and <= 1;
    }

    [Fact]
    public void Ledger_AfterOneHalfLife_UsageCountsHalf()
    {
        var time = new ManualTimeProvider();
        var ledger = new FairShareLedger(new FairShareOptions { UsageHalfLife = TimeSpan.FromDays(7) }, time);
        ledger.AddUsage("A", "u", 1000, time.GetUtcNow());
        Assert.Equal(500, ledger.GetUsage(time.GetUtcNow().AddDays(7))[("A", "u")], 6);
        Assert.Equal(250, ledger.GetUsage(time.GetUtcNow().AddDays(14))[("A", "u")], 6);
    }

    [Fact]
    public async Task Ledger_RecordAsyncTwiceForOneJob_CountsOnce()
    {
        var time = new ManualTimeProvider();
        var ledger = new FairShareLedger(new FairShareOptions(), time);
        var usage = new UsageRecord { JobId = "j1", Account = "A", User = "u", AllocatedCpus = 4, Elapsed = TimeSpan.FromSeconds(100), EndedAt = time.GetUtcNow() };
        await ledger.RecordAsync(usage);
        await ledger.RecordAsync(usage);
        Assert.Equal(400, ledger.GetUsage(time.GetUtcNow())[("A", "u")], 6);
    }

    [Fact]
    public void FairTree_SiblingWithLessUsageForItsShares_RanksHigher()
    {
        var options = new FairShareOptions
        {
            Accounts = [new() { Name = "A", Shares = 1 }, new() { Name = "B", Shares = 1 }],
        };
        var usage = new Dictionary<(string, string), double> { [("A", "a1")] = 10, [("A", "a2")] = 30, [("B", "b1")] = 80 };
        FairShareResult r = FairShareCalculator.Compute(options, FairShareAlgorithm.FairTree, usage, [("B", "b2")]);
        // Account A (used 40 of 120 with half the shares) beats B, so every user of A beats every user of B.
        double a1 = r.GetFactor("A", "a1"), a2 = r.GetFactor("A", "a2"), b1 = r.GetFactor("B", "b1"), b2 = r.GetFactor("B", "b2");
        Assert.True(a1 > a2 && a2 > b2 && b2 > b1, $"{a1} {a2} {b2} {b1}");
        Assert.Equal(1.0, a1, 6);
    }
}
