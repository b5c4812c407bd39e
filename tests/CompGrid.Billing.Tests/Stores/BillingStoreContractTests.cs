using CompGrid.Billing;
using CompGrid.Testing;

namespace CompGrid.Billing.Tests.Stores;

/// <summary>
/// The suite every <see cref="IBillingStore"/> passes (in-memory, SQLite, PostgreSQL): derive and return a fresh,
/// initialised store from <see cref="CreateStoreAsync"/>.
/// </summary>
public abstract class BillingStoreContractTests
{
    /// <summary>A new, empty, initialised store.</summary>
    protected abstract Task<IBillingStore> CreateStoreAsync();

    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static LedgerEntry Alloc(string grant, decimal amount, string? key = null, int minute = 0) =>
        new() { GrantCode = grant, Kind = LedgerEntryKind.Allocation, Amount = amount, Currency = "CRD", At = T0.AddMinutes(minute), Actor = "admin", Reason = "budget", Key = key };

    private static LedgerEntry Hold(string grant, string job, decimal amount, int minute = 0) =>
        new() { GrantCode = grant, Kind = LedgerEntryKind.Hold, Amount = -amount, Currency = "CRD", At = T0.AddMinutes(minute), JobId = job, User = "alice", Key = "hold:" + job,
            Details = new CostBreakdown { RateCard = "default", RateCardVersion = 3, Currency = "CRD", Cpus = 16, Hours = 1m, ExactTotal = amount,
                Components = [new CostComponent { Resource = "cpu", Quantity = 16, Hours = 1m, UnitPrice = amount / 16, Amount = amount }] } };

    private static LedgerEntry Charge(string grant, string job, decimal amount, int minute = 1) =>
        new() { GrantCode = grant, Kind = LedgerEntryKind.Charge, Amount = -amount, Currency = "CRD", At = T0.AddMinutes(minute), JobId = job, User = "alice", Key = "charge:" + job };

    private static async Task<IBillingStore> WithGrantAsync(IBillingStore store, string code, decimal budget, decimal creditLimit = 0)
    {
        Assert.True(await store.TryCreateGrantAsync(new Grant { Code = code, Title = "t", PrincipalInvestigator = "alice", Members = ["bob"], Currency = "CRD", CreditLimit = creditLimit }));
        if (budget > 0) Assert.NotNull(await store.TryAppendAsync([Alloc(code, budget)]));
        return store;
    }

    [Fact]
    public async Task Grants_CreateGetUpdateList_RoundTrip()
    {
        var store = await CreateStoreAsync();
        var g = new Grant
        {
            Code = "chem-1", Title = "Chemistry, \"quoted\"", PrincipalInvestigator = "alice", Members = ["bob", "carol"], Currency = "EUR", Budget = 1234.56m,
            ValidFrom = T0, ValidTo = T0.AddYears(1), Status = GrantStatus.Active, CreditLimit = 10.5m,
        };
        Assert.True(await store.TryCreateGrantAsync(g));
        Assert.False(await store.TryCreateGrantAsync(g with { Title = "other" }));
        var back = await store.GetGrantAsync("chem-1");
        Assert.Equal(g.Title, back!.Title);
        Assert.Equal(g.Members, back.Members);
        Assert.Equal(g.ValidTo, back.ValidTo);
        Assert.Equal(10.5m, back.CreditLimit);
        Assert.True(await store.TryUpdateGrantAsync(g with { Status = GrantStatus.Suspended }));
        Assert.False(await store.TryUpdateGrantAsync(g with { Code = "nope" }));
        Assert.Equal(GrantStatus.Suspended, (await store.GetGrantAsync("chem-1"))!.Status);
        Assert.True(await store.TryCreateGrantAsync(g with { Code = "a-first" }));
        Assert.Equal(["a-first", "chem-1"], (await store.ListGrantsAsync()).Select(x => x.Code));
        Assert.Null(await store.GetGrantAsync("nope"));
    }

