using BenchmarkDotNet.Attributes;
using CompGrid.Backfill;
using CompGrid.Simulation;

namespace CompGrid.Benchmarks;

/// <summary>
/// The full NASA iPSC/860 replay (18,239 jobs, 128 nodes) through the simulator's incremental cycle, FIFO, strict and
/// EASY, submit times × 0.35 and × 0.5 — issue 14 §1's goal is ≤ 1 s each. The trace is the copy under
/// <c>tests/CompGrid.Scheduling.Tests/Data</c> (or <c>COMPGRID_NASA_TRACE</c>); it is parsed once, outside the measurement.
/// </summary>
[MemoryDiagnoser]
public class ReplayBenchmarks
{
    private const string TraceName = "NASA-iPSC-1993-3.1-cln.swf.gz";
    private Workload _workload = null!;
    private SimulationConfiguration _config = null!;

    /// <summary>The submit-time factor.</summary>
    [Params(0.35, 0.5)]
    public double SubmitScale { get; set; }

    /// <summary>EASY backfill (true) or a strict queue.</summary>
    [Params(false, true)]
    public bool Easy { get; set; }

    /// <summary>The mean wait of the last replay (so the work is not optimised away, and a run can be checked).</summary>
    public double LastMeanWait { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        _workload = Workload.FromSwf(SwfTrace.Load(FindTrace())).ScaleSubmitTimes(SubmitScale);
        _config = new SimulationConfiguration
        {
            Name = Easy ? "fifo+easy" : "fifo+strict", QueueOrdering = "fifo",
            Backfill = new BackfillOptions { Enabled = Easy, EstimateDepth = 0 },
        };
    }

    [Benchmark]
    public double NasaReplay()
    {
        LastMeanWait = Simulator.Simulate(_workload, _config).MeanWaitSeconds;
        return LastMeanWait;
    }

    internal static string FindTrace()
    {
        if (Environment.GetEnvironmentVariable("COMPGRID_NASA_TRACE") is { Length: > 0 } env) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "CompGrid.Scheduling.Tests", "Data", TraceName);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"{TraceName} not found above {AppContext.BaseDirectory}; set COMPGRID_NASA_TRACE to its path.");
    }
}
