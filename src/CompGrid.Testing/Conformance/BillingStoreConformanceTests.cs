using CompGrid.Billing;

namespace CompGrid.Testing;

/// <summary>
/// The suite every <see cref="IBillingStore"/> passes (in-memory, SQLite, PostgreSQL, a third party's). Derive a test
/// class and return a fresh, empty, initialised store from <see cref="CreateStoreAsync"/>; override
/// <see cref="OpenSecondInstanceAsync"/> when your store can be opened twice on the same data (a second process or
/// portal instance), so the concurrency facts run across instances. The first facts drive the store's primitives; the
/// later ones run the ledger's rules (<see cref="GrantBillingService"/>) on it, which is what a store must make atomic.
/// </summary>
public abstract class BillingStoreConformanceTests
{
    /// <summary>A Monday, 09:00 UTC: the clock every fact starts from.</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    /// <summary>A new, empty, initialised store.</summary>
    protected abstract Task<IBillingStore> CreateStoreAsync();

    /// <summary>A second instance over the same data as <paramref name="store"/> (another pool or process). The default is the same instance.</summary>
    protected virtual Task<IBillingStore> OpenSecondInstanceAsync(IBillingStore store) => Task.FromResult(store);

    /// <summary>How many parallel writers the concurrency facts start. The default is 200.</summary>
    protected virtual int ParallelWriters => 200;

    // ------------------------------------------------------------ builders

    /// <summary>An allocation entry.</summary>
    protected static LedgerEntry Alloc(string grant, decimal amount, string? key = null, int minute = 0) =>
        new() { GrantCode = grant, Kind = LedgerEntryKind.Allocation, Amount = amount, Currency = "CRD", At = T0.AddMinutes(minute), Actor = "admin", Reason = "budget", Key = key };

    /// <summary>Billing options with one card: 1 credit per CPU-second (3600 per core-hour), whole credits.</summary>
    protected static GrantBillingOptions GoldOptions(params Grant[] grants)
    {
        var o = new GrantBillingOptions { RateCards = { new RateCard { Currency = "CRD", Rules = [new RateRule { Name = "cpu-seconds", CpuCoreHour = 3600m }] } } };
        foreach (var g in grants) o.Grants.Add(g);
        return o;
    }

    /// <summary>A grant in credits whose principal investigator is <paramref name="pi"/>.</summary>
    protected static Grant NewGrant(string code, decimal budget, string pi = "alice", params string[] members) =>
        new() { Code = code, Title = "Grant " + code, PrincipalInvestigator = pi, Members = members, Currency = "CRD", Budget = budget };

    /// <summary>The billing service on <paramref name="store"/>, on a manual clock at <see cref="T0"/>.</summary>
    protected static GrantBillingService Service(IBillingStore store, GrantBillingOptions options) => GrantBilling.Create(store, options, new ManualTimeProvider(T0));

    /// <summary>The admission of a job of <paramref name="cpus"/> CPUs for an hour (a hold of cpus × 3600 credits).</summary>
    protected static AdmissionContext Admission(string jobId, string owner, string? account, int cpus = 16) => new()
    {
        JobId = jobId, Now = T0, Walltime = TimeSpan.FromHours(1), MemoryMiBPerNode = 1024,
        Spec = new JobSpec
        {
            Name = jobId, Owner = owner, Account = account, Payload = JobPayload.Command("true"),
            Resources = new ResourceRequest { Cpus = cpus, MemoryMiB = 1024 }, Walltime = TimeSpan.FromHours(1),
        },
    };