    [Fact]
    public async Task RateCards_Versions_LatestAndExact()
    {
        var store = await CreateStoreAsync();
        var v1 = new RateCard { Version = 1, Rules = [new RateRule { CpuCoreHour = 1m, GpuHourByModel = new Dictionary<string, decimal> { ["a100"] = 2.5m } }],
            QosMultipliers = new Dictionary<string, decimal> { ["Premium"] = 2m }, TimeMultipliers = [new TimeMultiplier { Days = [DayOfWeek.Monday], FromHour = 22, ToHour = 6, Multiplier = 0.5m }] };
        Assert.True(await store.TrySaveRateCardAsync(v1));
        Assert.False(await store.TrySaveRateCardAsync(v1 with { Rules = [] }));
        Assert.True(await store.TrySaveRateCardAsync(v1 with { Version = 2, Rules = [new RateRule { CpuCoreHour = 3m }] }));
        Assert.Equal(2, (await store.GetRateCardAsync("default"))!.Version);
        var back = (await store.GetRateCardAsync("default", 1))!;
        Assert.Equal(2.5m, back.Rules[0].GpuHourByModel["a100"]);
        Assert.Equal(DayOfWeek.Monday, back.TimeMultipliers[0].Days[0]);
        // QOS names stay case-insensitive after a round trip.
        Assert.Equal(2m, RateCalculator.Charge(back, new PricingRequest { Cpus = 1, Qos = "premium", Duration = TimeSpan.FromHours(1), Start = T0 }).ExactTotal);
        Assert.Null(await store.GetRateCardAsync("other"));
    }

