using CompGrid.Billing;
using CompGrid.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CompGrid.Billing.Tests.Properties;

/// <summary>One step of a random operation sequence.</summary>
public sealed record Op(int Kind, int Job, int Cpus, int Seconds, int Amount);

/// <summary>The generators the ledger properties draw from (FsCheck finds them by return type).</summary>
public static class LedgerArbitraries
{
    /// <summary>Sequences of submissions, charges (some duplicated, some negative, some naming another grant), releases, allocations and adjustments.</summary>
    public static Arbitrary<Op[]> Ops() =>
        (from kind in Gen.Choose(0, 8)
         from job in Gen.Choose(0, 7)
         from cpus in Gen.Choose(1, 16)
         from seconds in Gen.Choose(0, 5000)
         from amount in Gen.Choose(-500, 5000)
         select new Op(kind, job, cpus, seconds, amount)).ArrayOf().ToArbitrary();
}

/// <summary>FsCheck properties of the ledger, statements and rounding (run on the in-memory store through the service).</summary>
[Trait("Category", "Billing")]
public sealed class LedgerPropertyTests
{

    private static GrantBillingService NewService(ManualTimeProvider time)
    {
        var options = new GrantBillingOptions
        {
            RateCards = { new RateCard { Currency = "EUR", Rules = [new RateRule { CpuCoreHour = 0.0137m, MemoryGbHour = 0.0011m, PerJobFee = 0.01m }] } },
            Grants =
            {
                new Grant { Code = "g", PrincipalInvestigator = "alice", Members = ["bob"], Currency = "EUR", Budget = 100m, CreditLimit = 5m },
                new Grant { Code = "other", PrincipalInvestigator = "carol", Currency = "EUR", Budget = 100m },
            },
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
            case 6: // cancelled before start: usage with zero elapsed
                if (billing.ChargeAsync(new UsageRecord { JobId = job, User = user, Account = "g", FinalState = JobState.Cancelled }).GetAwaiter().GetResult().Status == ChargeStatus.Released)
                    holds.Remove(op.Job);
                break;
            case 7: // a negative quantity: refused, nothing written
            {
                var negative = new UsageRecord
                {
                    JobId = job, User = user, Account = "g", AllocatedCpus = op.Amount % 2 == 0 ? -op.Cpus : op.Cpus, Elapsed = TimeSpan.FromSeconds(op.Amount % 2 == 0 ? op.Seconds : -op.Seconds - 1),
                    StartedAt = time.GetUtcNow(), EndedAt = time.GetUtcNow(), FinalState = JobState.Completed,
                };
                try
                {
                    billing.ChargeAsync(negative).GetAwaiter().GetResult();
                    throw new InvalidOperationException("a negative usage record was accepted");
                }
                catch (BillingValidationException)
                {
                }
                break;
            }
            default: // a usage record naming another grant: the hold's grant (if any) is charged, never "other"
            {
                var usage = new UsageRecord
                {
                    JobId = job, User = user, Account = "other", AllocatedCpus = op.Cpus, AllocatedMemoryMiB = 1024, NodeCount = 1, Backend = "local",
                    StartedAt = time.GetUtcNow(), EndedAt = time.GetUtcNow(), Elapsed = TimeSpan.FromSeconds(op.Seconds + 1), FinalState = JobState.Completed,
                };
                var r = billing.ChargeAsync(usage).GetAwaiter().GetResult();
                if (r.Status == ChargeStatus.Charged) { charged += r.Amount; finished.Add(op.Job); holds.Remove(op.Job); }
                break;
            }
        }
    }

    /// <summary>A fresh service with <paramref name="ops"/> applied.</summary>
    private static (GrantBillingService Billing, ManualTimeProvider Time) Replay(Op[] ops)
    {
        var time = new ManualTimeProvider(B.T0);
        var billing = NewService(time);
        billing.InitializeAsync().GetAwaiter().GetResult();
        var holds = new Dictionary<int, decimal>();
        var finished = new HashSet<int>();
        decimal posted = 100m, charged = 0m;
        foreach (var op in ops) Apply(billing, time, op, holds, ref posted, ref charged, finished);
        return (billing, time);
    }

    [Property(Arbitrary = [typeof(LedgerArbitraries)])]
    public bool AnyOperationSequence_AllocationsMinusChargesMinusActiveHolds_EqualsAvailable(Op[] ops)
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
            if (entries.Any(e => e.Kind == LedgerEntryKind.Charge && e.Amount > 0)) return false;     // no negative quantity became a credit
            var other = billing.Store.GetEntriesAsync(new LedgerQuery { GrantCode = "other" }).GetAwaiter().GetResult();
            if (other.Count != 1) return false;                                              // only its budget: never charged
        }
        return true;
    }

    [Property(Arbitrary = [typeof(LedgerArbitraries)])]
    public bool DuplicateUsageRecord_NeverChangesABalance(Op[] ops, PositiveInt cpuCount)
    {
        var cpus = 1 + (cpuCount.Get % 16);
        var (billing, time) = Replay(ops);
        billing.AdmissionCheck.CheckAsync(B.Admission("dup", "alice", "g", cpus: 16)).AsTask().GetAwaiter().GetResult();
        var usage = B.Usage("dup", "alice", "g", cpus: cpus, seconds: 777);
        billing.ChargeAsync(usage).GetAwaiter().GetResult();
        var once = billing.GetBalanceAsync("g").GetAwaiter().GetResult();
        billing.ChargeAsync(usage).GetAwaiter().GetResult();
        billing.ChargeAsync(usage with { AllocatedCpus = cpus + 1, Elapsed = TimeSpan.FromHours(9) }).GetAwaiter().GetResult();
        return once == billing.GetBalanceAsync("g").GetAwaiter().GetResult();
    }

    [Property(Arbitrary = [typeof(LedgerArbitraries)])]
    public bool Statement_TotalsEqualTheSumOfLines_AndNoMinorUnitIsCreatedOrLost(Op[] ops, NonNegativeInt start)
    {
        var fromStep = start.Get % 41;
        var (billing, time) = Replay(ops);
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
    }

    [Property]
    public bool Apportion_AnyParts_SharesAreWholeUnitsAndSumToTheTotal(NonEmptyArray<NonNegativeInt> raw, byte currencyIndex)
    {
        var exact = raw.Get.Select(i => (i.Get % 1_000_001) / 7919m).ToArray();
        var currency = new[] { "EUR", "JPY", "KWD" }[currencyIndex % 3];
        var r = MoneyRounding.Default;
        var total = r.RoundCharge(exact.Sum(), currency);
        var shares = r.Apportion(exact, total, currency);
        return shares.Sum() == total && shares.All(s => r.IsWholeMinorUnits(s, currency) && s >= 0);
    }

    [Property]
    public bool RoundHold_NeverBelowExact_RoundCharge_WithinHalfAUnit(NonNegativeInt raw)
    {
        var exact = raw.Get / 99991m;
        var r = MoneyRounding.Default;
        var hold = r.RoundHold(exact, "EUR");
        var charge = r.RoundCharge(exact, "EUR");
        return hold >= exact && hold - exact < 0.01m && Math.Abs(charge - exact) <= 0.005m;
    }
}
