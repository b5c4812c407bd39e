using CompGrid.Billing;
using CompGrid.Testing;

namespace CompGrid.Billing.Tests.Ledger;

[Trait("Category", "Billing")]
public sealed class GrantBillingServiceTests
{
    private readonly ManualTimeProvider _time = new(B.T0);

    private GrantBillingService NewService(params Grant[] grants) => B.Service(new InMemoryBillingStore(), B.GoldOptions(grants), _time);

    [Fact]
    public async Task WorkedExample_HoldThenCharge_Holds57600AndCharges19744()
    {
        var billing = NewService(B.Grant("chem", 100_000m));
        var admitted = await billing.AdmissionCheck.CheckAsync(B.Admission("j1", "alice", "chem", cpus: 16, walltime: TimeSpan.FromSeconds(3600)));
        Assert.Equal(AdmissionDecision.Admit, admitted.Decision);
        var afterHold = await billing.GetBalanceAsync("chem");
        Assert.Equal(57_600m, afterHold.Held);
        Assert.Equal(100_000m, afterHold.Balance);
        Assert.Equal(42_400m, afterHold.Available);

        await billing.UsageSink.RecordAsync(B.Usage("j1", "alice", "chem", cpus: 16, seconds: 1234));
        var afterCharge = await billing.GetBalanceAsync("chem");
        Assert.Equal(0m, afterCharge.Held);
        Assert.Equal(19_744m, afterCharge.Charged);
        Assert.Equal(80_256m, afterCharge.Available);
    }