    [Fact]
    public async Task TryAppend_KeysAreUniqueAndBatchesAtomic()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 0);
        var first = await store.TryAppendAsync([Alloc("g", 100m, "k1")]);
        Assert.True(first![0].Id > 0);
        Assert.Null(await store.TryAppendAsync([Alloc("g", 100m, "k1")]));
        Assert.Null(await store.TryAppendAsync([Alloc("g", 5m, "k2"), Alloc("g", 7m, "k1")])); // k2 rolled back with k1
        Assert.NotNull(await store.TryAppendAsync([Alloc("g", 5m, "k2")]));
        Assert.Equal(105m, (await store.GetBalanceAsync("g"))!.Balance);
        await Assert.ThrowsAnyAsync<CompGridException>(() => store.TryAppendAsync([Alloc("unknown", 1m)]));
    }

    [Fact]
    public async Task Hold_WithinFunds_PlacedAndLowersAvailableOnly()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 100_000m);
        var r = await store.TryPlaceHoldAsync(Hold("g", "j1", 57_600m));
        Assert.Equal(HoldStatus.Placed, r.Status);
        Assert.Equal(100_000m, r.Spendable);
        var b = (await store.GetBalanceAsync("g"))!;
        Assert.Equal(100_000m, b.Balance);
        Assert.Equal(57_600m, b.Held);
        Assert.Equal(42_400m, b.Available);
        var active = await store.GetActiveHoldAsync("j1");
        Assert.Equal(-57_600m, active!.Amount);
        Assert.Equal(3, active.Details!.RateCardVersion);
        Assert.Equal(16m, active.Details.Components[0].Quantity);
    }

    [Fact]
    public async Task Hold_BeyondFunds_RefusedWithSpendable_CreditLimitCounts()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 1_000m, creditLimit: 500m);
        var r = await store.TryPlaceHoldAsync(Hold("g", "big", 1_500.01m));
        Assert.Equal(HoldStatus.InsufficientFunds, r.Status);
        Assert.Equal(1_500m, r.Spendable);
        Assert.Equal(0m, (await store.GetBalanceAsync("g"))!.Held);
        Assert.Equal(HoldStatus.Placed, (await store.TryPlaceHoldAsync(Hold("g", "exact", 1_500m))).Status);
        Assert.Equal(-500m, (await store.GetBalanceAsync("g"))!.Available);
        Assert.Equal(HoldStatus.GrantNotFound, (await store.TryPlaceHoldAsync(Hold("nope", "x", 1m))).Status);
    }

    [Fact]
    public async Task Hold_SameJobTwice_AlreadyExistsAndUnchanged()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 10_000m);
        await store.TryPlaceHoldAsync(Hold("g", "j", 1_000m));
        var again = await store.TryPlaceHoldAsync(Hold("g", "j", 1_000m));
        Assert.Equal(HoldStatus.AlreadyExists, again.Status);
        Assert.Equal(1_000m, (await store.GetBalanceAsync("g"))!.Held);
    }

    [Fact]
    public async Task Charge_ReplacesHold_OnceOnly()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 100_000m);
        await store.TryPlaceHoldAsync(Hold("g", "j", 57_600m));
        Assert.True(await store.TryChargeAsync(Charge("g", "j", 19_744m)));
        Assert.False(await store.TryChargeAsync(Charge("g", "j", 19_744m)));
        var b = (await store.GetBalanceAsync("g"))!;
        Assert.Equal(0m, b.Held);
        Assert.Equal(19_744m, b.Charged);
        Assert.Equal(80_256m, b.Available);
        Assert.Null(await store.GetActiveHoldAsync("j"));
        // A hold for a job that was charged already is not placed again.
        Assert.Equal(HoldStatus.AlreadyExists, (await store.TryPlaceHoldAsync(Hold("g", "j", 57_600m))).Status);
        var kinds = (await store.GetEntriesAsync(new LedgerQuery { JobId = "j" })).Select(e => e.Kind);
        Assert.Equal([LedgerEntryKind.Hold, LedgerEntryKind.Charge, LedgerEntryKind.HoldRelease], kinds);
    }

    [Fact]
    public async Task Charge_WithoutHold_Applies()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 100m);
        Assert.True(await store.TryChargeAsync(Charge("g", "j", 150m)));
        Assert.Equal(-50m, (await store.GetBalanceAsync("g"))!.Balance); // charges are never refused: the work was done
    }

    [Fact]
    public async Task Release_ActiveHold_RestoresAvailable_Once()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 1_000m);
        await store.TryPlaceHoldAsync(Hold("g", "j", 600m));
        var release = await store.ReleaseHoldAsync("j", T0.AddMinutes(5), "billing", "cancelled");
        Assert.Equal(600m, release!.Amount);
        Assert.Equal(LedgerEntryKind.HoldRelease, release.Kind);
        Assert.Null(await store.ReleaseHoldAsync("j", T0.AddMinutes(6), "billing", "again"));
        Assert.Null(await store.ReleaseHoldAsync("never-held", T0, null, null));
        Assert.Equal(1_000m, (await store.GetBalanceAsync("g"))!.Available);
    }

    [Fact]
    public async Task Entries_FilterByGrantJobAndTime_InLedgerOrder()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 0);
        await WithGrantAsync(store, "h", 0);
        await store.TryAppendAsync([Alloc("g", 1m, minute: 0), Alloc("h", 2m, minute: 1), Alloc("g", 3m, minute: 2), Alloc("g", 4m, minute: 3)]);
        Assert.Equal([1m, 3m, 4m], (await store.GetEntriesAsync(new LedgerQuery { GrantCode = "g" })).Select(e => e.Amount));
        Assert.Equal([3m], (await store.GetEntriesAsync(new LedgerQuery { GrantCode = "g", From = T0.AddMinutes(1), To = T0.AddMinutes(3) })).Select(e => e.Amount));
        var e0 = (await store.GetEntriesAsync(new LedgerQuery { GrantCode = "h" })).Single();
        Assert.Equal(T0.AddMinutes(1), e0.At);
        Assert.Equal("admin", e0.Actor);
        Assert.Equal(4m, (await store.GetBalanceAsync("g", T0.AddMinutes(3)))!.Balance);
        Assert.Null(await store.GetBalanceAsync("nope"));
    }

    [Fact]
    public async Task Concurrency_200HoldsOnAGrantAffording50_Exactly50Placed()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 50 * 1_000m);
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => store.TryPlaceHoldAsync(Hold("g", "job-" + i, 1_000m)))));
        Assert.Equal(50, results.Count(r => r.Status == HoldStatus.Placed));
        Assert.Equal(150, results.Count(r => r.Status == HoldStatus.InsufficientFunds));
        Assert.All(results, r => Assert.True(r.Spendable >= 0));
        var b = (await store.GetBalanceAsync("g"))!;
        Assert.Equal(0m, b.Available);
        Assert.Equal(50_000m, b.Held);
    }

    [Fact]
    public async Task Concurrency_ParallelDuplicateChargesAndReleases_ChargeOnce()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 100_000m);
        for (var j = 0; j < 10; j++) await store.TryPlaceHoldAsync(Hold("g", "j" + j, 5_000m));
        var tasks = new List<Task<bool>>();
        for (var j = 0; j < 10; j++)
        {
            for (var k = 0; k < 5; k++)
            {
                var job = "j" + j;
                tasks.Add(Task.Run(() => store.TryChargeAsync(Charge("g", job, 1_234m))));
                tasks.Add(Task.Run(async () => await store.ReleaseHoldAsync(job, T0, "billing", "race") is not null));
            }
        }
        await Task.WhenAll(tasks);
        var entries = await store.GetEntriesAsync(new LedgerQuery { GrantCode = "g" });
        Assert.Equal(10, entries.Count(e => e.Kind == LedgerEntryKind.Charge));
        Assert.Equal(10, entries.Count(e => e.Kind == LedgerEntryKind.HoldRelease));
        var b = (await store.GetBalanceAsync("g"))!;
        Assert.Equal(12_340m, b.Charged);
        Assert.Equal(0m, b.Held);
        Assert.Equal(100_000m - 12_340m, b.Available);
    }

    [Fact]
    public async Task Service_200ParallelSubmissions_Exactly50Admitted()
    {
        var store = await CreateStoreAsync();
        var billing = B.Service(store, B.GoldOptions(B.Grant("g", 50 * 3_600m)));
        await billing.InitializeAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            Task.Run(async () => await billing.AdmissionCheck.CheckAsync(B.Admission("s" + i, "alice", "g", cpus: 1)))));
        Assert.Equal(50, results.Count(r => r.Decision == AdmissionDecision.Admit));
        Assert.All(results.Where(r => r.Decision == AdmissionDecision.Reject), r => Assert.Equal("insufficient-funds", r.Code));
        var b = await billing.GetBalanceAsync("g");
        Assert.Equal(0m, b.Available);
        Assert.True(b.Available >= 0);
    }

    [Fact]
    public async Task Crash_AfterChargeCommittedBeforeAcknowledged_RedeliveryChargesOnce()
    {
        var store = await CreateStoreAsync();
        var options = B.GoldOptions(B.Grant("g", 100_000m));
        var first = B.Service(new CrashingStore(store, crashAfterCharge: true), options);
        await first.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "g"));
        await Assert.ThrowsAsync<SimulatedCrashException>(() => first.ChargeAsync(B.Usage("j", "alice", "g")));
        // "Restart": a new service on the same store; the engine redelivers the usage record.
        var restarted = B.Service(store, options);
        Assert.Equal(ChargeStatus.AlreadyCharged, (await restarted.ChargeAsync(B.Usage("j", "alice", "g"))).Status);
        await AssertBalancedAsync(store, "g", charged: 19_744m);
    }

    [Fact]
    public async Task Crash_BeforeChargeCommitted_RedeliveryChargesOnce()
    {
        var store = await CreateStoreAsync();
        var options = B.GoldOptions(B.Grant("g", 100_000m));
        var first = B.Service(new CrashingStore(store, crashAfterCharge: false), options);
        await first.AdmissionCheck.CheckAsync(B.Admission("j", "alice", "g"));
        await Assert.ThrowsAsync<SimulatedCrashException>(() => first.ChargeAsync(B.Usage("j", "alice", "g")));
        Assert.Equal(57_600m, (await store.GetBalanceAsync("g"))!.Held); // nothing was written: the hold still stands
        var restarted = B.Service(store, options);
        Assert.Equal(ChargeStatus.Charged, (await restarted.ChargeAsync(B.Usage("j", "alice", "g"))).Status);
        Assert.Equal(ChargeStatus.AlreadyCharged, (await restarted.ChargeAsync(B.Usage("j", "alice", "g"))).Status);
        await AssertBalancedAsync(store, "g", charged: 19_744m);
    }

    private static async Task AssertBalancedAsync(IBillingStore store, string grant, decimal charged)
    {
        var entries = await store.GetEntriesAsync(new LedgerQuery { GrantCode = grant });
        var b = (await store.GetBalanceAsync(grant))!;
        Assert.Equal(charged, b.Charged);
        Assert.Equal(0m, b.Held);
        Assert.Equal(1, entries.Count(e => e.Kind == LedgerEntryKind.Charge));
        Assert.Equal(entries.Sum(e => e.Amount), b.Available);
        Assert.Equal(b.Allocated + b.Adjusted - b.Expired - b.Charged - b.Held, b.Available);
    }
}