    /// <summary>The usage of a job that ran <paramref name="seconds"/> on <paramref name="cpus"/> CPUs (a charge of cpus × seconds credits).</summary>
    protected static UsageRecord Usage(string jobId, string user, string? account, int cpus = 16, double seconds = 1234) => new()
    {
        JobId = jobId, User = user, Account = account, Backend = "local", AllocatedCpus = cpus, AllocatedMemoryMiB = 1024, NodeCount = 1,
        StartedAt = seconds > 0 ? T0 : null, EndedAt = T0 + TimeSpan.FromSeconds(seconds), Elapsed = TimeSpan.FromSeconds(seconds),
        FinalState = seconds > 0 ? JobState.Completed : JobState.Cancelled,
    };

    private static async Task<IBillingStore> WithGrantAsync(IBillingStore store, string code, decimal budget, decimal creditLimit = 0)
    {
        Assert.True(await store.TryCreateGrantAsync(new Grant { Code = code, Title = "t", PrincipalInvestigator = "alice", Members = ["bob"], Currency = "CRD", CreditLimit = creditLimit }));
        if (budget > 0) Assert.Equal(LedgerWriteStatus.Appended, (await store.WriteAsync(LedgerWrite.Append(Alloc(code, budget)))).Status);
        return store;
    }

    /// <summary>Asserts the ledger balances: available = entries' sum = allocations + adjustments − expirations − charges − holds.</summary>
    protected static async Task AssertBalancedAsync(IBillingStore store, string grant)
    {
        ArgumentNullException.ThrowIfNull(store);
        var entries = await store.GetEntriesAsync(new LedgerQuery { GrantCode = grant });
        var b = (await store.GetBalanceAsync(grant))!;
        Assert.Equal(entries.Sum(e => e.Amount), b.Available);
        Assert.Equal(b.Allocated + b.Adjusted - b.Expired - b.Charged - b.Held, b.Available);
    }

    // ------------------------------------------------------------ grants and rate cards