    [Fact]
    public async Task FirstUse_ManyCallersAtOnce_AllSeeTheConfiguredGrants()
    {
        var billing = NewService(B.Grant("g", 100_000m));
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Task.Run(async () => await billing.AdmissionCheck.CheckAsync(B.Admission("j" + i, "alice", "g", cpus: 1)))));
        Assert.All(results, r => Assert.Equal(AdmissionDecision.Admit, r.Decision));
        Assert.Equal(100_000m, (await billing.GetBalanceAsync("g")).Allocated);
    }

    [Fact]
    public async Task CheckAsync_NotAMember_RejectsNamingUserAndGrant()
    {
        var billing = NewService(B.Grant("chem", 100_000m, "alice", "carol"));
        var r = await billing.AdmissionCheck.CheckAsync(B.Admission("j1", "bob", "chem"));
        Assert.Equal(AdmissionDecision.Reject, r.Decision);
        Assert.Equal("not-a-member", r.Code);
        Assert.Contains("'bob'", r.Reason, StringComparison.Ordinal);
        Assert.Contains("'chem'", r.Reason, StringComparison.Ordinal);
        Assert.Equal(AdmissionDecision.Admit, (await billing.AdmissionCheck.CheckAsync(B.Admission("j2", "carol", "chem", cpus: 1))).Decision);
        Assert.Equal(0m, (await billing.GetBalanceAsync("chem")).Held - 3600m);
    }

    [Fact]
    public async Task CheckAsync_InsufficientFunds_RejectsNamingGrantAvailableAndNeeded()
    {
        var billing = NewService(B.Grant("small", 10_000m));
        var r = await billing.AdmissionCheck.CheckAsync(B.Admission("j1", "alice", "small", cpus: 16));
        Assert.Equal(AdmissionDecision.Reject, r.Decision);
        Assert.Equal("insufficient-funds", r.Code);
        Assert.Equal(new InsufficientFundsException("small", 10_000m, 57_600m, "CRD").Message, r.Reason);
        Assert.Contains("10000", r.Reason, StringComparison.Ordinal);
        Assert.Contains("57600", r.Reason, StringComparison.Ordinal);
        Assert.Equal(0m, (await billing.GetBalanceAsync("small")).Held);
    }

    [Fact]
    public async Task CheckAsync_CreditLimit_AllowsOverdraftUpToTheLimit()
    {
        var billing = NewService(B.Grant("od", 50_000m) with { CreditLimit = 7_600m });
        Assert.Equal(AdmissionDecision.Admit, (await billing.AdmissionCheck.CheckAsync(B.Admission("j1", "alice", "od"))).Decision);
        Assert.Equal(-7_600m, (await billing.GetBalanceAsync("od")).Available);
        Assert.Equal(AdmissionDecision.Reject, (await billing.AdmissionCheck.CheckAsync(B.Admission("j2", "alice", "od", cpus: 1))).Decision);
    }

    [Theory]
    [InlineData(GrantStatus.Suspended, "suspended")]
    [InlineData(GrantStatus.Expired, "expired")]
    public async Task CheckAsync_InactiveGrant_Rejects(GrantStatus status, string word)
    {
        var billing = NewService(B.Grant("g", 100_000m) with { Status = status });
        var r = await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "g"));
        Assert.Equal("grant-inactive", r.Code);
        Assert.Contains(word, r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_OutsideValidity_RejectsAsExpired()
    {
        var billing = NewService(B.Grant("g", 100_000m) with { ValidTo = B.T0.AddDays(-1) });
        Assert.Equal("grant-inactive", (await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "g"))).Code);
    }

    [Fact]
    public async Task CheckAsync_UnknownGrantOrNoAccount_RejectsOrAdmitsPerOptions()
    {
        var billing = NewService();
        Assert.Equal("unknown-grant", (await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "nope"))).Code);
        Assert.Equal(AdmissionDecision.Admit, (await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", null))).Decision);
        var strict = B.GoldOptions();
        strict.RequireAccount = true;
        var r = await B.Service(new InMemoryBillingStore(), strict).AdmissionCheck.CheckAsync(B.Admission("j", "alice", null));
        Assert.Equal("account-required", r.Code);
    }

    [Fact]
    public async Task CheckAsync_SameJobTwice_HoldsOnce()
    {
        var billing = NewService(B.Grant("g", 100_000m));
        await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "g"));
        Assert.Equal(AdmissionDecision.Admit, (await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "g"))).Decision);
        Assert.Equal(57_600m, (await billing.GetBalanceAsync("g")).Held);
    }

    [Fact]
    public async Task ReleaseAsync_LaterCheckRejected_ReleasesTheHold()
    {
        var billing = NewService(B.Grant("g", 100_000m));
        var ctx = B.Admission("j", "alice", "g");
        await billing.AdmissionCheck.CheckAsync(ctx);
        await billing.AdmissionCheck.ReleaseAsync(ctx);
        var b = await billing.GetBalanceAsync("g");
        Assert.Equal(0m, b.Held);
        Assert.Equal(100_000m, b.Available);
        await billing.AdmissionCheck.ReleaseAsync(ctx); // a second release changes nothing
        Assert.Equal(100_000m, (await billing.GetBalanceAsync("g")).Available);
    }

    [Fact]
    public async Task RecordAsync_JobNeverStarted_ReleasesHoldAndCostsNothing()
    {
        var billing = NewService(B.Grant("g", 100_000m));
        await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "g"));
        var result = await billing.ChargeAsync(B.Usage("j", "alice", "g", seconds: 0));
        Assert.Equal(ChargeStatus.Released, result.Status);
        var b = await billing.GetBalanceAsync("g");
        Assert.Equal(0m, b.Held);
        Assert.Equal(0m, b.Charged);
        Assert.Equal(100_000m, b.Available);
    }

    [Fact]
    public async Task RecordAsync_Duplicate_ChargesOnce()
    {
        var billing = NewService(B.Grant("g", 100_000m));
        await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "g"));
        Assert.Equal(ChargeStatus.Charged, (await billing.ChargeAsync(B.Usage("j", "alice", "g"))).Status);
        Assert.Equal(ChargeStatus.AlreadyCharged, (await billing.ChargeAsync(B.Usage("j", "alice", "g"))).Status);
        // A later record for the same job with different numbers changes nothing either.
        Assert.Equal(ChargeStatus.AlreadyCharged, (await billing.ChargeAsync(B.Usage("j", "alice", "g", seconds: 99_999))).Status);
        Assert.Equal(19_744m, (await billing.GetBalanceAsync("g")).Charged);
    }

    [Fact]
    public async Task ChargeAsync_UsesTheRateCardVersionOfTheHold()
    {
        var billing = NewService(B.Grant("g", 1_000_000m));
        await billing.AdmissionCheck.CheckAsync(B.Admission("old", "alice", "g"));
        await billing.PublishRateCardAsync(new RateCard { Version = 2, Currency = "CRD", Rules = [new RateRule { CpuCoreHour = 7200m }] });
        await billing.AdmissionCheck.CheckAsync(B.Admission("new", "alice", "g"));
        Assert.Equal(19_744m, (await billing.ChargeAsync(B.Usage("old", "alice", "g"))).Amount);
        Assert.Equal(39_488m, (await billing.ChargeAsync(B.Usage("new", "alice", "g"))).Amount);
        await Assert.ThrowsAsync<CompGridException>(() => billing.PublishRateCardAsync(new RateCard { Version = 2, Rules = [new RateRule { CpuCoreHour = 1m }] }));
    }

    [Fact]
    public async Task ChargeAsync_RoundsOnceToTheMinorUnit()
    {
        var options = new GrantBillingOptions { RateCards = { new RateCard { Currency = "EUR", Rules = [new RateRule { CpuCoreHour = 0.013m }] } } };
        options.Grants.Add(B.Grant("eu", 100m) with { Currency = "EUR" });
        var billing = B.Service(new InMemoryBillingStore(), options, _time);
        await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "eu", cpus: 3));
        var r = await billing.ChargeAsync(B.Usage("j", "alice", "eu", cpus: 3, seconds: 1000)); // 3 × 0.013 × 1000/3600 = 0.010833…
        Assert.Equal(0.01m, r.Amount);
        Assert.Equal(0.0108333333333333333333333333m, Math.Round(r.Breakdown!.ExactTotal, 28));
    }

    [Fact]
    public async Task ChargeAsync_SlurmReportedBilling_ChargesTheReportedUnits()
    {
        var options = new GrantBillingOptions { RateCards = { new RateCard { Rules = [new RateRule { UseReportedBilling = true, BillingUnitHour = 100m }] } } };
        options.Grants.Add(B.Grant("g", 100_000m));
        var billing = B.Service(new InMemoryBillingStore(), options, _time);
        await billing.AdmissionCheck.CheckAsync(B.Admission("slurm-1", "alice", "g", cpus: 16));
        var usage = B.Usage("slurm-1", "alice", "g", cpus: 16, seconds: 3600) with { Tres = new Dictionary<string, decimal> { ["billing"] = 5m, ["cpu"] = 16m } };
        Assert.Equal(500m, (await billing.ChargeAsync(usage)).Amount);
    }

    [Fact]
    public async Task QuoteAsync_WithoutSubmitting_ReportsAmountAndAffordability()
    {
        var billing = NewService(B.Grant("g", 50_000m));
        var q = await billing.QuoteAsync(new JobSpec { Owner = "alice", Account = "g", Resources = new() { Cpus = 16 }, Walltime = TimeSpan.FromHours(1) });
        Assert.Equal(57_600m, q.Amount);
        Assert.Equal(50_000m, q.Spendable);
        Assert.False(q.Affordable);
        Assert.Equal(0m, (await billing.GetBalanceAsync("g")).Held);
        var noGrant = await billing.QuoteAsync(new QuoteRequest { Resources = new() { Cpus = 2, Nodes = 2 }, Walltime = TimeSpan.FromMinutes(30) });
        Assert.Equal(7_200m, noGrant.Amount);
        Assert.Null(noGrant.Affordable);
    }

    [Fact]
    public async Task AdjustAsync_RequiresReasonAndWholeMinorUnits()
    {
        var billing = NewService(B.Grant("g", 100m));
        var e = await billing.AdjustAsync("g", 25m, "admin", "refund for node failure", jobId: "j9");
        Assert.Equal(LedgerEntryKind.Adjustment, e.Kind);
        Assert.Equal(125m, (await billing.GetBalanceAsync("g")).Balance);
        await Assert.ThrowsAsync<BillingValidationException>(() => billing.AdjustAsync("g", 1m, "admin", ""));
        await Assert.ThrowsAsync<BillingValidationException>(() => billing.AdjustAsync("g", 0.001m, "admin", "x"));
        // The same key twice posts once.
        await billing.AdjustAsync("g", -5m, "admin", "fee", key: "adj-1");
        await billing.AdjustAsync("g", -5m, "admin", "fee", key: "adj-1");
        Assert.Equal(120m, (await billing.GetBalanceAsync("g")).Balance);
    }

    [Fact]
    public async Task CreateGrantAsync_Invalid_ThrowsNamingFields()
    {
        var billing = NewService(B.Grant("parent", 0m));
        var e = await Assert.ThrowsAsync<BillingValidationException>(() => billing.CreateGrantAsync(
            new Grant { Code = "bad code", PrincipalInvestigator = "", Budget = -1, ValidFrom = B.T0, ValidTo = B.T0, ParentCode = "missing" }, "admin"));
        Assert.Equal(["code", "principalInvestigator", "budget", "validTo", "parentCode"], e.Errors.Select(x => x.Field));
        await billing.CreateGrantAsync(B.Grant("child", 10m) with { ParentCode = "parent" }, "admin");
        await Assert.ThrowsAsync<BillingValidationException>(() => billing.UpdateGrantAsync(B.Grant("parent", 0m) with { ParentCode = "child" }));
        var dup = await Assert.ThrowsAsync<CompGridException>(() => billing.CreateGrantAsync(B.Grant("child", 1m), "admin"));
        Assert.Equal("grant-exists", dup.Code);
    }

    [Fact]
    public async Task GetRollupAsync_DepartmentTree_SumsChildren()
    {
        var billing = NewService(B.Grant("dept", 1_000m), B.Grant("group", 500m) with { ParentCode = "dept" },
            B.Grant("proj", 200m) with { ParentCode = "group" }, B.Grant("other", 7m));
        await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "proj", cpus: 1, walltime: TimeSpan.FromSeconds(60)));
        await billing.ChargeAsync(B.Usage("j", "alice", "proj", cpus: 1, seconds: 50));
        var (grants, total) = await billing.GetRollupAsync("dept");
        Assert.Equal(["dept", "group", "proj"], grants.Select(g => g.Grant.Code));
        Assert.Equal(1_700m, total.Allocated);
        Assert.Equal(50m, total.Charged);
        Assert.Equal(1_650m, total.Available);
        Assert.Equal(150m, (await billing.GetRollupAsync("proj")).Total.Available);
    }

    [Fact]
    public async Task ListGrantsAsync_ForUser_ReturnsGrantsTheUserMayCharge()
    {
        var billing = NewService(B.Grant("a", 1m, "alice"), B.Grant("b", 1m, "bob"), B.Grant("shared", 1m, "alice", "bob"));
        Assert.Equal(["a", "shared"], (await billing.ListGrantsAsync("alice")).Select(g => g.Code));
        Assert.Equal(["b", "shared"], (await billing.ListGrantsAsync("bob")).Select(g => g.Code));
        Assert.Equal(3, (await billing.ListGrantsAsync()).Count);
    }

    [Fact]
    public async Task ExpireAllocationsAsync_UnusedRemainderExpiresWithCarryOver()
    {
        var billing = NewService(B.Grant("g", 0m));
        await billing.AllocateAsync("g", 10_000m, "admin", "Q1", expiresAt: B.T0.AddDays(90), carryOverFraction: 0.5m);
        await billing.AllocateAsync("g", 5_000m, "admin", "Q2", expiresAt: B.T0.AddDays(180));
        await billing.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "g", cpus: 1));
        await billing.ChargeAsync(B.Usage("j", "alice", "g", cpus: 1, seconds: 4000)); // 4 000 spent, from Q1 first
        Assert.Equal(0, await billing.ExpireAllocationsAsync());
        _time.Advance(TimeSpan.FromDays(91));
        Assert.Equal(1, await billing.ExpireAllocationsAsync());
        Assert.Equal(0, await billing.ExpireAllocationsAsync()); // idempotent
        var b = await billing.GetBalanceAsync("g");
        Assert.Equal(6_000m, b.Expired);           // Q1 remainder
        Assert.Equal(18_000m, b.Allocated);        // 10 000 + 5 000 + 3 000 carried
        Assert.Equal(8_000m, b.Balance);           // 5 000 (Q2) + 3 000 carry-over
    }

    [Fact]
    public async Task GetStatementAsync_ChargesAdjustmentsAndSummariesAddUp()
    {
        var billing = NewService(B.Grant("g", 200_000m, "alice", "bob"));
        await billing.InitializeAsync(); // the configured grant and its budget are posted now
        _time.Advance(TimeSpan.FromDays(1));
        var from = _time.GetUtcNow();
        foreach (var (job, user, cpus) in new[] { ("j1", "alice", 16), ("j2", "bob", 2), ("j3", "alice", 1) })
            await billing.AdmissionCheck.CheckAsync(B.Admission(job, user, "g", cpus: cpus));
        await billing.ChargeAsync(B.Usage("j1", "alice", "g", cpus: 16, seconds: 1234, start: from.AddHours(1)));
        await billing.ChargeAsync(B.Usage("j2", "bob", "g", cpus: 2, seconds: 100, start: from.AddHours(2)));
        await billing.ChargeAsync(B.Usage("j3", "alice", "g", cpus: 1, seconds: 10, start: from.AddHours(3)));
        _time.Advance(TimeSpan.FromHours(5));
        await billing.AdjustAsync("g", 44m, "admin", "refund j3 (node failure), \"quoted\"");
        var to = from.AddDays(1);
        var s = await billing.GetStatementAsync("g", from, to);

        Assert.Equal(200_000m, s.OpeningBalance);
        Assert.Equal([19_744m, 200m, 10m], s.Charges.Select(c => c.Amount));
        Assert.Equal(s.Charges.Sum(c => c.Amount), s.TotalCharges);
        Assert.Equal(s.Adjustments.Sum(a => a.Amount), s.TotalAdjustments);
        Assert.Equal(s.OpeningBalance - s.TotalCharges + s.TotalAdjustments, s.ClosingBalance);
        Assert.Equal((await billing.GetBalanceAsync("g")).Balance, s.ClosingBalance);
        Assert.Equal(s.TotalCharges, s.ByUser.Sum(u => u.Amount));
        Assert.Equal(s.TotalCharges, s.ByResource.Sum(r => r.Amount));
        Assert.Equal(19_754m, s.ByUser.Single(u => u.User == "alice").Amount);
        Assert.Equal(2, s.ByUser.Single(u => u.User == "alice").Jobs);
        Assert.Contains("cpu=16", s.Charges[0].Resources, StringComparison.Ordinal);

        var json = s.ToJson();
        var back = Statement.FromJson(json);
        Assert.Equal(s.TotalCharges, back.TotalCharges);
        Assert.Equal(s.Charges.Count, back.Charges.Count);
        Assert.Contains("\"totalCharges\": 19954", json, StringComparison.Ordinal);

        var csv = s.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("section,at,entry,job,user,resources,hours,rate,amount,currency,reason", csv[0]);
        Assert.Equal(3, csv.Count(l => l.StartsWith("charge,", StringComparison.Ordinal)));
        Assert.Contains(csv, l => l.StartsWith("total-charges,", StringComparison.Ordinal) && l.Contains(",19954,", StringComparison.Ordinal));
        Assert.Contains(csv, l => l.Contains("\"refund j3 (node failure), \"\"quoted\"\"\"", StringComparison.Ordinal));
        Assert.StartsWith("closing,", csv[^1], StringComparison.Ordinal);

        var earlier = await billing.GetStatementAsync("g", B.T0, from);
        Assert.Empty(earlier.Charges);
        Assert.Equal(200_000m, earlier.ClosingBalance);
    }

    [Fact]
    public async Task Attack_QuoteWhoseCpusTimesNodesOverflows_RejectedNamingResourcesAndNothingHeld()
    {
        var billing = NewService(B.Grant("chem", 100_000m));
        var huge = new ResourceRequest { Cpus = 46_341, Nodes = 46_341, MemoryMiB = 1 }; // 46341² wraps int to a negative
        var e = await Assert.ThrowsAsync<BillingValidationException>(() => billing.QuoteAsync(new QuoteRequest { Account = "chem", Resources = huge }));
        Assert.Contains(e.Errors, x => x.Field == "resources");
        var ctx = B.Admission("wrap", "alice", "chem");
        var r = await billing.AdmissionCheck.CheckAsync(ctx with { Spec = ctx.Spec with { Resources = huge } });
        Assert.Equal((AdmissionDecision.Reject, "invalid"), (r.Decision, r.Code));
        var b = await billing.GetBalanceAsync("chem");
        Assert.Equal((0m, 100_000m), (b.Held, b.Available));
    }

    [Fact]
    public async Task ChargeAsync_JobNeverHeld_NotBilledWhateverAccountItNames()
    {
        var billing = NewService(B.Grant("chem", 100_000m));
        Assert.Equal(ChargeStatus.NotBilled, (await billing.ChargeAsync(B.Usage("unheld", "alice", "chem"))).Status);
        Assert.Equal(100_000m, (await billing.GetBalanceAsync("chem")).Available);
    }

    [Fact]
    public void Create_InvalidOptions_ThrowsNamingTheSetting()
    {
        var e = Assert.Throws<BillingValidationException>(() => GrantBilling.Create(new InMemoryBillingStore(), o => o.RateCardName = "missing"));
        Assert.Contains("RateCards", e.Message, StringComparison.Ordinal);
    }
}
