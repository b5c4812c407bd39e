using CompGrid.Ordering;
using CompGrid.Testing;

namespace CompGrid.Scheduling.Tests.Scheduling;

/// <summary>
/// The fair-share ledger over a store (the cache rules; the SQL stores themselves are tested in their own projects):
/// it loads at start, reloads on its period on the injected clock, decays from the stored times, and a stale reload
/// never undoes a newer charge. The store here is a hand-written fake that completes synchronously.
/// </summary>
[Trait("Category", "Scheduling")]
public sealed class StoredFairShareLedgerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static UsageRecord Usage(string job, string user, int cpus, TimeSpan elapsed, DateTimeOffset ended) => new()
    {
        JobId = job, User = user, Account = "phys", AllocatedCpus = cpus, StartedAt = ended - elapsed, EndedAt = ended, Elapsed = elapsed,
    };

    [Fact]
    public async Task Start_StoredUsage_DecaysFromItsStoredTimeOnTheInjectedClock()
    {
        var time = new ManualTimeProvider(T0 + TimeSpan.FromDays(7));
        var store = new FakeStore();
        store.Rows[("phys", "alice")] = new FairShareUsage { Account = "phys", User = "alice", Usage = 1000, At = T0, Charges = 3 };
        using var ledger = new FairShareLedger(new FairShareOptions { UsageHalfLife = TimeSpan.FromDays(7) }, time, store);
        Assert.Empty(ledger.GetUsage(time.GetUtcNow()));
        await ledger.StartAsync();
        Assert.Equal(500, ledger.GetUsage(time.GetUtcNow())[("phys", "alice")], 9);
        time.Advance(TimeSpan.FromDays(7));
        Assert.Equal(250, ledger.GetUsage(time.GetUtcNow())[("phys", "alice")], 9);
    }

    [Fact]
    public async Task Refresh_OnItsPeriod_ReadsWhatAnotherInstanceCharged()
    {
        var time = new ManualTimeProvider(T0);
        var store = new FakeStore();
        var options = new FairShareOptions { RefreshInterval = TimeSpan.FromMinutes(1) };
        using var a = new FairShareLedger(options, time, store);
        using var b = new FairShareLedger(options, time, store);
        await a.StartAsync();
        await b.StartAsync();
        long version = b.Version;
        await a.RecordAsync(Usage("j1", "alice", 4, TimeSpan.FromHours(1), T0));
        Assert.Equal(4 * 3600, a.GetUsage(T0)[("phys", "alice")], 9);
        Assert.Empty(b.GetUsage(T0));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(4 * 3600, b.GetUsage(T0)[("phys", "alice")], 9);
        Assert.True(b.Version > version);
        // The same job delivered again (to either instance) is not charged twice.
        await b.RecordAsync(Usage("j1", "alice", 4, TimeSpan.FromHours(1), T0));
        Assert.Equal(4 * 3600, b.GetUsage(T0)[("phys", "alice")], 9);
    }

    [Fact]
    public async Task Refresh_StaleRead_DoesNotUndoANewerCharge()
    {
        var time = new ManualTimeProvider(T0);
        var store = new FakeStore();
        using var ledger = new FairShareLedger(new FairShareOptions { RefreshInterval = TimeSpan.Zero }, time, store);
        await ledger.StartAsync();
        var stale = new FairShareUsage { Account = "phys", User = "alice", Usage = 10, At = T0, Charges = 1 };
        store.Rows[("phys", "alice")] = stale;
        await ledger.RecordAsync(Usage("j2", "alice", 1, TimeSpan.FromSeconds(5), T0)); // the store now counts 2 charges, 15
        store.ReadOverride = [stale];                                                   // a read that began before it
        await ledger.RefreshAsync();
        Assert.Equal(15, ledger.GetUsage(T0)[("phys", "alice")], 9);
        store.ReadOverride = null;
        await ledger.RefreshAsync();
        Assert.Equal(15, ledger.GetUsage(T0)[("phys", "alice")], 9);
    }

    [Fact]
    public void Options_NegativeRefreshInterval_IsRefusedByName()
    {
        var errors = new FairShareOptions { RefreshInterval = TimeSpan.FromSeconds(-1) }.Validate();
        Assert.Contains(errors, e => e.Contains("FairShare.RefreshInterval", StringComparison.Ordinal));
    }

    // Synchronous, so the ledger's timer callback finishes within ManualTimeProvider.Advance.
    private sealed class FakeStore : IFairShareUsageStore
    {
        public readonly Dictionary<(string, string), FairShareUsage> Rows = [];
        private readonly HashSet<string> _charged = [];
        public IReadOnlyList<FairShareUsage>? ReadOverride;

        public Task<FairShareUsage?> TryChargeFairShareAsync(string jobId, FairShareUsage usage, TimeSpan halfLife, CancellationToken cancellationToken = default)
        {
            lock (Rows)
            {
                if (!_charged.Add(jobId)) return Task.FromResult<FairShareUsage?>(null);
                var key = (usage.Account, usage.User);
                FairShareUsage row = Rows.TryGetValue(key, out var old)
                    ? old with { Usage = old.Usage * Math.Pow(2, -(usage.At - old.At).TotalSeconds / halfLife.TotalSeconds) + usage.Usage, At = usage.At, Charges = old.Charges + 1 }
                    : usage with { Charges = 1 };
                Rows[key] = row;
                return Task.FromResult<FairShareUsage?>(row);
            }
        }

        public Task<IReadOnlyList<FairShareUsage>> GetFairShareUsageAsync(CancellationToken cancellationToken = default)
        {
            lock (Rows) return Task.FromResult(ReadOverride ?? (IReadOnlyList<FairShareUsage>)[.. Rows.Values]);
        }
    }
}
