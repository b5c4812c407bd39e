using CompGrid.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CompGrid.Billing.Sqlite.Tests;

/// <summary>A fresh temporary directory per test class, removed at the end.</summary>
public abstract class TempDirectoryTests : IDisposable
{
    protected string Dir { get; } = Path.Combine(Path.GetTempPath(), "compgrid-billing-" + Guid.NewGuid().ToString("N"));

    protected string NewPath(string name = "") => Path.Combine(Dir, (name.Length > 0 ? name : Guid.NewGuid().ToString("N")) + ".db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        GC.SuppressFinalize(this);
    }
}

/// <summary>The billing store suite of CompGrid.Testing on SQLite; the second instance is another store (pool) on the same file.</summary>
[Trait("Category", "Storage")]
public sealed class SqliteBillingStoreConformanceTests : BillingStoreConformanceTests, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "compgrid-billing-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<IBillingStore, string> _paths = [];

    protected override async Task<IBillingStore> CreateStoreAsync()
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".db");
        var store = SqliteBilling.CreateStore(new SqliteBillingStoreOptions { DatabasePath = path });
        await store.InitializeAsync();
        lock (_paths) _paths[store] = path;
        return store;
    }

    protected override async Task<IBillingStore> OpenSecondInstanceAsync(IBillingStore store)
    {
        var second = SqliteBilling.CreateStore(new SqliteBillingStoreOptions { DatabasePath = _paths[store] });
        await second.InitializeAsync();
        return second;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[Trait("Category", "Storage")]
public sealed class SqliteBillingStoreTests : TempDirectoryTests
{
    private static GrantBillingOptions Gold() => new()
    {
        RateCards = { new RateCard { Currency = "CRD", Rules = [new RateRule { CpuCoreHour = 3600m }] } },
        Grants = { new Grant { Code = "g", PrincipalInvestigator = "alice", Currency = "CRD", Budget = 100_000m } },
    };

    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static AdmissionContext Admission(string job) => new()
    {
        JobId = job, Now = T0, Walltime = TimeSpan.FromHours(1), MemoryMiBPerNode = 1024,
        Spec = new JobSpec { Owner = "alice", Account = "g", Resources = new ResourceRequest { Cpus = 16, MemoryMiB = 1024 } },
    };

    private static UsageRecord Usage(string job) => new()
    {
        JobId = job, User = "alice", Account = "g", AllocatedCpus = 16, AllocatedMemoryMiB = 1024, NodeCount = 1, StartedAt = T0,
        EndedAt = T0.AddSeconds(1234), Elapsed = TimeSpan.FromSeconds(1234), FinalState = JobState.Completed,
    };

    [Fact]
    public async Task Ledger_UpdateOrDelete_RefusedByTrigger()
    {
        var path = NewPath("append-only");
        var store = SqliteBilling.CreateStore(new SqliteBillingStoreOptions { DatabasePath = path });
        await store.TryCreateGrantAsync(new Grant { Code = "g", PrincipalInvestigator = "alice" });
        await store.WriteAsync(LedgerWrite.Append(new LedgerEntry { GrantCode = "g", Kind = LedgerEntryKind.Allocation, Amount = 5m, Currency = "CRD", At = T0 }));
        using var c = new SqliteConnection($"Data Source={path}");
        await c.OpenAsync();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE billing_ledger SET amount = '500'";
        Assert.Contains("append-only", Assert.ThrowsAny<SqliteException>(() => cmd.ExecuteNonQuery()).Message, StringComparison.Ordinal);
        cmd.CommandText = "DELETE FROM billing_ledger";
        Assert.Contains("append-only", Assert.ThrowsAny<SqliteException>(() => cmd.ExecuteNonQuery()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crash_ProcessDiesInsideTheChargeTransaction_NothingIsWritten()
    {
        var path = NewPath("crash");
        var billing = GrantBilling.Create(SqliteBilling.CreateStore(new SqliteBillingStoreOptions { DatabasePath = path }), Gold(), new ManualTimeProvider(T0));
        await billing.AdmissionCheck.CheckAsync(Admission("j"));
        // A writer that dies mid-transaction: the charge row is inserted but never committed.
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var tx = c.BeginTransaction(deferred: false);
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO billing_ledger (grant_code, kind, amount, currency, at, job_id, entry_key, carry_over) VALUES ('g', 'Charge', '-19744', 'CRD', 0, 'j', 'charge:j', '0')";
            cmd.ExecuteNonQuery();
            // no commit: closing the connection is what the OS does to a killed process's file handle
        }
        var restarted = GrantBilling.Create(SqliteBilling.CreateStore(new SqliteBillingStoreOptions { DatabasePath = path }), Gold(), new ManualTimeProvider(T0));
        Assert.Equal(57_600m, (await restarted.GetBalanceAsync("g")).Held);
        Assert.Equal(ChargeStatus.Charged, (await restarted.ChargeAsync(Usage("j"))).Status);
        Assert.Equal(ChargeStatus.AlreadyCharged, (await restarted.ChargeAsync(Usage("j"))).Status);
        var b = await restarted.GetBalanceAsync("g");
        Assert.Equal((19_744m, 0m), (b.Charged, b.Held));
    }

    [Fact]
    public async Task Migrate_FileWrittenByTheOldStorageSqliteBillingStore_OpensAndKeepsItsLedger()
    {
        // The v1 tables exactly as CompGrid.Storage.Sqlite created them, with one allocation, before the move.
        var path = NewPath("v1");
        Directory.CreateDirectory(Dir);
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (component, version));"
                + """
                CREATE TABLE billing_grants (code TEXT PRIMARY KEY, data TEXT NOT NULL);
                CREATE TABLE billing_rate_cards (name TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (name, version));
                CREATE TABLE billing_ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, grant_code TEXT NOT NULL REFERENCES billing_grants (code), kind TEXT NOT NULL,
                    amount TEXT NOT NULL, currency TEXT NOT NULL, at INTEGER NOT NULL, job_id TEXT NULL, user_name TEXT NULL, actor TEXT NULL, reason TEXT NULL,
                    entry_key TEXT NULL, ref_entry_id INTEGER NULL, expires_at INTEGER NULL, carry_over TEXT NOT NULL, details TEXT NULL);
                CREATE UNIQUE INDEX ux_billing_ledger_key ON billing_ledger (entry_key) WHERE entry_key IS NOT NULL;
                INSERT INTO schema_migrations VALUES ('billing', 1, '2026-01-01T00:00:00Z');
                INSERT INTO billing_grants VALUES ('g', '{"code":"g","principalInvestigator":"alice","currency":"CRD"}');
                INSERT INTO billing_ledger (grant_code, kind, amount, currency, at, entry_key, carry_over) VALUES ('g', 'Allocation', '123.45', 'CRD', 0, 'budget:g', '0');
                """;
            cmd.ExecuteNonQuery();
        }
        var store = SqliteBilling.CreateStore(new SqliteBillingStoreOptions { DatabasePath = path });
        await store.InitializeAsync();
        Assert.Equal(123.45m, (await store.GetBalanceAsync("g"))!.Balance);
        Assert.Equal(LedgerEntryFlags.None, Assert.Single(await store.GetEntriesAsync(new LedgerQuery())).Flags);
        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var q = check.CreateCommand();
        q.CommandText = "SELECT MAX(version) FROM schema_migrations WHERE component = 'billing'";
        Assert.Equal(2L, q.ExecuteScalar());
    }

    [Fact]
    public void CreateStore_InvalidOptions_ThrowsNamingEachOption()
    {
        var e = Assert.Throws<ArgumentException>(() => SqliteBilling.CreateStore(new SqliteBillingStoreOptions { DatabasePath = " ", BusyTimeout = TimeSpan.FromSeconds(-1) }));
        Assert.Contains("DatabasePath: is required", e.Message, StringComparison.Ordinal);
        Assert.Contains("BusyTimeout: must be between", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseSqliteBillingStore_RegistersTheStore_InvalidOptionsFailAtStart()
    {
        var services = new ServiceCollection();
        new Builder(services).UseSqliteBillingStore(NewPath("di"));
        await using (var sp = services.BuildServiceProvider())
        {
            var store = sp.GetRequiredService<IBillingStore>();
            Assert.True(await store.TryCreateGrantAsync(new Grant { Code = "g", PrincipalInvestigator = "alice" }));
        }
        var bad = new ServiceCollection();
        new Builder(bad).UseSqliteBillingStore(o => o.DatabasePath = "");
        await using var badSp = bad.BuildServiceProvider();
        Assert.Contains("DatabasePath", Assert.Throws<OptionsValidationException>(() => badSp.GetRequiredService<IBillingStore>()).Message, StringComparison.Ordinal);
    }

    private sealed class Builder(IServiceCollection services) : ICompGridBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}

/// <summary>The same random sequence of admissions, charges (duplicate, negative, naming another grant) and releases gives the same ledger in memory and in SQLite.</summary>
[Trait("Category", "Storage")]
public sealed class StoreEquivalencePropertyTests : TempDirectoryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private int _n;

    public static Arbitrary<(int Kind, int Job, int Size)[]> Steps() =>
        (from kind in Gen.Choose(0, 4) from job in Gen.Choose(0, 5) from size in Gen.Choose(1, 3000) select (kind, job, size)).ArrayOf().ToArbitrary();

    [Property(MaxTest = 25, Arbitrary = [typeof(StoreEquivalencePropertyTests)])]
    public bool AnySequence_SqliteAndInMemory_AgreeOnEveryEntryAndBalance((int Kind, int Job, int Size)[] steps)
    {
        var memory = new InMemoryBillingStore();
        var sqlite = SqliteBilling.CreateStore(new SqliteBillingStoreOptions { DatabasePath = NewPath("p" + Interlocked.Increment(ref _n)) });
        foreach (var store in new[] { memory, sqlite })
        {
            var time = new ManualTimeProvider(T0);
            var billing = GrantBilling.Create(store, new GrantBillingOptions
            {
                RateCards = { new RateCard { Currency = "CRD", Rules = [new RateRule { CpuCoreHour = 36m }] } },
                Grants = { new Grant { Code = "g", PrincipalInvestigator = "alice", Currency = "CRD", Budget = 1_000m, CreditLimit = 5m } },
            }, time);
            billing.InitializeAsync().GetAwaiter().GetResult();
            foreach (var (kind, job, size) in steps)
            {
                time.Advance(TimeSpan.FromMinutes(1));
                var id = "j" + job;
                var usage = new UsageRecord
                {
                    JobId = id, User = "alice", Account = kind == 3 ? "elsewhere" : "g", AllocatedCpus = size % 17, NodeCount = 1, StartedAt = time.GetUtcNow(),
                    EndedAt = time.GetUtcNow(), Elapsed = TimeSpan.FromSeconds(size), FinalState = JobState.Completed,
                };
                switch (kind)
                {
                    case 0:
                        billing.AdmissionCheck.CheckAsync(new AdmissionContext
                        {
                            JobId = id, Now = time.GetUtcNow(), Walltime = TimeSpan.FromSeconds(size), MemoryMiBPerNode = 1024,
                            Spec = new JobSpec { Owner = "alice", Account = "g", Resources = new ResourceRequest { Cpus = 1 + size % 16 } },
                        }).AsTask().GetAwaiter().GetResult();
                        break;
                    case 1 or 3:
                        billing.ChargeAsync(usage).GetAwaiter().GetResult();
                        break;
                    case 2:
                        try { billing.ChargeAsync(usage with { AllocatedCpus = -1 }).GetAwaiter().GetResult(); return false; }
                        catch (BillingValidationException) { }
                        break;
                    default:
                        billing.ReleaseHoldAsync(id, "release").GetAwaiter().GetResult();
                        break;
                }
            }
        }
        var a = memory.GetBalanceAsync("g").GetAwaiter().GetResult()!;
        var b = sqlite.GetBalanceAsync("g").GetAwaiter().GetResult()!;
        var ea = memory.GetEntriesAsync(new LedgerQuery()).GetAwaiter().GetResult();
        var eb = sqlite.GetEntriesAsync(new LedgerQuery()).GetAwaiter().GetResult();
        return a == b
            && ea.Select(e => (e.Kind, e.Amount, e.JobId, e.Key, e.Flags, e.GrantCode)).SequenceEqual(eb.Select(e => (e.Kind, e.Amount, e.JobId, e.Key, e.Flags, e.GrantCode)))
            && b.Available == eb.Sum(e => e.Amount)
            && b.Allocated + b.Adjusted - b.Expired - b.Charged - b.Held == b.Available;
    }
}