internal sealed class SimulatedCrashException() : Exception("simulated crash");

/// <summary>A store that "crashes" (throws) around the charge: before it reaches the store, or after it committed.</summary>
internal sealed class CrashingStore(IBillingStore inner, bool crashAfterCharge) : IBillingStore
{
    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);
    public Task<bool> TryCreateGrantAsync(Grant grant, CancellationToken cancellationToken = default) => inner.TryCreateGrantAsync(grant, cancellationToken);
    public Task<bool> TryUpdateGrantAsync(Grant grant, CancellationToken cancellationToken = default) => inner.TryUpdateGrantAsync(grant, cancellationToken);
    public Task<Grant?> GetGrantAsync(string code, CancellationToken cancellationToken = default) => inner.GetGrantAsync(code, cancellationToken);
    public Task<IReadOnlyList<Grant>> ListGrantsAsync(CancellationToken cancellationToken = default) => inner.ListGrantsAsync(cancellationToken);
    public Task<bool> TrySaveRateCardAsync(RateCard card, CancellationToken cancellationToken = default) => inner.TrySaveRateCardAsync(card, cancellationToken);
    public Task<RateCard?> GetRateCardAsync(string name, int? version = null, CancellationToken cancellationToken = default) => inner.GetRateCardAsync(name, version, cancellationToken);
    public Task<IReadOnlyList<LedgerEntry>?> TryAppendAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken = default) => inner.TryAppendAsync(entries, cancellationToken);
    public Task<HoldResult> TryPlaceHoldAsync(LedgerEntry hold, CancellationToken cancellationToken = default) => inner.TryPlaceHoldAsync(hold, cancellationToken);
    public Task<LedgerEntry?> ReleaseHoldAsync(string jobId, DateTimeOffset at, string? actor, string? reason, CancellationToken cancellationToken = default) => inner.ReleaseHoldAsync(jobId, at, actor, reason, cancellationToken);
    public Task<LedgerEntry?> GetActiveHoldAsync(string jobId, CancellationToken cancellationToken = default) => inner.GetActiveHoldAsync(jobId, cancellationToken);
    public Task<IReadOnlyList<LedgerEntry>> GetEntriesAsync(LedgerQuery query, CancellationToken cancellationToken = default) => inner.GetEntriesAsync(query, cancellationToken);
    public Task<GrantBalance?> GetBalanceAsync(string grantCode, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default) => inner.GetBalanceAsync(grantCode, asOf, cancellationToken);

    public async Task<bool> TryChargeAsync(LedgerEntry charge, CancellationToken cancellationToken = default)
    {
        if (!crashAfterCharge) throw new SimulatedCrashException();
        await inner.TryChargeAsync(charge, cancellationToken);
        throw new SimulatedCrashException();
    }
}
