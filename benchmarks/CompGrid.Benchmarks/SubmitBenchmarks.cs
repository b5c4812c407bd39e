using BenchmarkDotNet.Attributes;
using CompGrid.Storage.Sqlite;
using CompGrid.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Benchmarks;

/// <summary>
/// Durable submissions on SQLite (WAL, <c>synchronous=NORMAL</c>, the store's durability), from 1 and 8 concurrent
/// submitters: straight into the group-committed <see cref="SqliteJobStore"/>, and end to end through
/// <see cref="CompGridEngine.SubmitAsync"/> (validation, routing, admission, durable store, cache) with a backend
/// that runs nothing (<see cref="InMemoryBackend"/>) and the scheduling loop running beside it. Each invocation
/// submits <see cref="JobsPerInvoke"/> jobs into a fresh database file.
/// </summary>
[MemoryDiagnoser]
public class SubmitBenchmarks
{
    public const int JobsPerInvoke = 20_000;
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "cg-bench-submit-" + Environment.ProcessId);
    private SqliteJobStore? _store;
    private CompGridEngine? _engine;
    private int _run;

    [Params(1, 8)]
    public int Submitters { get; set; }

    /// <summary>The transactions the store's writer ran for the last <see cref="StoreSubmits"/> (jobs / batches = mean batch).</summary>
    internal long StoreBatches => _store?.WriteBatches ?? 0;

    /// <summary>One pass of <see cref="StoreSubmits"/> from <paramref name="submitters"/> submitters: the mean number of writes each transaction held.</summary>
    internal double WritesPerTransaction(int submitters)
    {
        Submitters = submitters;
        SetupStore();
        int jobs = StoreSubmits();
        double perTx = jobs / (double)StoreBatches;
        Cleanup();
        return perTx;
    }

    private string NextPath() => Path.Combine(_dir, $"run{Interlocked.Increment(ref _run)}.db");

    [IterationSetup(Target = nameof(StoreSubmits))]
    public void SetupStore()
    {
        Cleanup();
        _store = new SqliteJobStore(NextPath());
        _store.InitializeAsync().GetAwaiter().GetResult();
    }

    [IterationSetup(Target = nameof(EngineSubmits))]
    public void SetupEngine()
    {
        Cleanup();
        string path = NextPath();
        _engine = CompGridEngine.Create(b => b.AddBackend(new InMemoryBackend("bench", nodes: 4, cpusPerNode: 64, memoryMiBPerNode: 262_144)).UseSqliteStore(path));
        _engine.StartAsync().GetAwaiter().GetResult();
    }

    [IterationCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        _store = null;
        if (_engine is not null) _engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _engine = null;
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Durable creates straight into the store (job row, first transition).</summary>
    [Benchmark(OperationsPerInvoke = JobsPerInvoke)]
    public int StoreSubmits() => RunSubmitters(Submitters, JobsPerInvoke, async (s, i) =>
    {
        var job = new JobRecord
        {
            Id = $"cg-{s}-{i}", Spec = new JobSpec { Owner = "u" + s, Account = "acct", Payload = JobPayload.Command("true") },
            State = JobState.Queued, Version = 1, SubmittedAt = T0,
        };
        await _store!.CreateAsync(job, new JobTransition { JobId = job.Id, To = JobState.Queued, At = T0, Reason = "submitted", Actor = job.Spec.Owner }).ConfigureAwait(false);
    });

    /// <summary>Durable submissions through the engine.</summary>
    [Benchmark(OperationsPerInvoke = JobsPerInvoke)]
    public int EngineSubmits() => RunSubmitters(Submitters, JobsPerInvoke, async (s, i) =>
        await _engine!.SubmitAsync(new JobSpec { Owner = "u" + s, Account = "acct", Payload = JobPayload.Command("true") }).ConfigureAwait(false));

    private static int RunSubmitters(int submitters, int jobs, Func<int, int, Task> submit)
    {
        int each = jobs / submitters;
        Task.WhenAll(Enumerable.Range(0, submitters).Select(s => Task.Run(async () =>
        {
            for (int i = 0; i < each; i++) await submit(s, i).ConfigureAwait(false);
        }))).GetAwaiter().GetResult();
        return each * submitters;
    }
}
