using CompGrid.Billing;
using CompGrid.Testing;
using FsCheck;
using FsCheck.Fluent;

namespace CompGrid.Billing.Tests.Properties;

/// <summary>FsCheck properties of the ledger, statements and rounding (run on the in-memory store through the service).</summary>
[Trait("Category", "Billing")]
public sealed class LedgerPropertyTests
{
    /// <summary>One step of a random operation sequence.</summary>
    public sealed record Op(int Kind, int Job, int Cpus, int Seconds, int Amount);

    private static readonly Gen<Op> OpGen =
        from kind in Gen.Choose(0, 6)
        from job in Gen.Choose(0, 7)
        from cpus in Gen.Choose(1, 16)
        from seconds in Gen.Choose(0, 5000)
        from amount in Gen.Choose(-500, 5000)
        select new Op(kind, job, cpus, seconds, amount);

    private static readonly Arbitrary<Op[]> Ops = OpGen.ArrayOf().ToArbitrary();

    private static GrantBillingService NewService(ManualTimeProvider time)
    {
        var options = new GrantBillingOptions
        {
            RateCards = { new RateCard { Currency = "EUR", Rules = [new RateRule { CpuCoreHour = 0.0137m, MemoryGbHour = 0.0011m, PerJobFee = 0.01m }] } },
            Grants = { new Grant { Code = "g", PrincipalInvestigator = "alice", Members = ["bob"], Currency = "EUR", Budget = 100m, CreditLimit = 5m } },
        };
        return GrantBilling.Create(new InMemoryBillingStore(), options, time);
    }

    /// <summary>Applies one operation; returns the model's (allocated+adjusted, charged, active holds by job).</summary>
    private static void Apply(GrantBillingService billing, ManualTimeProvider time, Op op, Dictionary<int, decimal> holds, ref decimal posted, ref decimal charged, HashSet<int> finished)
    {
        var job = "j" + op.Job;
        var user = op.Job % 2 == 0 ? "alice" : "bob";
        time.Advance(TimeSpan.FromMinutes(1));
        switch (op.Kind)
        {
            case 0: // submit (quote + hold)
            {
                var ctx = new AdmissionContext
                {
                    JobId = job, Now = time.GetUtcNow(), Walltime = TimeSpan.FromSeconds(Math.Max(1, op.Seconds)), MemoryMiBPerNode = 1024,
                    Spec = new JobSpec { Owner = user, Account = "g", Resources = new ResourceRequest { Cpus = op.Cpus, MemoryMiB = 1024 } },
                };
                var before = billing.GetBalanceAsync("g").GetAwaiter().GetResult();
                var r = billing.AdmissionCheck.CheckAsync(ctx).AsTask().GetAwaiter().GetResult();
                var after = billing.GetBalanceAsync("g").GetAwaiter().GetResult();
                if (r.Decision == AdmissionDecision.Admit && !holds.ContainsKey(op.Job) && !finished.Contains(op.Job)) holds[op.Job] = after.Held - before.Held;
                break;
            }
            case 1: // finish with usage (possibly zero elapsed)
            case 2: // duplicate delivery of the same record
            {
                var usage = new UsageRecord
                {
                    JobId = job, User = user, Account = "g", AllocatedCpus = op.Cpus, AllocatedMemoryMiB = 1024, NodeCount = 1, Backend = "local",
                    StartedAt = op.Seconds > 0 ? time.GetUtcNow() : null, EndedAt = time.GetUtcNow(), Elapsed = TimeSpan.FromSeconds(op.Seconds),
                    FinalState = op.Seconds > 0 ? JobState.Completed : JobState.Cancelled,
                };
                for (var i = 0; i < (op.Kind == 2 ? 2 : 1); i++)
                {
                    var r = billing.ChargeAsync(usage).GetAwaiter().GetResult();
                    if (r.Status == ChargeStatus.Charged) { charged += r.Amount; finished.Add(op.Job); holds.Remove(op.Job); }
                    if (r.Status == ChargeStatus.Released) holds.Remove(op.Job);
                }
                break;
            }
            case 3: // a later admission check refused the job
                billing.AdmissionCheck.ReleaseAsync(new AdmissionContext { JobId = job, Spec = new JobSpec() }).AsTask().GetAwaiter().GetResult();
                holds.Remove(op.Job);
                break;
            case 4: // allocation
                if (op.Amount > 0)
                {
                    billing.AllocateAsync("g", op.Amount / 100m, "admin", "top-up").GetAwaiter().GetResult();
                    posted += op.Amount / 100m;
                }
                break;
            case 5: // adjustment (either sign)
                if (op.Amount != 0)
                {
                    billing.AdjustAsync("g", op.Amount / 100m, "admin", "correction").GetAwaiter().GetResult();
                    posted += op.Amount / 100m;
                }
                break;
            default: // cancelled before start: usage with zero elapsed
                if (billing.ChargeAsync(new UsageRecord { JobId = job, User = user, Account = "g", FinalState = JobState.Cancelled }).GetAwaiter().GetResult().Status == ChargeStatus.Released)
                    holds.Remove(op.Job);
                break;
        }
    }

