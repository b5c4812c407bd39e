using CompGrid.Backfill;
using CompGrid.Simulation;
using Xunit.Abstractions;

namespace CompGrid.Scheduling.Tests.Simulation;

/// <summary>
/// The simulator (the production scheduling cycle on a virtual clock) against textbook FCFS and EASY
/// (<see cref="TextbookScheduler"/>) on the full NASA iPSC/860 trace, at its own load and with submit times compressed
/// to × 0.5 and × 0.35 (where queues grow long and backfilling decides the waits).
/// </summary>
[Trait("Category", "Simulation")]
public sealed class TextbookFidelityTests(ITestOutputHelper output)
{
    private static readonly Lazy<Workload> s_nasa = new(() =>
        Workload.FromSwf(SwfTrace.Load(Path.Combine(AppContext.BaseDirectory, "Data", "NASA-iPSC-1993-3.1-cln.swf.gz")), source: "NASA iPSC/860"));

    [Theory]
    [InlineData(1.0, false)]
    [InlineData(1.0, true)]
    [InlineData(0.5, false)]
    [InlineData(0.5, true)]
    [InlineData(0.35, false)]
    [InlineData(0.35, true)]
    public void Simulate_NasaTrace_AgreesWithTextbookWithinHalfAPercent(double submitScale, bool easy)
    {
        Workload w = s_nasa.Value.ScaleSubmitTimes(submitScale);
        var config = new SimulationConfiguration
        {
            Name = easy ? "fifo+easy" : "fifo+strict", QueueOrdering = "fifo", PlacementPolicy = "first-fit",
            Backfill = new BackfillOptions { Enabled = easy, EstimateDepth = 0 },
        };
        SimulationReport sim = Simulator.Simulate(w, config);
        TextbookScheduler.Outcome book = TextbookScheduler.Run(w, easy);
        output.WriteLine($"× {submitScale} {config.Name}: simulator wait {sim.MeanWaitSeconds:F1} s, bsld {sim.MeanBoundedSlowdown:F4}; textbook wait {book.MeanWaitSeconds:F1} s, bsld {book.MeanBoundedSlowdown:F4}");
        Assert.Equal(18_239, sim.JobsStarted);
        Assert.InRange(Deviation(sim.MeanWaitSeconds, book.MeanWaitSeconds), 0, 0.005);
        Assert.InRange(Deviation(sim.MeanBoundedSlowdown, book.MeanBoundedSlowdown), 0, 0.005);
    }

    [Fact]
    public void TextbookEasy_HeadBlocked_BackfillsOnlyWhatCannotDelayIt()
    {
        // 4 processors; A holds 2 until t=100. B wants 4 (shadow t=100, extra 0). C (1 proc, 50 s) ends by the shadow
        // and starts; D (1 proc, 500 s) would run past it with no extra processors and waits.
        var w = new Workload
        {
            Cluster = new SimulatedCluster { Nodes = 4, CpusPerNode = 1 },
            Jobs =
            [
                Job("a", 0, 100, 2), Job("b", 1, 100, 4), Job("c", 2, 50, 1), Job("d", 3, 500, 1),
            ],
        };
        TextbookScheduler.Outcome easy = TextbookScheduler.Run(w, easy: true);
        TextbookScheduler.Outcome fcfs = TextbookScheduler.Run(w, easy: false);
        // EASY waits: a 0, b 99, c 0, d 197 (after b ends at 200); FCFS: a 0, b 99, c 198, d 197.
        Assert.Equal((0 + 99 + 0 + 197) / 4.0, easy.MeanWaitSeconds, 6);
        Assert.Equal((0 + 99 + 198 + 197) / 4.0, fcfs.MeanWaitSeconds, 6);
        SimulationReport sim = Simulator.Simulate(w, new SimulationConfiguration { QueueOrdering = "fifo", Backfill = new BackfillOptions { EstimateDepth = 0 } });
        Assert.Equal(easy.MeanWaitSeconds, sim.MeanWaitSeconds, 6);
    }

    private static SimulatedJob Job(string id, int submit, int run, int nodes) => new()
    {
        Id = id, Submit = TimeSpan.FromSeconds(submit), Runtime = TimeSpan.FromSeconds(run), RequestedWalltime = TimeSpan.FromSeconds(run), Nodes = nodes,
    };

    private static double Deviation(double actual, double expected) => expected == 0 ? Math.Abs(actual) : Math.Abs(actual - expected) / expected;
}