    /// <summary>A grant reads back with every field; a second create and an update of a missing code are refused; the list is by code.</summary>
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
        Assert.True(await store.TryCreateGrantAsync(g with { Code = "B-upper" }));
        Assert.True(await store.TryCreateGrantAsync(g with { Code = "a-first" }));
        Assert.Equal(["B-upper", "a-first", "chem-1"], (await store.ListGrantsAsync()).Select(x => x.Code));
        Assert.Null(await store.GetGrantAsync("nope"));
    }

    /// <summary>Rate card versions are kept side by side, never replaced; the latest or an exact version reads back whole.</summary>
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

    // ------------------------------------------------------------ the guarded write

    /// <summary>Keys are unique across the ledger and a batch is all or none; a write to a missing grant appends nothing.</summary>
    [Fact]
    public async Task Write_KeysUnique_BatchesAtomic_UnknownGrantRefused()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 0);
        var first = await store.WriteAsync(LedgerWrite.Append(Alloc("g", 100m, "k1")));
        Assert.Equal(LedgerWriteStatus.Appended, first.Status);
        Assert.True(first.Entries[0].Id > 0);
        Assert.Equal(LedgerWriteStatus.DuplicateKey, (await store.WriteAsync(LedgerWrite.Append(Alloc("g", 100m, "k1")))).Status);
        Assert.Equal(LedgerWriteStatus.DuplicateKey, (await store.WriteAsync(LedgerWrite.Append(Alloc("g", 5m, "k2"), Alloc("g", 7m, "k1")))).Status); // k2 rolled back
        Assert.Equal(LedgerWriteStatus.DuplicateKey, (await store.WriteAsync(LedgerWrite.Append(Alloc("g", 5m, "k3"), Alloc("g", 7m, "k3")))).Status);
        Assert.Equal(LedgerWriteStatus.Appended, (await store.WriteAsync(LedgerWrite.Append(Alloc("g", 5m, "k2")))).Status);
        Assert.Equal(105m, (await store.GetBalanceAsync("g"))!.Balance);
        Assert.Equal(LedgerWriteStatus.GrantNotFound, (await store.WriteAsync(LedgerWrite.Append(Alloc("unknown", 1m)))).Status);
        Assert.Equal(2, (await store.GetEntriesAsync(new LedgerQuery())).Count);
    }

    /// <summary>The condition sees the grant, its balance and the job's entries; what it returns is appended, and nothing when it returns none.</summary>
    [Fact]
    public async Task Write_ConditionSeesGrantBalanceAndJobEntries()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 1_000m, creditLimit: 50m);
        var entry = new LedgerEntry { GrantCode = "g", Kind = LedgerEntryKind.Hold, Amount = -300m, Currency = "CRD", At = T0, JobId = "j", User = "bob", Key = "hold:j" };
        Assert.Equal(LedgerWriteStatus.Appended, (await store.WriteAsync(new LedgerWrite("g", "j", _ => [entry]))).Status);
        LedgerState? seen = null;
        var declined = await store.WriteAsync(new LedgerWrite("g", "j", s => { seen = s; return []; }));
        Assert.Equal(LedgerWriteStatus.Declined, declined.Status);
        Assert.Same(seen, declined.State);
        Assert.Equal("g", seen!.Grant.Code);
        Assert.Equal(["bob"], seen.Grant.Members);
        Assert.Equal(700m, seen.Balance.Available);
        Assert.Equal(750m, seen.Balance.Spendable);
        Assert.Equal(-300m, Assert.Single(seen.JobEntries).Amount);
        var unrelated = await store.WriteAsync(new LedgerWrite("g", null, s => { seen = s; return []; }));
        Assert.Empty(seen.JobEntries);
        Assert.Equal(2, (await store.GetEntriesAsync(new LedgerQuery { GrantCode = "g" })).Count);
        Assert.Equal(LedgerWriteStatus.Declined, unrelated.Status);
    }

    /// <summary>A condition that returns an entry for another grant than the one it locked is refused, and nothing is appended.</summary>
    [Fact]
    public async Task Write_EntryForAnotherGrant_RefusedAndNothingAppended()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 10m);
        await WithGrantAsync(store, "h", 10m);
        await Assert.ThrowsAsync<ArgumentException>(() => store.WriteAsync(new LedgerWrite("g", null, _ => [Alloc("g", 1m), Alloc("h", 1m)])));
        Assert.Single(await store.GetEntriesAsync(new LedgerQuery { GrantCode = "g" }));
        Assert.Single(await store.GetEntriesAsync(new LedgerQuery { GrantCode = "h" }));
    }

    /// <summary>Every field of an entry round-trips (details, flags, expiry, carry-over); queries filter by grant, job and time, in ledger order.</summary>
    [Fact]
    public async Task Entries_RoundTripAndFilterByGrantJobAndTime_InLedgerOrder()
    {
        var store = await WithGrantAsync(await CreateStoreAsync(), "g", 0);
        await WithGrantAsync(store, "h", 0);
        var details = new CostBreakdown { RateCard = "default", RateCardVersion = 3, Currency = "CRD", Cpus = 16, Hours = 1m, ExactTotal = 12.5m,
            Components = [new CostComponent { Resource = "cpu", Quantity = 16, Hours = 1m, UnitPrice = 0.78125m, Amount = 12.5m }] };
        await store.WriteAsync(LedgerWrite.Append(Alloc("g", 1m, minute: 0) with { ExpiresAt = T0.AddDays(30), CarryOverFraction = 0.25m }));
        await store.WriteAsync(LedgerWrite.Append(Alloc("h", 2m, minute: 1)));
        await store.WriteAsync(LedgerWrite.Append(Alloc("g", 3m, minute: 2)));
        await store.WriteAsync(new LedgerWrite("g", "j", _ => [new LedgerEntry
        {
            GrantCode = "g", Kind = LedgerEntryKind.Charge, Amount = -0.01m, Currency = "CRD", At = T0.AddMinutes(3).AddTicks(10), JobId = "j", User = "bob",
            Actor = "billing", Reason = "completed", Key = "charge:j", Details = details, Flags = LedgerEntryFlags.Clamped | LedgerEntryFlags.AccountMismatch,
        }]));
        Assert.Equal([1m, 3m, -0.01m], (await store.GetEntriesAsync(new LedgerQuery { GrantCode = "g" })).Select(e => e.Amount));
        Assert.Equal([3m], (await store.GetEntriesAsync(new LedgerQuery { GrantCode = "g", From = T0.AddMinutes(1), To = T0.AddMinutes(3) })).Select(e => e.Amount));
        var alloc = (await store.GetEntriesAsync(new LedgerQuery { GrantCode = "g" }))[0];
        Assert.Equal(T0.AddDays(30), alloc.ExpiresAt);
        Assert.Equal(0.25m, alloc.CarryOverFraction);
        Assert.Equal("admin", alloc.Actor);
        var charge = Assert.Single(await store.GetEntriesAsync(new LedgerQuery { JobId = "j" }));
        Assert.Equal(LedgerEntryFlags.Clamped | LedgerEntryFlags.AccountMismatch, charge.Flags);
        Assert.Equal(0.78125m, charge.Details!.Components[0].UnitPrice);
        Assert.Equal(("bob", "billing", "completed", "charge:j"), (charge.User, charge.Actor, charge.Reason, charge.Key));
        Assert.Equal(T0.AddMinutes(3), charge.At.AddTicks(-(charge.At.Ticks % TimeSpan.TicksPerMillisecond)));
        Assert.Equal(4m, (await store.GetBalanceAsync("g", T0.AddMinutes(3)))!.Balance);
        Assert.Null(await store.GetBalanceAsync("nope"));
        await AssertBalancedAsync(store, "g");
    }

    // ------------------------------------------------------------ the ledger's rules on the store

    /// <summary>A hold within the grant's funds is placed once and lowers the available balance only; a second admission of the job changes nothing.</summary>
    [Fact]
    public async Task Hold_WithinFunds_PlacedOnce_LowersAvailableOnly()
    {
        var store = await CreateStoreAsync();
        var billing = Service(store, GoldOptions(NewGrant("g", 100_000m)));
        Assert.Equal(AdmissionDecision.Admit, (await billing.AdmissionCheck.CheckAsync(Admission("j1", "alice", "g"))).Decision);
        Assert.Equal(AdmissionDecision.Admit, (await billing.AdmissionCheck.CheckAsync(Admission("j1", "alice", "g"))).Decision);
        var b = await billing.GetBalanceAsync("g");
        Assert.Equal((100_000m, 57_600m, 42_400m), (b.Balance, b.Held, b.Available));
        var hold = Assert.Single(await store.GetEntriesAsync(new LedgerQuery { JobId = "j1" }));
        Assert.Equal(("hold:j1", 16), (hold.Key, hold.Details!.Cpus));
    }

    /// <summary>A hold beyond available + credit limit is refused with the spendable amount; exactly the spendable amount is placed.</summary>
    [Fact]
    public async Task Hold_BeyondFunds_RefusedAndCreditLimitCounts()
    {
        var store = await CreateStoreAsync();
        var billing = Service(store, GoldOptions(NewGrant("g", 3_600m) with { CreditLimit = 3_600m }));
        var refused = await billing.AdmissionCheck.CheckAsync(Admission("big", "alice", "g", cpus: 3));
        Assert.Equal(("insufficient-funds", AdmissionDecision.Reject), (refused.Code, refused.Decision));
        Assert.Equal(0m, (await billing.GetBalanceAsync("g")).Held);
        Assert.Equal(AdmissionDecision.Admit, (await billing.AdmissionCheck.CheckAsync(Admission("exact", "alice", "g", cpus: 2))).Decision);
        Assert.Equal(-3_600m, (await billing.GetBalanceAsync("g")).Available);
    }

    /// <summary>A charge replaces the job's hold in one write and happens once; a later admission of the charged job places no hold.</summary>
    [Fact]
    public async Task Charge_ReplacesHold_OnceOnly()
    {
        var store = await CreateStoreAsync();
        var billing = Service(store, GoldOptions(NewGrant("g", 100_000m)));
        await billing.AdmissionCheck.CheckAsync(Admission("j", "alice", "g"));
        Assert.Equal(ChargeStatus.Charged, (await billing.ChargeAsync(Usage("j", "alice", "g"))).Status);
        Assert.Equal(ChargeStatus.AlreadyCharged, (await billing.ChargeAsync(Usage("j", "alice", "g"))).Status);
        await billing.AdmissionCheck.CheckAsync(Admission("j", "alice", "g"));
        var b = await billing.GetBalanceAsync("g");
        Assert.Equal((0m, 19_744m, 80_256m), (b.Held, b.Charged, b.Available));
        Assert.Equal([LedgerEntryKind.Hold, LedgerEntryKind.Charge, LedgerEntryKind.HoldRelease], (await store.GetEntriesAsync(new LedgerQuery { JobId = "j" })).Select(e => e.Kind));
        await AssertBalancedAsync(store, "g");
    }

    /// <summary>Releasing a job's hold restores the available balance, once; a job that never had a hold has nothing to release.</summary>
    [Fact]
    public async Task Release_ActiveHold_RestoresAvailable_Once()
    {
        var store = await CreateStoreAsync();
        var billing = Service(store, GoldOptions(NewGrant("g", 100_000m)));
        await billing.AdmissionCheck.CheckAsync(Admission("j", "alice", "g"));
        Assert.True(await billing.ReleaseHoldAsync("j", "cancelled"));
        Assert.False(await billing.ReleaseHoldAsync("j", "again"));
        Assert.False(await billing.ReleaseHoldAsync("never-held", "none"));
        Assert.Equal(100_000m, (await billing.GetBalanceAsync("g")).Available);
        var release = (await store.GetEntriesAsync(new LedgerQuery { JobId = "j" }))[^1];
        Assert.Equal((LedgerEntryKind.HoldRelease, 57_600m, "cancelled"), (release.Kind, release.Amount, release.Reason));
    }

    /// <summary>Attack: a usage record names another grant (the job was admitted on g, the record says victim) → the charge goes to the hold's grant, flagged.</summary>
    [Fact]
    public async Task Attack_UsageRecordNamesAnotherGrant_ChargeGoesToTheHoldsGrant()
    {
        var store = await CreateStoreAsync();
        var billing = Service(store, GoldOptions(NewGrant("g", 100_000m, "bob"), NewGrant("victim", 100_000m, "alice")));
        await billing.AdmissionCheck.CheckAsync(Admission("j", "bob", "g"));
        var r = await billing.ChargeAsync(Usage("j", "bob", "victim"));
        Assert.Equal((ChargeStatus.Charged, 19_744m), (r.Status, r.Amount));
        Assert.Equal(19_744m, (await billing.GetBalanceAsync("g")).Charged);
        Assert.Empty(await store.GetEntriesAsync(new LedgerQuery { GrantCode = "victim", JobId = "j" }));
        Assert.Equal(100_000m, (await billing.GetBalanceAsync("victim")).Available);
        var charge = (await store.GetEntriesAsync(new LedgerQuery { JobId = "j" })).Single(e => e.Kind == LedgerEntryKind.Charge);
        Assert.Equal(("g", LedgerEntryFlags.AccountMismatch), (charge.GrantCode, charge.Flags));
        // A job never admitted with a hold is not charged to whatever account its record names.
        Assert.Equal(ChargeStatus.NotBilled, (await billing.ChargeAsync(Usage("stray", "bob", "victim"))).Status);
        Assert.Equal(100_000m, (await billing.GetBalanceAsync("victim")).Available);
    }

    /// <summary>Attack: a usage record with a negative quantity (CPUs, memory, GPUs, nodes, elapsed, a TRES) → rejected naming the field, ledger unchanged.</summary>
    [Fact]
    public async Task Attack_NegativeQuantity_RejectedAndLedgerUnchanged()
    {
        var store = await CreateStoreAsync();
        var billing = Service(store, GoldOptions(NewGrant("g", 100_000m)));
        await billing.AdmissionCheck.CheckAsync(Admission("j", "alice", "g"));
        var before = await store.GetEntriesAsync(new LedgerQuery());
        var usage = Usage("j", "alice", "g");
        (UsageRecord Record, string Field)[] attacks =
        [
            (usage with { AllocatedCpus = -16 }, "usage.allocatedCpus"),
            (usage with { AllocatedMemoryMiB = -1 }, "usage.allocatedMemoryMiB"),
            (usage with { AllocatedGpus = -1 }, "usage.allocatedGpus"),
            (usage with { NodeCount = -1 }, "usage.nodeCount"),
            (usage with { Elapsed = TimeSpan.FromSeconds(-1234) }, "usage.elapsed"),
            (usage with { EndedAt = T0.AddSeconds(-5) }, "usage.endedAt"),
            (usage with { Tres = new Dictionary<string, decimal> { ["billing"] = -1e9m } }, "usage.tres.billing"),
        ];
        foreach (var (record, field) in attacks)
        {
            var e = await Assert.ThrowsAsync<BillingValidationException>(() => billing.ChargeAsync(record));
            Assert.Contains(e.Errors, x => x.Field == field);
        }
        Assert.Equal(before.Select(e => (e.Id, e.Amount)), (await store.GetEntriesAsync(new LedgerQuery())).Select(e => (e.Id, e.Amount)));
        Assert.Equal(ChargeStatus.Charged, (await billing.ChargeAsync(usage)).Status); // the honest record still charges
    }

    /// <summary>Attack: the job's owner was removed from the grant after admission → nothing is charged, the hold is released.</summary>
    [Fact]
    public async Task Attack_OwnerNoLongerAMember_NotChargedAndHoldReleased()
    {
        var store = await CreateStoreAsync();
        var billing = Service(store, GoldOptions(NewGrant("g", 100_000m, "alice", "bob")));
        await billing.AdmissionCheck.CheckAsync(Admission("j", "bob", "g"));
        var grant = (await billing.GetGrantAsync("g"))!;
        await billing.UpdateGrantAsync(grant with { Members = [] });
        Assert.Equal(ChargeStatus.Refused, (await billing.ChargeAsync(Usage("j", "bob", "g"))).Status);
        var b = await billing.GetBalanceAsync("g");
        Assert.Equal((0m, 0m, 100_000m), (b.Charged, b.Held, b.Available));
    }

    /// <summary>Attack: the record claims more than the job could use (its quoted 16 CPUs, the observed time) → clamped to that cap and flagged.</summary>
    [Fact]
    public async Task Attack_UsageBeyondTheQuoteOrObservedTime_ClampedAndFlagged()
    {
        var store = await CreateStoreAsync();
        var billing = Service(store, GoldOptions(NewGrant("g", 10_000_000m)));
        await billing.AdmissionCheck.CheckAsync(Admission("j", "alice", "g"));
        var r = await billing.ChargeAsync(Usage("j", "alice", "g", cpus: 16_000, seconds: 90_000), observedElapsed: TimeSpan.FromSeconds(1000));
        Assert.Equal((ChargeStatus.Charged, 16_000m), (r.Status, r.Amount)); // 16 CPUs × 1000 s
        var charge = (await store.GetEntriesAsync(new LedgerQuery { JobId = "j" })).Single(e => e.Kind == LedgerEntryKind.Charge);
        Assert.Equal((-16_000m, LedgerEntryFlags.Clamped), (charge.Amount, charge.Flags));
        await AssertBalancedAsync(store, "g");
    }

    // ------------------------------------------------------------ concurrency

    /// <summary>Parallel admissions (across instances when the store has several) on a grant affording 50 holds: exactly 50 are placed, never an overdraft.</summary>
    [Fact]
    public async Task Concurrency_ParallelAdmissionsOnAGrantAffording50_Exactly50Placed()
    {
        var store = await CreateStoreAsync();
        var second = await OpenSecondInstanceAsync(store);
        var options = GoldOptions(NewGrant("g", 50 * 3_600m));
        var services = new[] { Service(store, options), Service(second, options) };
        await services[0].InitializeAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, ParallelWriters).Select(i =>
            Task.Run(async () => await services[i % 2].AdmissionCheck.CheckAsync(Admission("s" + i, "alice", "g", cpus: 1)))));
        Assert.Equal(50, results.Count(r => r.Decision == AdmissionDecision.Admit));
        Assert.All(results.Where(r => r.Decision == AdmissionDecision.Reject), r => Assert.Equal("insufficient-funds", r.Code));
        var b = await services[1].GetBalanceAsync("g");
        Assert.Equal((0m, 180_000m), (b.Available, b.Held));
        await AssertBalancedAsync(store, "g");
    }

    /// <summary>The same job's usage delivered many times in parallel (across instances): charged exactly once, its hold released once.</summary>
    [Fact]
    public async Task Concurrency_ParallelChargesOfTheSameJob_ChargeOnce()
    {
        var store = await CreateStoreAsync();
        var second = await OpenSecondInstanceAsync(store);
        var options = GoldOptions(NewGrant("g", 1_000_000m));
        var services = new[] { Service(store, options), Service(second, options) };
        for (var j = 0; j < 5; j++) await services[0].AdmissionCheck.CheckAsync(Admission("j" + j, "alice", "g"));
        var tasks = Enumerable.Range(0, ParallelWriters / 2).Select(i => Task.Run(async () =>
        {
            var job = "j" + (i % 5);
            return i % 3 == 0
                ? (await services[i % 2].ReleaseHoldAsync(job, "race") ? ChargeStatus.Released : ChargeStatus.NotBilled)
                : (await services[i % 2].ChargeAsync(Usage(job, "alice", "g"))).Status;
        })).ToList();
        var statuses = await Task.WhenAll(tasks);
        var entries = await store.GetEntriesAsync(new LedgerQuery { GrantCode = "g" });
        Assert.Equal(5, statuses.Count(s => s == ChargeStatus.Charged)); // a released hold still names the grant to charge
        Assert.Equal(5, entries.Count(e => e.Kind == LedgerEntryKind.Charge));
        Assert.Equal(5, entries.Count(e => e.Kind == LedgerEntryKind.HoldRelease));
        Assert.All(entries.Where(e => e.Kind == LedgerEntryKind.Charge).GroupBy(e => e.JobId), g => Assert.Single(g));
        var b = await services[1].GetBalanceAsync("g");
        Assert.Equal(0m, b.Held);
        Assert.Equal(19_744m * entries.Count(e => e.Kind == LedgerEntryKind.Charge), b.Charged);
        await AssertBalancedAsync(store, "g");
    }

    // ------------------------------------------------------------ crashes

    /// <summary>The charge committed but the process died before acknowledging it: the redelivered record changes nothing.</summary>
    [Fact]
    public async Task Crash_AfterChargeCommittedBeforeAcknowledged_RedeliveryChargesOnce()
    {
        var store = await CreateStoreAsync();
        var options = GoldOptions(NewGrant("g", 100_000m));
        var first = Service(new CrashingStore(store, crashAfterCharge: true), options);
        await first.AdmissionCheck.CheckAsync(Admission("j", "alice", "g"));
        await Assert.ThrowsAsync<SimulatedCrashException>(() => first.ChargeAsync(Usage("j", "alice", "g")));
        var restarted = Service(store, options);
        Assert.Equal(ChargeStatus.AlreadyCharged, (await restarted.ChargeAsync(Usage("j", "alice", "g"))).Status);
        var b = await restarted.GetBalanceAsync("g");
        Assert.Equal((19_744m, 0m), (b.Charged, b.Held));
        await AssertBalancedAsync(store, "g");
    }

    /// <summary>The process died inside the charge's transaction: nothing was written, the hold stands, the redelivery charges once.</summary>
    [Fact]
    public async Task Crash_InsideTheChargeTransaction_NothingWritten_RedeliveryChargesOnce()
    {
        var store = await CreateStoreAsync();
        var options = GoldOptions(NewGrant("g", 100_000m));
        var first = Service(new CrashingStore(store, crashAfterCharge: false), options);
        await first.AdmissionCheck.CheckAsync(Admission("j", "alice", "g"));
        await Assert.ThrowsAsync<SimulatedCrashException>(() => first.ChargeAsync(Usage("j", "alice", "g")));
        Assert.Equal(57_600m, (await store.GetBalanceAsync("g"))!.Held);
        var restarted = Service(store, options);
        Assert.Equal(ChargeStatus.Charged, (await restarted.ChargeAsync(Usage("j", "alice", "g"))).Status);
        Assert.Equal(ChargeStatus.AlreadyCharged, (await restarted.ChargeAsync(Usage("j", "alice", "g"))).Status);
        Assert.Equal((19_744m, 0m), ((await store.GetBalanceAsync("g"))!.Charged, (await store.GetBalanceAsync("g"))!.Held));
    }

    private sealed class SimulatedCrashException() : Exception("simulated crash");

    /// <summary>A store that "crashes" around a charge: inside its transaction (before commit), or right after it committed.</summary>
    private sealed class CrashingStore(IBillingStore inner, bool crashAfterCharge) : IBillingStore
    {
        public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);
        public Task<bool> TryCreateGrantAsync(Grant grant, CancellationToken cancellationToken = default) => inner.TryCreateGrantAsync(grant, cancellationToken);
        public Task<bool> TryUpdateGrantAsync(Grant grant, CancellationToken cancellationToken = default) => inner.TryUpdateGrantAsync(grant, cancellationToken);
        public Task<Grant?> GetGrantAsync(string code, CancellationToken cancellationToken = default) => inner.GetGrantAsync(code, cancellationToken);
        public Task<IReadOnlyList<Grant>> ListGrantsAsync(CancellationToken cancellationToken = default) => inner.ListGrantsAsync(cancellationToken);
        public Task<bool> TrySaveRateCardAsync(RateCard card, CancellationToken cancellationToken = default) => inner.TrySaveRateCardAsync(card, cancellationToken);
        public Task<RateCard?> GetRateCardAsync(string name, int? version = null, CancellationToken cancellationToken = default) => inner.GetRateCardAsync(name, version, cancellationToken);
        public Task<IReadOnlyList<LedgerEntry>> GetEntriesAsync(LedgerQuery query, CancellationToken cancellationToken = default) => inner.GetEntriesAsync(query, cancellationToken);
        public Task<GrantBalance?> GetBalanceAsync(string grantCode, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default) => inner.GetBalanceAsync(grantCode, asOf, cancellationToken);

        public async Task<LedgerWriteResult> WriteAsync(LedgerWrite write, CancellationToken cancellationToken = default)
        {
            var charged = false;
            var result = await inner.WriteAsync(new LedgerWrite(write.GrantCode, write.JobId, state =>
            {
                var entries = write.Decide(state);
                charged = entries.Any(e => e.Kind == LedgerEntryKind.Charge);
                if (charged && !crashAfterCharge) throw new SimulatedCrashException(); // dies before the commit
                return entries;
            }), cancellationToken);
            if (charged) throw new SimulatedCrashException();
            return result;
        }
    }
}