    [Fact]
    public void AnyOperationSequence_AllocationsMinusChargesMinusActiveHolds_EqualsAvailable()
    {
        Prop.ForAll(Ops, ops =>
        {
            var time = new ManualTimeProvider(B.T0);
            var billing = NewService(time);
            billing.InitializeAsync().GetAwaiter().GetResult();
            var holds = new Dictionary<int, decimal>();
            var finished = new HashSet<int>();
            decimal posted = 100m, charged = 0m;
            foreach (var op in ops)
            {
                Apply(billing, time, op, holds, ref posted, ref charged, finished);
                var b = billing.GetBalanceAsync("g").GetAwaiter().GetResult();
                var entries = billing.Store.GetEntriesAsync(new LedgerQuery { GrantCode = "g" }).GetAwaiter().GetResult();
                if (b.Allocated + b.Adjusted - b.Expired - b.Charged - b.Held != b.Available) return false;
                if (entries.Sum(e => e.Amount) != b.Available) return false;            // derived from entries
                if (b.Charged != charged || b.Allocated + b.Adjusted != posted) return false; // matches the model
                if (b.Held != holds.Values.Sum()) return false;                         // only active holds count
                if (entries.Any(e => e.Kind is LedgerEntryKind.Hold or LedgerEntryKind.Charge && !billing.Rounding.IsWholeMinorUnits(e.Amount, "EUR"))) return false;
            }
            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void DuplicateUsageRecord_NeverChangesABalance()
    {
        Prop.ForAll(Ops, Gen.Choose(1, 16).ToArbitrary(), (ops, cpus) =>
        {
            var time = new ManualTimeProvider(B.T0);
            var billing = NewService(time);
            billing.InitializeAsync().GetAwaiter().GetResult();
            var holds = new Dictionary<int, decimal>();
            var finished = new HashSet<int>();
            decimal posted = 100m, charged = 0m;
            foreach (var op in ops) Apply(billing, time, op, holds, ref posted, ref charged, finished);
            var usage = B.Usage("dup", "alice", "g", cpus: cpus, seconds: 777);
            billing.ChargeAsync(usage).GetAwaiter().GetResult();
            var once = billing.GetBalanceAsync("g").GetAwaiter().GetResult();
            billing.ChargeAsync(usage).GetAwaiter().GetResult();
            billing.ChargeAsync(usage with { AllocatedCpus = cpus + 1, Elapsed = TimeSpan.FromHours(9) }).GetAwaiter().GetResult();
            return once == billing.GetBalanceAsync("g").GetAwaiter().GetResult();
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Statement_TotalsEqualTheSumOfLines_AndNoMinorUnitIsCreatedOrLost()
    {
        Prop.ForAll(Ops, Gen.Choose(0, 40).ToArbitrary(), (ops, fromStep) =>
        {
            var time = new ManualTimeProvider(B.T0);
            var billing = NewService(time);
            billing.InitializeAsync().GetAwaiter().GetResult();
            var holds = new Dictionary<int, decimal>();
            var finished = new HashSet<int>();
            decimal posted = 100m, charged = 0m;
            foreach (var op in ops) Apply(billing, time, op, holds, ref posted, ref charged, finished);
            var from = B.T0.AddMinutes(fromStep);
            var to = time.GetUtcNow().AddMinutes(1);
            if (to < from) to = from;
            var s = billing.GetStatementAsync("g", from, to).GetAwaiter().GetResult();
            var ledgerCharges = -billing.Store.GetEntriesAsync(new LedgerQuery { GrantCode = "g", From = from, To = to }).GetAwaiter().GetResult()
                .Where(e => e.Kind == LedgerEntryKind.Charge).Sum(e => e.Amount);
            var closing = billing.Store.GetBalanceAsync("g", to).GetAwaiter().GetResult()!.Balance;
            var csvCharges = s.ToCsv().Split('\n').Where(l => l.StartsWith("charge,", StringComparison.Ordinal))
                .Sum(l => decimal.Parse(l.Split(',')[^3], System.Globalization.CultureInfo.InvariantCulture));
            return s.TotalCharges == s.Charges.Sum(c => c.Amount)
                && s.TotalAdjustments == s.Adjustments.Sum(a => a.Amount)
                && s.TotalCharges == ledgerCharges
                && s.ByUser.Sum(u => u.Amount) == s.TotalCharges
                && s.ByResource.Sum(r => r.Amount) == s.TotalCharges
                && s.ByResource.All(r => billing.Rounding.IsWholeMinorUnits(r.Amount, "EUR"))
                && s.ClosingBalance == s.OpeningBalance - s.TotalCharges + s.TotalAdjustments
                && s.ClosingBalance == closing
                && csvCharges == s.TotalCharges
                && Statement.FromJson(s.ToJson()).TotalCharges == s.TotalCharges;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Apportion_AnyParts_SharesAreWholeUnitsAndSumToTheTotal()
    {
        var parts = Gen.Choose(0, 1_000_000).Select(i => i / 7919m).ArrayOf().Where(a => a.Length > 0).ToArbitrary();
        Prop.ForAll(parts, Gen.Elements("EUR", "JPY", "KWD").ToArbitrary(), (exact, currency) =>
        {
            var r = MoneyRounding.Default;
            var total = r.RoundCharge(exact.Sum(), currency);
            var shares = r.Apportion(exact, total, currency);
            return shares.Sum() == total && shares.All(s => r.IsWholeMinorUnits(s, currency) && s >= 0);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void RoundHold_NeverBelowExact_RoundCharge_WithinHalfAUnit()
    {
        Prop.ForAll(Gen.Choose(0, int.MaxValue).Select(i => i / 99991m).ToArbitrary(), exact =>
        {
            var r = MoneyRounding.Default;
            var hold = r.RoundHold(exact, "EUR");
            var charge = r.RoundCharge(exact, "EUR");
            return hold >= exact && hold - exact < 0.01m && Math.Abs(charge - exact) <= 0.005m;
        }).QuickCheckThrowOnFailure();
    }
}

/// <summary>The same random operation sequences on the in-memory and the SQLite store give the same ledger.</summary>
[Trait("Category", "Storage")]
public sealed class StoreEquivalencePropertyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cg-billing-prop-" + Guid.NewGuid().ToString("N"));

    private static readonly Gen<(int Kind, int Job, int Amount)> Step =
        from kind in Gen.Choose(0, 4)
        from job in Gen.Choose(0, 5)
        from amount in Gen.Choose(1, 3000)
        select (kind, job, amount);

    [Fact]
    public void AnySequence_SqliteAndInMemory_AgreeOnEveryBalance()
    {
        var n = 0;
        Prop.ForAll(Step.ArrayOf().ToArbitrary(), steps =>
        {
            var memory = new InMemoryBillingStore();
            var sqlite = new Storage.Sqlite.SqliteBillingStore(Path.Combine(_dir, $"p{Interlocked.Increment(ref n)}.db"));
            foreach (var store in new IBillingStore[] { memory, sqlite })
            {
                store.InitializeAsync().GetAwaiter().GetResult();
                store.TryCreateGrantAsync(new Grant { Code = "g", PrincipalInvestigator = "alice", CreditLimit = 5m }).GetAwaiter().GetResult();
                var at = B.T0;
                foreach (var (kind, job, amount) in steps)
                {
                    at = at.AddMinutes(1);
                    var value = amount / 100m;
                    _ = kind switch
                    {
                        0 => (object?)store.TryAppendAsync([new LedgerEntry { GrantCode = "g", Kind = LedgerEntryKind.Allocation, Amount = value, Currency = "CRD", At = at }]).GetAwaiter().GetResult(),
                        1 => store.TryPlaceHoldAsync(new LedgerEntry { GrantCode = "g", Kind = LedgerEntryKind.Hold, Amount = -value, Currency = "CRD", At = at, JobId = "j" + job, Key = "hold:j" + job }).GetAwaiter().GetResult(),
                        2 => store.TryChargeAsync(new LedgerEntry { GrantCode = "g", Kind = LedgerEntryKind.Charge, Amount = -value, Currency = "CRD", At = at, JobId = "j" + job, Key = "charge:j" + job }).GetAwaiter().GetResult(),
                        3 => store.ReleaseHoldAsync("j" + job, at, "billing", "release").GetAwaiter().GetResult(),
                        _ => store.TryAppendAsync([new LedgerEntry { GrantCode = "g", Kind = LedgerEntryKind.Adjustment, Amount = -value, Currency = "CRD", At = at, Reason = "fee" }]).GetAwaiter().GetResult(),
                    };
                }
            }
            var a = memory.GetBalanceAsync("g").GetAwaiter().GetResult()!;
            var b = sqlite.GetBalanceAsync("g").GetAwaiter().GetResult()!;
            var ea = memory.GetEntriesAsync(new LedgerQuery { GrantCode = "g" }).GetAwaiter().GetResult();
            var eb = sqlite.GetEntriesAsync(new LedgerQuery { GrantCode = "g" }).GetAwaiter().GetResult();
            return a == b
                && ea.Select(e => (e.Kind, e.Amount, e.JobId, e.Key)).SequenceEqual(eb.Select(e => (e.Kind, e.Amount, e.JobId, e.Key)))
                && b.Available == eb.Sum(e => e.Amount)
                && b.Allocated + b.Adjusted - b.Expired - b.Charged - b.Held == b.Available;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(25));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
