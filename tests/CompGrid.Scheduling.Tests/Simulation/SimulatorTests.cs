using CompGrid.Backfill;
using CompGrid.Simulation;

namespace CompGrid.Scheduling.Tests.Simulation;

[Trait("Category", "Simulation")]
public sealed class SimulatorTests
{
    private static string Excerpt => Path.Combine(AppContext.BaseDirectory, "Data", "NASA-iPSC-1993-3.1-cln.excerpt.swf");

    [Fact]
    public void Parse_LineWithEveryField_ReadsAllEighteen()
    {
        var trace = SwfTrace.Parse(new StringReader("; MaxNodes: 64\n; MaxProcs: 128\n 7 100 5 3600 32 3500.5 2048 64 7200 4096 1 12 3 9 2 1 6 30\n"));
        SwfJob j = Assert.Single(trace.Jobs);
        Assert.Equal(64, trace.MaxNodes);
        Assert.Equal(128, trace.MaxProcessors);
        Assert.Equal((7L, 100L, 5L, 3600L, 32), (j.JobNumber, j.SubmitTime, j.WaitTime, j.RunTime, j.AllocatedProcessors));
        Assert.Equal(3500.5, j.AverageCpuTime);
        Assert.Equal((2048L, 64, 7200L, 4096L, 1), (j.UsedMemoryKB, j.RequestedProcessors, j.RequestedTime, j.RequestedMemoryKB, j.Status));
        Assert.Equal((12, 3, 9, 2, 1), (j.UserId, j.GroupId, j.ExecutableNumber, j.QueueNumber, j.PartitionNumber));
        Assert.Equal((6L, 30L), (j.PrecedingJobNumber, j.ThinkTime));
        Workload w = Workload.FromSwf(trace);
        SimulatedJob s = Assert.Single(w.Jobs);
        Assert.Equal((32, 2), (s.Nodes, s.CpusPerNode)); // 64 processors on 2-CPU nodes
        Assert.Equal(TimeSpan.FromHours(2), s.RequestedWalltime);
        Assert.Equal(TimeSpan.FromHours(1), s.Runtime);
    }

    [Fact]
    public void Parse_ShortLine_ThrowsNamingTheLine()
    {
        var ex = Assert.Throws<FormatException>(() => SwfTrace.Parse(new StringReader("; x: y\n1 2 3\n")));
        Assert.Contains("line 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_NasaExcerpt_RunsEveryJobWithSaneMetrics()
    {
        SwfTrace trace = SwfTrace.Load(Excerpt);
        Assert.Equal(128, trace.MaxNodes);
        Workload w = Workload.FromSwf(trace);
        SimulationReport r = Simulator.Simulate(w);
        Assert.Equal(w.Jobs.Count, r.JobsStarted);
        Assert.InRange(r.Utilization, 0.0001, 1.0);
        Assert.True(r.Makespan > TimeSpan.Zero);
        Assert.All(r.Jobs, j => Assert.True(j.Wait >= TimeSpan.Zero && j.BoundedSlowdown >= 1));
        Assert.Contains("utilization", r.ToString(), StringComparison.Ordinal);
    }

    [SeedProperty(MaxTest = 20)]
    public bool Simulate_SameSeedTwice_GivesTheSameResult(int seed)
    {
        var config = new SimulationConfiguration { QueueOrdering = seed % 2 == 0 ? "multifactor" : "fair-tree", PlacementPolicy = seed % 3 == 0 ? "best-fit" : "first-fit" };
        SimulationReport a = Simulator.Simulate(Workload.Generate(seed, jobs: 150), config);
        SimulationReport b = Simulator.Simulate(Workload.Generate(seed, jobs: 150), config);
        return a.ToString() == b.ToString() && a.Jobs.SequenceEqual(b.Jobs);
    }

    [Fact]
    public void Compare_EasyAgainstStrict_BackfillsAndWaitsLess()
    {
        Workload w = Workload.Generate(11, jobs: 800);
        var strict = new SimulationConfiguration { Name = "strict", QueueOrdering = "fifo", Backfill = new BackfillOptions { Enabled = false, EstimateDepth = 0 } };
        var easy = new SimulationConfiguration { Name = "easy", QueueOrdering = "fifo" };
        SimulationComparison c = Simulator.Compare(w, strict, easy);
        Assert.Equal(0, c.A.Backfilled);
        Assert.True(c.B.Backfilled > 0);
        Assert.True(c.B.MeanWaitSeconds <= c.A.MeanWaitSeconds);
        Assert.Contains("what-if", c.ToString(), StringComparison.Ordinal);
    }
}
